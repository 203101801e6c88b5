package policy

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// sonarqube ships its distribution under two of its VOLUMEs.
func sonarqube() map[string]ImageFacts {
	return map[string]ImageFacts{"sonarqube": scanned("sha256:sq", map[string]Content{
		"/opt/sonarqube/data":       populated,
		"/opt/sonarqube/extensions": {State: ContentPopulated, Entries: 40, Bytes: 30 << 20},
		"/opt/sonarqube/logs":       emptyDir,
		"/opt/sonarqube/temp":       absent,
		"/opt/sonarqube/cache":      unknown,
	})}
}

func TestMutateByContent(t *testing.T) {
	limit := resource.MustParse("1Gi")
	tests := []struct {
		name        string
		opts        []Option
		wantAdded   []string
		wantSkipped []string
		wantDenied  []string
		wantInit    int
	}{
		{
			name:        "default: skip populated and unknown, cover the rest",
			wantAdded:   []string{"/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/cache", "/opt/sonarqube/data", "/opt/sonarqube/extensions"},
		},
		{
			name:        "unknown: mutate",
			opts:        []Option{WithUnknown(UnknownMutate)},
			wantAdded:   []string{"/opt/sonarqube/cache", "/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/data", "/opt/sonarqube/extensions"},
		},
		{
			name:        "deny: denials, the other paths still covered",
			opts:        []Option{WithPopulated(PopulatedDeny)},
			wantAdded:   []string{"/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/cache"},
			wantDenied:  []string{"/opt/sonarqube/data", "/opt/sonarqube/extensions"},
		},
		{
			name:        "copy without a copier image skips",
			opts:        []Option{WithPopulated(PopulatedCopy)},
			wantAdded:   []string{"/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/cache", "/opt/sonarqube/data", "/opt/sonarqube/extensions"},
		},
		{
			name:        "copy",
			opts:        []Option{WithPopulated(PopulatedCopy), WithCopierImage("volumeguard:1")},
			wantAdded:   []string{"/opt/sonarqube/data", "/opt/sonarqube/extensions", "/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/cache"},
			wantInit:    2,
		},
		{
			name:        "an invalid value reads as the default",
			opts:        []Option{WithPopulated("sometimes"), WithUnknown("maybe")},
			wantAdded:   []string{"/opt/sonarqube/logs", "/opt/sonarqube/temp"},
			wantSkipped: []string{"/opt/sonarqube/cache", "/opt/sonarqube/data", "/opt/sonarqube/extensions"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Containers: []corev1.Container{container("sq", "sonarqube")}}
			m := Mutate(spec, Findings(spec, sonarqube(), tt.opts...), limit, tt.opts...)
			var added, skipped, denied []string
			for _, a := range m.Added {
				added = append(added, a.MountPath)
			}
			for _, s := range m.Skipped {
				skipped = append(skipped, s.Finding.Path)
			}
			for _, d := range m.Denied {
				denied = append(denied, d.Finding.Path)
			}
			if !reflect.DeepEqual(added, tt.wantAdded) || !reflect.DeepEqual(skipped, tt.wantSkipped) || !reflect.DeepEqual(denied, tt.wantDenied) {
				t.Errorf("added %q, skipped %q, denied %q; want %q, %q, %q", added, skipped, denied, tt.wantAdded, tt.wantSkipped, tt.wantDenied)
			}
			if len(m.InitContainers) != tt.wantInit || len(spec.InitContainers) != tt.wantInit {
				t.Errorf("init containers added %q (spec has %d), want %d", m.InitContainers, len(spec.InitContainers), tt.wantInit)
			}
			if len(m.Unfixable) != 0 {
				t.Errorf("unfixable %+v", m.Unfixable)
			}
		})
	}
}

func TestSkippedAndDeniedSayWhatTheImageShips(t *testing.T) {
	limit := resource.MustParse("1Gi")
	spec := func() *corev1.PodSpec {
		return &corev1.PodSpec{Containers: []corev1.Container{container("sq", "sonarqube")}}
	}
	s := spec()
	m := Mutate(s, Findings(s, sonarqube()), limit)
	reasons := map[string]string{}
	for _, sk := range m.Skipped {
		reasons[sk.Finding.Path] = sk.Reason
	}
	for path, want := range map[string][]string{
		"/opt/sonarqube/data":  {"the image ships 3 files, 1.1 KiB at /opt/sonarqube/data", "an emptyDir starts empty and would hide them", "volumeguard.io/populated-volumes=copy"},
		"/opt/sonarqube/cache": {"what the image ships at /opt/sonarqube/cache is not known (the byte budget ran out)", "an emptyDir would hide whatever it ships"},
	} {
		for _, w := range want {
			if !strings.Contains(reasons[path], w) {
				t.Errorf("skip reason for %s = %q, missing %q", path, reasons[path], w)
			}
		}
	}

	s = spec()
	m = Mutate(s, Findings(s, sonarqube()), limit, WithPopulated(PopulatedDeny))
	if len(m.Denied) == 0 || !strings.Contains(m.Denied[0].Reason, "the image ships 3 files, 1.1 KiB at /opt/sonarqube/data, and populated-volumes=deny refuses") ||
		!strings.Contains(m.Denied[0].Reason, "would hide the 3 files (1.1 KiB)") {
		t.Errorf("denials = %+v", m.Denied)
	}
}

// TestEnforceTextsFitTheContent: the problem says whether the path is
// populated; the fix for an empty path is the plain emptyDir, for a
// populated one what it would hide and the copy.
func TestEnforceTextsFitTheContent(t *testing.T) {
	limit := resource.MustParse("1Gi")
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("sq", "sonarqube")}}
	byPath := map[string]Finding{}
	for _, f := range Findings(spec, sonarqube()) {
		byPath[f.Path] = f
	}
	data, logs := byPath["/opt/sonarqube/data"], byPath["/opt/sonarqube/logs"]
	if p := data.Problem(); !strings.Contains(p, "declares VOLUME /opt/sonarqube/data, where the image ships 3 files, 1.1 KiB, and no volumeMount") {
		t.Errorf("Problem() = %q", p)
	}
	if p := logs.Problem(); !strings.Contains(p, "where the image ships an empty directory (mode 0700, owner 123:456), and") {
		t.Errorf("Problem() = %q", p)
	}
	if fix := logs.Fix(limit); !strings.HasPrefix(fix, "add an emptyDir with a sizeLimit mounted at /opt/sonarqube/logs") {
		t.Errorf("Fix() of an empty path = %q", fix)
	}
	fix := data.Fix(limit)
	if !strings.HasPrefix(fix, "an emptyDir at /opt/sonarqube/data starts empty and would hide the 3 files (1.1 KiB) the image ships there: mount a volume that holds them") ||
		strings.Contains(fix, "volumes:") {
		t.Errorf("Fix() of a populated path, no copier = %q", fix)
	}
	fix = data.Fix(limit, WithCopierImage("volumeguard:1"))
	for _, want := range []string{"the copy, in the pod spec:\n  volumes:", "  - " + installedCopier, "    - name: vg-copier-tools"} {
		if !strings.Contains(fix, want) {
			t.Errorf("Fix() with a copier image = %q, missing %q", fix, want)
		}
	}
}

func TestNonDirectoryAtTheVolumePathIsUnfixable(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("app", "img")}}
	fs := Findings(spec, map[string]ImageFacts{"img": scanned("sha256:a", map[string]Content{"/afile": {State: ContentPopulated, Kind: KindFile, Bytes: 15}})})
	m := Mutate(spec, fs, resource.MustParse("1Gi"), WithPopulated(PopulatedCopy), WithCopierImage("volumeguard:1"))
	if len(m.Unfixable) != 1 || !strings.Contains(m.Unfixable[0].Reason, "no runtime can create the container") || len(spec.Volumes) != 0 {
		t.Errorf("Mutate = %+v, spec volumes %v; want the path unfixable and nothing added", m, spec.Volumes)
	}
	if fs[0].Fixable() || !strings.Contains(fs[0].Fix(resource.MustParse("1Gi")), "rebuild image") {
		t.Errorf("Fixable() = %v, Fix() = %q", fs[0].Fixable(), fs[0].Fix(resource.MustParse("1Gi")))
	}
}
