package runtime

import (
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/volumeguard/volumeguard/internal/crirun"
	"github.com/volumeguard/volumeguard/internal/crirun/fstree"
	"github.com/volumeguard/volumeguard/policy"
)

// nonRootUID is the user of volumeguard's image (the Dockerfile's USER) and
// of the restricted case.
const nonRootUID = 65532

// copyLayers ship, under the VOLUMEs of copyVolumes, files, directories
// (an empty one with its own owner and mode), both kinds of symbolic link,
// setuid, setgid and sticky bits, a file only its owner may read, and an
// upper layer that replaces a file and deletes another.
func copyLayers() [][]crirun.Entry {
	lower := []crirun.Entry{
		crirun.Dir("/srv", 0o755, 0, 0),
		crirun.Dir("/srv/app", 0o755, 1000, 1001),
		crirun.File("/srv/app/config.yaml", 0o644, 1000, 1001, "key: lower\n"),
		crirun.File("/srv/app/secret", 0o600, 1000, 1001, "only mine"),
		crirun.File("/srv/app/gone.txt", 0o644, 0, 0, "deleted above"),
		crirun.Dir("/srv/app/bin", 0o755, 0, 0),
		crirun.File("/srv/app/bin/run.sh", 0o755, 0, 0, "#!/bin/sh\necho hi\n"),
		crirun.File("/srv/app/bin/suid", 0o4755, 0, 0, "x"),
		crirun.Symlink("/srv/app/current", "bin", 1000, 1001),
		crirun.Symlink("/srv/app/passwd", "/etc/passwd", 0, 0),
		crirun.Dir("/srv/app/empty", 0o700, 999, 998),
		crirun.Dir("/srv/app/shared", 0o2775, 1000, 1001),
		crirun.Dir("/srv/app/tmp", 0o1777, 0, 0),
		crirun.Dir("/srv/real", 0o755, 1000, 1000),
		crirun.File("/srv/real/f", 0o644, 1000, 1000, "real"),
		crirun.Symlink("/linked", "/srv/real", 0, 0),
		crirun.Dir("/cache", 0o700, 123, 456),
	}
	upper := []crirun.Entry{
		crirun.Dir("/srv", 0o755, 0, 0),
		crirun.Dir("/srv/app", 0o755, 1000, 1001),
		crirun.File("/srv/app/config.yaml", 0o640, 1000, 1001, "key: upper!\n"),
		crirun.Whiteout("/srv/app/gone.txt"),
	}
	return [][]crirun.Entry{lower, upper}
}

// copyVolumes: two populated (one through a symbolic link), one empty, one
// absent.
var copyVolumes = []string{"/srv/app", "/linked", "/cache", "/absent"}

// testCopyUp proves PopulatedCopy against the runtime: policy.Findings and
// policy.Mutate (copy) on a pod of an image shipping content under its
// VOLUMEs, then the pod run as the kubelet runs it, through containerd. At
// each populated path the app container must see what containerd's own
// copy-up shows a container that leaves the path uncovered: as root,
// exactly; as a restricted non-root user, the same but for the owners the
// copy may not set and the file it may not read.
func testCopyUp(t *testing.T, rt *crirun.Runtime) {
	bin, err := os.ReadFile(crirun.BuildProgram(t, "github.com/volumeguard/volumeguard/cmd/volumeguard"))
	if err != nil {
		t.Fatal(err)
	}
	copier := rt.PushImage(t, "volumeguard", crirun.Image{
		Layers: [][]crirun.Entry{{crirun.File(policy.CopierBinary, 0o755, 0, 0, string(bin))}},
		User:   "65532:65532",
	})
	app := rt.PushImage(t, "copy-app", crirun.Image{Layers: copyLayers(), Volumes: copyVolumes})
	images := map[string]policy.ImageFacts{app: scanFacts(t, app, copyVolumes)}
	uids := map[string]int64{copier: nonRootUID, app: 0}

	// What containerd's copy-up gives a container leaving them uncovered.
	pod := rt.RunPod(t, "copy-up")
	uncovered, err := pod.RunContainer(t, "uncovered", app)
	if err != nil {
		t.Fatal(err)
	}
	runtimeCopy, err := uncovered.Trees(t.Context(), slashed(copyVolumes)...)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		security *corev1.SecurityContext
		want     func(path string, runtime []fstree.Entry) []fstree.Entry
	}{
		{name: "as root", want: func(_ string, runtime []fstree.Entry) []fstree.Entry { return runtime }},
		{name: "restricted as 65532", security: restricted(nonRootUID), want: asNonRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: app, SecurityContext: tc.security}}}
			opts := []policy.Option{policy.WithPopulated(policy.PopulatedCopy), policy.WithCopierImage(copier)}
			m := policy.Mutate(spec, policy.Findings(spec, images, opts...), resource.MustParse("64Mi"), opts...)
			copied := map[string]bool{}
			for _, a := range m.Added {
				copied[a.MountPath] = a.CopiedBy != ""
			}
			if want := map[string]bool{"/srv/app": true, "/linked": true, "/cache": false, "/absent": false}; !maps.Equal(copied, want) {
				t.Fatalf("Mutate covered %v (true: copied), want %v", copied, want)
			}
			if tc.security != nil {
				assertRestricted(t, spec)
			}
			seen := runMutated(t, rt.RunPod(t, "copy-up-"+strings.ReplaceAll(tc.name, " ", "-")), spec, uids, runtimeCopy)
			for _, p := range copyVolumes {
				want := runtimeCopy[p+"/"]
				if copied[p] {
					want = tc.want(p, want)
				} else {
					want = []fstree.Entry{{Path: ".", Type: fstree.Dir, Mode: "0777"}} // a plain emptyDir
				}
				if !slices.Equal(seen[p+"/"], want) {
					t.Errorf("the app sees at %s:\n%s\nwant:\n%s\nthe runtime's copy-up:\n%s", p, listing(seen[p+"/"]), listing(want), listing(runtimeCopy[p+"/"]))
				}
			}
		})
	}
}

// runMutated runs the mutated pod: its init containers in order (logging
// the copier's summaries), then the app, and returns what the app sees at
// each VOLUME path. It checks that the copy container's own anonymous
// volumes hold the runtime's copy (runtimeCopy) and nothing more, and that
// the app has none.
func runMutated(t *testing.T, pod *crirun.Pod, spec *corev1.PodSpec, uids map[string]int64, runtimeCopy map[string][]fstree.Entry) map[string][]fstree.Entry {
	t.Helper()
	run := newPodRun(t, pod, spec, uids)
	for _, c := range spec.InitContainers {
		ctr, log := run.runInit(t, c)
		if log != "" {
			t.Logf("%s:\n%s", c.Name, strings.TrimRight(log, "\n"))
		}
		if strings.HasPrefix(c.Name, "vg-copy-") {
			volumes, err := ctr.AnonymousVolumes(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// Known limit: the copy container runs the app's image, so it
			// gets anonymous volumes too, holding the runtime's copy of
			// what the image ships there, and nothing more.
			if len(volumes) != len(copyVolumes) {
				t.Errorf("the copy container has anonymous volumes at %v, want one per VOLUME", slices.Sorted(maps.Keys(volumes)))
			}
			for dst, src := range volumes {
				held, err := fstree.List(src)
				if err != nil {
					t.Fatal(err)
				}
				if want := runtimeCopy[dst+"/"]; !slices.Equal(held, want) {
					t.Errorf("the copy container's anonymous volume at %s holds:\n%s\nwant the runtime's copy:\n%s", dst, listing(held), listing(want))
				}
			}
		}
	}
	ctr := run.start(t, spec.Containers[0])
	if volumes, err := ctr.AnonymousVolumes(t.Context()); err != nil || len(volumes) != 0 {
		t.Errorf("the mutated app container has anonymous volumes %v (%v), want none", volumes, err)
	}
	seen, err := ctr.Trees(t.Context(), slashed(copyVolumes)...)
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// asNonRoot is what a copy as a non-root user gives, measured: the
// emptyDir itself keeps the kubelet's 0777 root:root (only its owner could
// change it); every entry is the copier's (chown needs CAP_CHOWN); what the
// copier may not read is missing (a file) or empty (a directory); modes,
// sizes, link targets, and the setuid, setgid and sticky bits are kept.
// The copier runs with gid 0 (no runAsGroup, no /etc/passwd in the image)
// and is "other" to every entry here.
func asNonRoot(_ string, runtime []fstree.Entry) []fstree.Entry {
	var out []fstree.Entry
	var unreadable []string // directories made empty
	for _, e := range runtime {
		if slices.ContainsFunc(unreadable, func(d string) bool { return strings.HasPrefix(e.Path, d+"/") }) {
			continue
		}
		mode, err := strconv.ParseUint(e.Mode, 8, 32)
		if err != nil {
			mode = 0o777 // fstree writes octal; the comparison fails on the owner
		}
		readable := mode&0o004 != 0
		switch {
		case e.Path == ".":
			e.Mode, e.UID, e.GID = "0777", 0, 0
			out = append(out, e)
			continue
		case e.Type == fstree.File && !readable:
			continue
		case e.Type == fstree.Dir && (!readable || mode&0o001 == 0):
			unreadable = append(unreadable, e.Path)
		}
		e.UID, e.GID = nonRootUID, 0
		out = append(out, e)
	}
	return out
}

// restricted is a securityContext valid under PodSecurity restricted.
func restricted(uid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser:                new(uid),
		RunAsNonRoot:             new(true),
		AllowPrivilegeEscalation: new(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// assertRestricted runs PodSecurity's own checks on the mutated spec.
func assertRestricted(t *testing.T, spec *corev1.PodSpec) {
	t.Helper()
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	if r := psapolicy.AggregateCheckResults(e.EvaluatePod(lv, &metav1.ObjectMeta{Name: "p"}, spec)); !r.Allowed {
		t.Errorf("PodSecurity restricted forbids the mutated pod: %s: %s", r.ForbiddenReason(), r.ForbiddenDetail())
	}
}
