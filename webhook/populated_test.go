package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/policy"
)

// fakeContent says /data of every image is populated (2 files) and the
// other paths empty; with block, it waits until release is closed.
type fakeContent struct {
	block   chan struct{}
	mu      sync.Mutex
	calls   int
	started chan struct{}
}

func (f *fakeContent) ScanContent(ctx context.Context, _, _ string, paths []string, _ ...imageinspect.InspectOption) ([]volumecontent.Content, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([]volumecontent.Content, len(paths))
	for k, p := range paths {
		out[k] = volumecontent.Content{Path: p, State: volumecontent.Empty, Mode: 0o755, Kind: volumecontent.KindDirectory}
		if p == "/data" {
			out[k].State, out[k].Entries, out[k].Bytes = volumecontent.Populated, 2, 1126
		}
	}
	return out, nil
}

func contentEnv(scanner analysis.ContentScanner, namespaces fakeNamespaces) *testEnv {
	e := newEnv(ModeMutate, namespaces)
	e.cfg.Analyzer = analysis.New(e.inspector, analysis.WithContentScanner(scanner))
	e.cfg.CopierImage = "volumeguard:test"
	return e
}

func TestPopulatedVolumes(t *testing.T) {
	restricted := func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true)}
	}
	tests := []struct {
		name        string
		flag        policy.PopulatedPolicy
		nsAnnot     string
		podAnnot    string
		wantDenied  bool
		wantCopy    bool     // init containers inserted
		wantAdded   []string // emptyDirs mounted in zk, by path
		wantWarning []string
	}{
		{name: "skip by default: /data left to the runtime, the rest covered", wantAdded: []string{"/datalog", "/logs"},
			wantWarning: []string{"/data", "ships 2 files, 1.1 KiB", "left this path to the runtime"}},
		{name: "copy from the flag", flag: policy.PopulatedCopy, wantCopy: true, wantAdded: []string{"/data", "/datalog", "/logs"}},
		{name: "deny from the namespace", nsAnnot: "deny", wantDenied: true},
		{name: "the pod asks for copy", podAnnot: "copy", wantCopy: true, wantAdded: []string{"/data", "/datalog", "/logs"}},
		{name: "a pod cannot leave its namespace's deny", nsAnnot: "deny", podAnnot: "skip", wantDenied: true},
		{name: "a bad pod annotation warns and keeps the namespace's", nsAnnot: "copy", podAnnot: "maybe", wantCopy: true,
			wantAdded: []string{"/data", "/datalog", "/logs"}, wantWarning: []string{"populated-volumes must be skip, copy or deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := namespace("default", nil, nil)
			if tt.nsAnnot != "" {
				ns.Annotations = map[string]string{AnnotationPopulatedVolumes: tt.nsAnnot}
			}
			e := contentEnv(&fakeContent{}, fakeNamespaces{"default": ns})
			e.cfg.Populated = tt.flag
			var annots map[string]string
			if tt.podAnnot != "" {
				annots = map[string]string{AnnotationPopulatedVolumes: tt.podAnnot}
			}
			pod := zkPod(annots)
			restricted(pod)
			raw := mustJSON(t, pod)
			resp := e.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", pod, nil))
			if tt.wantDenied {
				if resp.Allowed || !strings.Contains(resultMessage(resp), "populated-volumes=deny") || !strings.Contains(resultMessage(resp), "ships 2 files") {
					t.Fatalf("response %+v, want a denial naming what /data holds", resp.AdmissionResponse)
				}
				return
			}
			if !resp.Allowed {
				t.Fatalf("denied: %s", resultMessage(resp))
			}
			var got corev1.Pod
			if err := json.Unmarshal(applyPatch(t, raw, resp), &got); err != nil {
				t.Fatal(err)
			}
			var mounted []string
			for _, m := range got.Spec.Containers[0].VolumeMounts {
				if m.MountPath != "/conf" {
					mounted = append(mounted, m.MountPath)
				}
			}
			if strings.Join(mounted, " ") != strings.Join(tt.wantAdded, " ") {
				t.Errorf("zk mounts %v, want %v", mounted, tt.wantAdded)
			}
			copies := 0
			for _, c := range got.Spec.InitContainers {
				if strings.HasPrefix(c.Name, "vg-copy-") {
					copies++
					if c.Image != zkImage || c.SecurityContext == nil || c.SecurityContext.RunAsNonRoot == nil {
						t.Errorf("copy container %+v, want the app's image and securityContext", c)
					}
				}
			}
			if (copies > 0) != tt.wantCopy {
				t.Errorf("%d copy init containers, want copy %v", copies, tt.wantCopy)
			}
			if len(tt.wantWarning) > 0 && !hasWarning(resp.Warnings, tt.wantWarning...) {
				t.Errorf("warnings %q, want one with %q", resp.Warnings, tt.wantWarning)
			}
			// Reinvocation: the mutated pod changes no more.
			again := e.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", &got, nil))
			if len(again.Patches) != 0 {
				t.Errorf("second pass patched %v", again.Patches)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A scan unfinished at the admission's deadline: this admission gets
// unknown (skipped, with a warning that says so), the scan goes on, and the
// next pod is decided on its answer without scanning again.
func TestContentScanGoesOnInTheBackground(t *testing.T) {
	release := make(chan struct{})
	inner := &fakeContent{block: release, started: make(chan struct{}, 4)}
	metrics := NewMetrics()
	scans := NewContentScans(context.Background(), inner, 2, 0, metrics)
	e := contentEnv(scans, nil)
	e.cfg.Metrics = metrics
	e.cfg.Populated = policy.PopulatedCopy
	pod := zkPod(nil)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-inner.started; cancel() }() // the admission's deadline passes while the scan runs
	resp := NewHandler(e.cfg, Mutating).Handle(ctx, request(t, admissionv1.Create, podKind, "default", pod, nil))
	if !resp.Allowed || !hasWarning(resp.Warnings, "is not known (the scan", "goes on in the background") {
		t.Fatalf("first admission %+v, want allowed with the warning that content is not known yet", resp.AdmissionResponse)
	}
	if got := counterValue(t, metrics.content.unknown.WithLabelValues("pending")); got == 0 {
		t.Errorf("pending unknown answers = %v, want counted", got)
	}
	close(release)
	// The background scan finishes and caches its answer; the next pod waits
	// for it (a joined flight) or takes it from the cache.
	resp = e.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", pod, nil))
	if !resp.Allowed || !strings.Contains(string(mustJSON(t, resp.Patches)), "vg-copy-") {
		t.Fatalf("second admission %+v, want the copy init containers", resp.AdmissionResponse)
	}
	resp = e.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", pod, nil))
	inner.mu.Lock()
	calls := inner.calls
	inner.mu.Unlock()
	if calls != 1 {
		t.Errorf("%d scans, want 1: the answer is cached", calls)
	}
	if got := counterValue(t, metrics.content.results.WithLabelValues("hit")); got == 0 {
		t.Errorf("result cache hits = %v, want counted", got)
	}
}

// TestContentScanWaitsForASlot: a scan that finds every slot taken waits
// for one until its admission's deadline, instead of leaving the content
// unknown at once; an admission without a deadline does not wait.
func TestContentScanWaitsForASlot(t *testing.T) {
	release := make(chan struct{})
	inner := &fakeContent{block: release, started: make(chan struct{}, 4)}
	scans := NewContentScans(context.Background(), inner, 1, 0, nil)

	// The one slot: a scan that goes on after its admission gave up.
	first, cancelFirst := context.WithCancel(context.Background())
	go func() { <-inner.started; cancelFirst() }()
	if _, err := scans.ScanContent(first, "a", "sha256:a", []string{"/data"}); !errors.Is(err, errScanPending) {
		t.Fatalf("first scan: %v, want it pending", err)
	}

	if _, err := scans.ScanContent(context.Background(), "b", "sha256:b", []string{"/data"}); err == nil || !strings.Contains(err.Error(), "already scanning") {
		t.Errorf("a scan without a deadline: %v, want no wait for the busy slot", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		got []volumecontent.Content
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := scans.ScanContent(ctx, "c", "sha256:c", []string{"/data"})
		done <- result{got, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("a scan with a deadline returned while the slot was busy: %v", r.err)
	case <-time.After(200 * time.Millisecond): // still waiting for the slot
	}
	close(release)
	r := <-done
	if r.err != nil || len(r.got) != 1 || r.got[0].State != volumecontent.Populated {
		t.Errorf("scan after the slot was freed: %+v, %v; want /data populated", r.got, r.err)
	}
}
