package policy

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var (
	amd64 = Platform{OS: "linux", Architecture: "amd64"}
	arm64 = Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)

func single(digest string, volumes ...string) ImageFacts {
	return ImageFacts{Digest: digest, Platforms: []PlatformVolumes{{Platform: amd64, Volumes: volumes}}}
}

func container(name, image string, mounts ...string) corev1.Container {
	c := corev1.Container{Name: name, Image: image}
	for i, m := range mounts {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "m" + string(rune('a'+i)), MountPath: m})
	}
	return c
}

// key renders a finding compactly so that tables stay readable.
func key(f Finding) string {
	s := string(f.ContainerType) + "/" + f.Container + ":" + f.Path
	if f.Relative {
		s += "(relative)"
	}
	if len(f.Platforms) > 0 {
		s += "[" + f.PlatformNames() + "]"
	}
	return s
}

func keys(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, key(f))
	}
	return out
}

func TestFindings(t *testing.T) {
	zk := map[string]ImageFacts{"zookeeper:3.4.13": single("sha256:zk", "/data", "/datalog", "/logs")}
	tests := []struct {
		name   string
		spec   corev1.PodSpec
		images map[string]ImageFacts
		want   []string
	}{
		{
			name:   "no mounts: every declared path",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13")}},
			images: zk,
			want:   []string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs"},
		},
		{
			name:   "exact mounts cover",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13", "/data", "/datalog", "/logs")}},
			images: zk,
			want:   []string{},
		},
		{
			name:   "trailing slash on the mount still covers",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13", "/data/", "/datalog//", "/logs/.")}},
			images: zk,
			want:   []string{},
		},
		{
			name:   "trailing slash on the declared volume is cleaned too",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "img", "/var/lib/mysql")}},
			images: map[string]ImageFacts{"img": single("sha256:a", "/var/lib/mysql/")},
			want:   []string{},
		},
		{
			name:   "dot-dot segments are cleaned before comparing",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "img", "/var/lib/x/../mysql")}},
			images: map[string]ImageFacts{"img": single("sha256:a", "/var/lib/mysql")},
			want:   []string{},
		},
		{
			name:   "a parent directory mount does not cover",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("db", "mysql", "/var", "/var/lib")}},
			images: map[string]ImageFacts{"mysql": single("sha256:m", "/var/lib/mysql")},
			want:   []string{"container/db:/var/lib/mysql"},
		},
		{
			// The kubelet sends a relative mountPath to the runtime as "/" + path
			// (test/runtime proves containerd then covers the VOLUME).
			name:   "a relative mountPath covers the absolute VOLUME it names",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13", "data", "./datalog", "logs/")}},
			images: zk,
			want:   []string{},
		},
		{
			name:   "a child directory mount does not cover",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("db", "mysql", "/var/lib/mysql/data")}},
			images: map[string]ImageFacts{"mysql": single("sha256:m", "/var/lib/mysql")},
			want:   []string{"container/db:/var/lib/mysql"},
		},
		{
			name: "a subPath mount at the exact path covers",
			spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "db", Image: "mysql",
				VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/var/lib/mysql", SubPath: "mysql"}},
			}}},
			images: map[string]ImageFacts{"mysql": single("sha256:m", "/var/lib/mysql")},
			want:   []string{},
		},
		{
			name: "a mount in another container does not cover",
			spec: corev1.PodSpec{Containers: []corev1.Container{
				container("zk", "zookeeper:3.4.13"),
				container("sidecar", "busybox", "/data", "/datalog", "/logs"),
			}},
			images: map[string]ImageFacts{"zookeeper:3.4.13": zk["zookeeper:3.4.13"], "busybox": single("sha256:b")},
			want:   []string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs"},
		},
		{
			name: "two containers with the same image are judged separately",
			spec: corev1.PodSpec{Containers: []corev1.Container{
				container("a", "zookeeper:3.4.13", "/data", "/datalog", "/logs"),
				container("b", "zookeeper:3.4.13", "/data"),
			}},
			images: zk,
			want:   []string{"container/b:/datalog", "container/b:/logs"},
		},
		{
			name: "init and ephemeral containers count",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{container("init", "zookeeper:3.4.13", "/data", "/datalog")},
				Containers:     []corev1.Container{container("main", "busybox")},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debug", Image: "zookeeper:3.4.13",
					VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: "/data"}, {Name: "y", MountPath: "/datalog"}, {Name: "z", MountPath: "/logs"}},
				}}},
			},
			images: map[string]ImageFacts{"zookeeper:3.4.13": zk["zookeeper:3.4.13"], "busybox": single("sha256:b")},
			want:   []string{"initContainer/init:/logs"},
		},
		{
			name: "ephemeral container without mounts",
			spec: corev1.PodSpec{
				Containers: []corev1.Container{container("main", "busybox")},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debug", Image: "mysql",
				}}},
			},
			images: map[string]ImageFacts{"mysql": single("sha256:m", "/var/lib/mysql"), "busybox": single("sha256:b")},
			want:   []string{"ephemeralContainer/debug:/var/lib/mysql"},
		},
		{
			name:   "a relative VOLUME is never covered, not even by its absolute form",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "img", "/data", "data")}},
			images: map[string]ImageFacts{"img": single("sha256:a", "data")},
			want:   []string{"container/app:data(relative)"},
		},
		{
			name:   "an image without volumes",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "nginx")}},
			images: map[string]ImageFacts{"nginx": single("sha256:n")},
			want:   []string{},
		},
		{
			name:   "an image that could not be read is left to the caller",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "unknown")}},
			images: zk,
			want:   []string{},
		},
		{
			name:   "duplicate declarations that clean alike are one finding",
			spec:   corev1.PodSpec{Containers: []corev1.Container{container("app", "img")}},
			images: map[string]ImageFacts{"img": single("sha256:a", "/data", "/data/")},
			want:   []string{"container/app:/data"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keys(Findings(&tt.spec, tt.images))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindingsCarryImageAndDigest(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13")}}
	got := Findings(&spec, map[string]ImageFacts{"zookeeper:3.4.13": single("sha256:zk", "/data")})
	want := []Finding{{Container: "zk", ContainerType: Container, Image: "zookeeper:3.4.13", Digest: "sha256:zk", Path: "/data"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
