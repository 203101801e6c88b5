package policy

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestNearMounts(t *testing.T) {
	tests := []struct {
		name    string
		volumes []string
		mounts  []string
		want    map[string][]string // finding path -> near mounts
	}{
		{"postgres 18: a mount inside", []string{"/var/lib/postgresql"}, []string{"/var/lib/postgresql/data"},
			map[string][]string{"/var/lib/postgresql": {"/var/lib/postgresql/data"}}},
		{"mysql: a mount above", []string{"/var/lib/mysql"}, []string{"/var/lib"},
			map[string][]string{"/var/lib/mysql": {"/var/lib"}}},
		{"both, made absolute and clean as the kubelet does, sorted", []string{"/srv/app/"}, []string{"srv/app/z/", "/srv", "/srv/app/a//b", "/srv/application", "/other"},
			map[string][]string{"/srv/app/": {"/srv", "/srv/app/a/b", "/srv/app/z"}}},
		{"a mount at the root is above everything", []string{"/data"}, []string{"/"},
			map[string][]string{"/data": {"/"}}},
		{"a sibling is not near", []string{"/data"}, []string{"/data2", "/dat"},
			map[string][]string{"/data": nil}},
		{"a relative VOLUME has none", []string{"data"}, []string{"/data/x"},
			map[string][]string{"data": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Containers: []corev1.Container{
				container("app", "img", tt.mounts...),
				container("other", "busybox", "/var/lib/postgresql/data", "/var"),
			}}
			got := map[string][]string{}
			for _, f := range Findings(spec, map[string]ImageFacts{"img": single("sha256:a", tt.volumes...)}) {
				got[f.Path] = f.NearMounts
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("near mounts = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPostgres18NearMiss: the chart mounts its PVC at
// /var/lib/postgresql/data, the image declares /var/lib/postgresql and
// keeps PGDATA beneath it elsewhere.
func TestPostgres18NearMiss(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("db", "postgres:18", "/var/lib/postgresql/data")}}
	fs := Findings(spec, map[string]ImageFacts{"postgres:18": single("sha256:pg", "/var/lib/postgresql")})
	if len(fs) != 1 {
		t.Fatalf("findings = %q", keys(fs))
	}
	f := fs[0]
	want := "the volumeMount at /var/lib/postgresql/data lies inside it: what the container writes elsewhere under /var/lib/postgresql goes to an anonymous volume (lost when the container is recreated); mount at /var/lib/postgresql itself"
	if got := f.NearMiss(); got != want {
		t.Errorf("NearMiss() =\n%q\nwant\n%q", got, want)
	}
	if !strings.HasSuffix(f.Problem(), "; "+want) {
		t.Errorf("Problem() = %q, want it to end with the near miss", f.Problem())
	}
	fix := f.Fix(resource.MustParse("1Gi"))
	if !strings.HasPrefix(fix, "to keep what the container writes there, mount your volume at /var/lib/postgresql itself; otherwise add an emptyDir") {
		t.Errorf("Fix() = %q, want the mount that keeps the data first", fix)
	}

	m := Mutate(spec, fs, resource.MustParse("1Gi"))
	if len(m.Added) != 1 {
		t.Fatalf("Mutate = %+v, want the emptyDir", m)
	}
	note := "an emptyDir bounds the disk but does not make data persistent: what the container writes under /var/lib/postgresql outside the volume at /var/lib/postgresql/data is lost with the pod; to keep it, mount your volume at /var/lib/postgresql itself"
	if got := m.Added[0].Note(); got != note {
		t.Errorf("Note() =\n%q\nwant\n%q", got, note)
	}
}

func TestNearMissAboveAndQuoted(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("db", "img", "/var", "/var/lib")}}
	fs := Findings(spec, map[string]ImageFacts{"img": single("sha256:a", "/var/lib/my sql")})
	want := `the volumeMounts at /var and /var/lib lie above it, and the runtime mounts an anonymous volume at "/var/lib/my sql" on top: ` +
		`what the container writes under "/var/lib/my sql" goes to that anonymous volume (lost when the container is recreated), not to the volumes at /var and /var/lib; ` +
		`mount at "/var/lib/my sql" itself`
	if got := fs[0].NearMiss(); got != want {
		t.Errorf("NearMiss() =\n%q\nwant\n%q", got, want)
	}
	m := Mutate(spec, fs, resource.MustParse("1Gi"))
	if note := m.Added[0].Note(); !strings.Contains(note, `under "/var/lib/my sql" (not on the volumes at /var and /var/lib) is lost with the pod`) {
		t.Errorf("Note() = %q", note)
	}
}
