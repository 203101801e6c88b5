package runtime

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/volumeguard/volumeguard/internal/crirun"
	"github.com/volumeguard/volumeguard/policy"
)

// coverageCase is an image's VOLUMEs and a container's mounts, and the
// anonymous volumes containerd creates for them.
type coverageCase struct {
	name    string
	volumes []string // config.Volumes keys, as the image declares them
	// mounts are volumeMount mountPaths as a pod spec writes them; the CRI
	// gets them as the kubelet sends them (kubeletContainerPath).
	mounts []string
	// rawCRI sends mounts to the CRI unchanged, as no kubelet would: the
	// case shows containerd's own comparison, not a pod's outcome.
	rawCRI bool
	// anonymous are the runtime spec destinations of the anonymous volumes.
	anonymous []string
	// visible says what the container sees at each absolute path: one of
	// its anonymous volumes (fromVolume) or a mount of the pod (fromMount).
	visible map[string]string
}

const (
	fromVolume = "anonymous volume"
	fromMount  = "pod mount"
)

func coverageCases() []coverageCase {
	return []coverageCase{
		{
			name: "uncovered volume", volumes: []string{"/data"},
			anonymous: []string{"/data"}, visible: map[string]string{"/data": fromVolume},
		},
		{
			name: "exact mount", volumes: []string{"/data"}, mounts: []string{"/data"},
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "mount with a trailing slash", volumes: []string{"/data"}, mounts: []string{"/data/"},
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "mount with dot segments", volumes: []string{"/data"}, mounts: []string{"/./data/."},
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "mount with a double slash and dot-dot", volumes: []string{"/data"}, mounts: []string{"//srv/../data"},
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "volume declared with a trailing slash", volumes: []string{"/data/"}, mounts: []string{"/data"},
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "mount on the parent", volumes: []string{"/var/lib/mysql"}, mounts: []string{"/var"},
			anonymous: []string{"/var/lib/mysql"},
			visible:   map[string]string{"/var": fromMount, "/var/lib/mysql": fromVolume},
		},
		{
			name: "mount on a child", volumes: []string{"/var/lib/postgresql"}, mounts: []string{"/var/lib/postgresql/data"},
			anonymous: []string{"/var/lib/postgresql"},
			visible:   map[string]string{"/var/lib/postgresql": fromVolume, "/var/lib/postgresql/data": fromMount},
		},
		{
			name: "zookeeper with one of three covered", volumes: []string{"/data", "/datalog", "/logs"}, mounts: []string{"/data"},
			anonymous: []string{"/datalog", "/logs"},
			visible:   map[string]string{"/data": fromMount, "/datalog": fromVolume, "/logs": fromVolume},
		},
		{
			// Two anonymous volumes stacked on one path; which one is on
			// top depends on map order (sort.Sort is not stable).
			name: "one path declared twice", volumes: []string{"/data", "/data/"},
			anonymous: []string{"/data", "/data/"}, visible: map[string]string{"/data": fromVolume},
		},
		{
			// runc mounts the relative destination at /data.
			name: "relative volume", volumes: []string{"data"},
			anonymous: []string{"data"}, visible: map[string]string{"/data": fromVolume},
		},
		{
			// The anonymous volume is made (and filled) but the pod's
			// mount, one path segment longer, is mounted over it.
			name: "relative volume, absolute mount", volumes: []string{"data"}, mounts: []string{"/data"},
			anonymous: []string{"data"}, visible: map[string]string{"/data": fromMount},
		},
		{
			name: "relative volume, relative mount", volumes: []string{"data"}, mounts: []string{"data"},
			anonymous: []string{"data"}, visible: map[string]string{"/data": fromMount},
		},
		{
			name: "relative volume, relative CRI mount", volumes: []string{"data"}, mounts: []string{"data"}, rawCRI: true,
			visible: map[string]string{"/data": fromMount},
		},
		{
			name: "relative mount of an absolute volume", volumes: []string{"/data"}, mounts: []string{"data"},
			visible: map[string]string{"/data": fromMount},
		},
	}
}

// testCoverage runs all cases in one container of pod, each under its own
// directory (inCase): containerd decides per path, so the cases cannot touch
// each other, and one container instead of one per case keeps the test
// fast. Each case's anonymous volumes, and what the container sees, are
// compared with the case, and with volumeguard's findings.
func testCoverage(t *testing.T, rt *crirun.Runtime, pod *crirun.Pod) {
	cases := coverageCases()
	var volumes []string
	var mounts []*runtimeapi.Mount
	for i, tc := range cases {
		for _, v := range tc.volumes {
			volumes = append(volumes, inCase(i, v))
		}
		for _, m := range tc.mounts {
			p := inCase(i, m)
			if !tc.rawCRI {
				p = kubeletContainerPath(p)
			}
			mounts = append(mounts, &runtimeapi.Mount{ContainerPath: p, HostPath: t.TempDir()})
		}
	}
	image := rt.PushImage(t, "coverage", crirun.Image{Volumes: volumes})
	c, err := pod.RunContainer(t, "coverage", image, mounts...)
	if err != nil {
		t.Fatal(err)
	}
	anonymous, err := c.AnonymousVolumes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	visible := visibleSources(t, c, anonymous, mounts)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(outOfCase(i, anonymous)))
			if !slices.Equal(got, tc.anonymous) {
				t.Errorf("anonymous volumes at %q, want %q", got, tc.anonymous)
			}
			if seen := outOfCase(i, visible); !maps.Equal(seen, tc.visible) {
				t.Errorf("the container sees %v, want %v", seen, tc.visible)
			}
			if !tc.rawCRI {
				comparePolicy(t, tc, image, got)
			}
		})
	}
}

// inCase moves case i's path p under a directory of its own: /data becomes
// /case3/data, data becomes case3/data. Trailing slashes and dot segments
// stay, and a relative path stays relative.
func inCase(i int, p string) string {
	if path.IsAbs(p) {
		return fmt.Sprintf("/case%d%s", i, p)
	}
	return fmt.Sprintf("case%d/%s", i, p)
}

// outOfCase keeps the entries of m whose key is one of case i's paths, with
// the key as the case wrote it.
func outOfCase[V any](i int, m map[string]V) map[string]V {
	abs, rel := fmt.Sprintf("/case%d/", i), fmt.Sprintf("case%d/", i)
	out := map[string]V{}
	for k, v := range m {
		switch {
		case strings.HasPrefix(k, abs):
			out["/"+strings.TrimPrefix(k, abs)] = v
		case strings.HasPrefix(k, rel):
			out[strings.TrimPrefix(k, rel)] = v
		}
	}
	return out
}

// kubeletContainerPath is the CRI ContainerPath the kubelet sends for a
// volumeMount's mountPath on Linux (pkg/kubelet/kubelet_pods.go makeMounts:
// a relative path goes through volumeutil.MakeAbsolutePath, which cleans it;
// an absolute one is passed unchanged).
func kubeletContainerPath(mountPath string) string {
	if path.IsAbs(mountPath) {
		return mountPath
	}
	return path.Clean("/" + mountPath)
}

// visibleSources writes a marker into each anonymous volume and each
// mount's host directory, then looks inside the container at every path
// they are mounted on (made absolute: where runc mounts them) and says whose
// marker it finds there.
func visibleSources(t *testing.T, c *crirun.Container, volumes map[string]string, mounts []*runtimeapi.Mount) map[string]string {
	t.Helper()
	markers := map[string]string{} // marker file name -> fromVolume or fromMount
	var paths []string
	mark := func(hostDir, containerPath, name, from string) {
		if err := os.WriteFile(filepath.Join(hostDir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		markers[name] = from
		paths = append(paths, path.Join("/", containerPath))
	}
	for dst, src := range volumes {
		mark(src, dst, "volume-"+filepath.Base(src), fromVolume)
	}
	for i, m := range mounts {
		mark(m.HostPath, m.ContainerPath, fmt.Sprintf("mount-%d", i), fromMount)
	}
	trees, err := c.Trees(t.Context(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for p, entries := range trees {
		var found []string
		for _, e := range entries {
			if from, ok := markers[e.Path]; ok {
				found = append(found, from)
			}
		}
		if len(found) != 1 {
			t.Errorf("%s shows %d markers, want exactly one: %v", p, len(found), entries)
			continue
		}
		seen[p] = found[0]
	}
	return seen
}

// comparePolicy checks that volumeguard reports exactly the paths containerd
// gave anonymous volumes (cleaned: one finding per path, however many times
// the image declares it).
func comparePolicy(t *testing.T, tc coverageCase, image string, anonymous []string) {
	t.Helper()
	var mounts []corev1.VolumeMount
	for i, m := range tc.mounts {
		mounts = append(mounts, corev1.VolumeMount{Name: fmt.Sprintf("m%d", i), MountPath: m})
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image, VolumeMounts: mounts}}}
	facts := policy.ImageFacts{Platforms: []policy.PlatformVolumes{{
		Platform: policy.Platform{OS: "linux", Architecture: "amd64"}, Volumes: tc.volumes,
	}}}
	var findings []string
	for _, f := range policy.Findings(spec, map[string]policy.ImageFacts{image: facts}) {
		findings = append(findings, f.Path)
	}
	got, want := cleanSet(findings), cleanSet(anonymous)
	if !slices.Equal(got, want) {
		t.Errorf("volumeguard finds %q uncovered, containerd made anonymous volumes at %q", findings, anonymous)
	}
}

// cleanSet cleans absolute paths (relative ones stay as declared: that is
// how both sides name them), sorted and deduplicated.
func cleanSet(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(p, "/") {
			p = path.Clean(p)
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
