package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/policy"
)

// hostilePod is a pod of containers containers of one image declaring
// volumes VOLUMEs, each path about pathLen bytes long.
func hostilePod(env *testEnv, containers, volumes, pathLen int) *corev1.Pod {
	image := fmt.Sprintf("registry.example/hostile:%d-%d", volumes, pathLen)
	var paths []string
	for i := range volumes {
		p := fmt.Sprintf("/v/%04d", i)
		paths = append(paths, p+strings.Repeat("x", max(pathLen-len(p), 0)))
	}
	env.inspector.volumes[image] = paths
	pod := &corev1.Pod{Spec: corev1.PodSpec{}}
	for i := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%02d", i), Image: image})
	}
	return pod
}

// answer posts a review of pod to endpoint e over HTTP and returns the
// HTTP status, the raw answer and its review.
func answer(t *testing.T, env *testEnv, e Endpoint, pod *corev1.Pod) (int, []byte, *admissionv1.AdmissionReview) {
	t.Helper()
	h := newReviewHandler(e, NewHandler(env.cfg, e), MaxAdmissionTimeout, nil, env.cfg.Metrics, logr.Discard())
	body := reviewBody(t, request(t, admissionv1.Create, podKind, "default", pod, nil))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(raw, review); err != nil || review.Response == nil {
		t.Fatalf("status %d, not an AdmissionReview (%v): %.300s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, raw, review
}

// TestHostilePodAnswersBounded: a pod of 40 containers of an image that
// declares 256 VOLUMEs (10,240 findings), or of paths of 20 KB, gets an
// answer of bounded size in every mode, and still a real one: in mode
// mutate at most policy.MaxAddedVolumes emptyDirs are added, and a patch of
// megabytes (long paths) becomes a denial that says why.
func TestHostilePodAnswersBounded(t *testing.T) {
	tests := []struct {
		name        string
		mode        Mode
		endpoint    Endpoint
		containers  int
		volumes     int
		pathLen     int
		allowed     bool
		patched     bool
		messageHas  string
		messageCuts bool
	}{
		// policy adds at most policy.MaxAddedVolumes emptyDirs; the rest are warned.
		{name: "mutate many", mode: ModeMutate, endpoint: Mutating, containers: 40, volumes: 256, pathLen: 8, allowed: true, patched: true},
		{name: "mutate long paths", mode: ModeMutate, endpoint: Mutating, containers: 1, volumes: 40, pathLen: 20_000, messageHas: "over volumeguard's limit", messageCuts: true},
		{name: "mutate under the limit", mode: ModeMutate, endpoint: Mutating, containers: 1, volumes: 256, pathLen: 8, allowed: true, patched: true},
		{name: "mutate validate", mode: ModeMutate, endpoint: Validating, containers: 40, volumes: 256, pathLen: 8, allowed: true},
		{name: "enforce many", mode: ModeEnforce, endpoint: Validating, containers: 40, volumes: 256, pathLen: 8, messageHas: "... and 10230 more"},
		{name: "enforce long paths", mode: ModeEnforce, endpoint: Validating, containers: 2, volumes: 20, pathLen: 20_000, messageCuts: true},
		{name: "audit many", mode: ModeAudit, endpoint: Validating, containers: 40, volumes: 256, pathLen: 8, allowed: true},
		{name: "audit long paths", mode: ModeAudit, endpoint: Validating, containers: 2, volumes: 20, pathLen: 20_000, allowed: true},
		// 1,024,000 findings: maxFindingsPerPod are built, the rest counted.
		{name: "enforce thousands of containers", mode: ModeEnforce, endpoint: Validating, containers: 4000, volumes: 256, pathLen: 8, messageHas: "... and 1023990 more"},
		{name: "mutate thousands of containers", mode: ModeMutate, endpoint: Mutating, containers: 4000, volumes: 256, pathLen: 8, allowed: true, patched: true},
		{name: "audit thousands of containers", mode: ModeAudit, endpoint: Validating, containers: 4000, volumes: 256, pathLen: 8, allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(tt.mode, nil)
			pod := hostilePod(env, tt.containers, tt.volumes, tt.pathLen)
			status, raw, review := answer(t, env, tt.endpoint, pod)
			r := review.Response
			if status != http.StatusOK || r.Allowed != tt.allowed {
				t.Fatalf("status %d, allowed %v (%.300s); want 200 and allowed %v", status, r.Allowed, messageOf(r), tt.allowed)
			}
			if len(raw) > maxAnswerBytes {
				t.Errorf("answer of %d bytes, over %d", len(raw), maxAnswerBytes)
			}
			if got := len(r.Patch) > 0; got != tt.patched {
				t.Errorf("patched: %v, want %v", got, tt.patched)
			}
			if len(r.Patch) > maxPatchBytes {
				t.Errorf("patch of %d bytes, over %d", len(r.Patch), maxPatchBytes)
			}
			msg := messageOf(r)
			if len(msg) > maxDenialBytes || !utf8.ValidString(msg) {
				t.Errorf("denial of %d bytes (valid UTF-8: %v), want at most %d", len(msg), utf8.ValidString(msg), maxDenialBytes)
			}
			if !strings.Contains(msg, tt.messageHas) {
				t.Errorf("denial lacks %q:\n%.600s", tt.messageHas, msg)
			}
			if got := strings.Contains(msg, "cut at"); got != tt.messageCuts {
				t.Errorf("denial cut: %v, want %v", got, tt.messageCuts)
			}
			if !r.Allowed && !strings.Contains(msg, "/v/0000") {
				t.Errorf("denial does not name the first path:\n%.600s", msg)
			}
			if len(r.Warnings) > maxWarnings {
				t.Errorf("%d warnings, want at most %d", len(r.Warnings), maxWarnings)
			}
			for _, w := range r.Warnings {
				if !r.Allowed && strings.Contains(w, "added emptyDir") {
					t.Errorf("a denied pod is told an emptyDir was added: %q", w)
				}
			}
			for k, v := range r.AuditAnnotations {
				if len(v) > maxAuditValue {
					t.Errorf("audit annotation %s of %d bytes, over %d", k, len(v), maxAuditValue)
				}
			}
		})
	}
}

// TestPodOfThousandsOfContainersCostsBoundedMemory: findings grow with
// containers x VOLUMEs; a 200 KB pod of 4,000 containers of an image at
// the 256-VOLUME cap took a gigabyte before maxFindingsPerPod. Now what it
// allocates is bounded, and the answer still says how many were found.
func TestPodOfThousandsOfContainersCostsBoundedMemory(t *testing.T) {
	for _, mode := range []Mode{ModeAudit, ModeMutate, ModeEnforce} {
		t.Run(string(mode), func(t *testing.T) {
			env := newEnv(mode, nil)
			endpoint := Validating
			if mode == ModeMutate {
				endpoint = Mutating
			}
			req := request(t, admissionv1.Create, podKind, "default", hostilePod(env, 4000, 256, 8), nil)
			h := NewHandler(env.cfg, endpoint)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp := h.Handle(context.Background(), req)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
				t.Errorf("one admission allocated %d MiB, want at most 64", got>>20)
			}
			if !hasWarning(resp.Warnings, "1022976 uncovered VOLUME paths past the first 1024 of a pod spec") {
				t.Errorf("no warning says findings were left out: %q", resp.Warnings)
			}
		})
	}
}

func messageOf(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// TestMutateUnderThePatchLimitApplies: the largest mutation that fits is
// sent whole, and the patch gives the pod every emptyDir.
func TestMutateUnderThePatchLimitApplies(t *testing.T) {
	env := newEnv(ModeMutate, nil)
	pod := hostilePod(env, 2, 256, 8)
	raw := mustJSON(t, pod)
	resp := NewHandler(env.cfg, Mutating).Handle(context.Background(), request(t, admissionv1.Create, podKind, "default", pod, nil))
	if !resp.Allowed || patchBytes(resp) == 0 || patchBytes(resp) > maxPatchBytes {
		t.Fatalf("allowed %v with a patch of %d bytes; want a patch under %d", resp.Allowed, patchBytes(resp), maxPatchBytes)
	}
	var patched corev1.Pod
	if err := json.Unmarshal(applyPatch(t, raw, resp), &patched); err != nil {
		t.Fatal(err)
	}
	if n := len(patched.Spec.Volumes); n != policy.MaxAddedVolumes {
		t.Errorf("%d volumes after the patch, want %d", n, policy.MaxAddedVolumes)
	}
}

// TestAnswerOverTheLimitIsAnError: whatever slips past the bounds of the
// parts (here a handler that ignores them) is not sent: HTTP 500 with the
// request UID, and the failurePolicy decides.
func TestAnswerOverTheLimitIsAnError(t *testing.T) {
	huge := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("").WithWarnings(strings.Repeat("w", maxAnswerBytes))
	})
	h := newReviewHandler(Validating, huge, MaxAdmissionTimeout, nil, NewMetrics(), logr.Discard())
	req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)
	status, review := post(t, h, "", "application/json", reviewBody(t, req))
	r := review.Response
	if status != http.StatusInternalServerError || r.UID != req.UID || r.Allowed || !strings.Contains(messageOf(r), "over the limit of") || len(r.Warnings) > 0 {
		t.Errorf("status %d, response UID %q allowed %v, %d warnings, message %q; want HTTP 500 with the UID and the reason",
			status, r.UID, r.Allowed, len(r.Warnings), messageOf(r))
	}
}

func TestCapText(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		limit int
	}{
		{name: "short", s: "fits", limit: 100},
		{name: "ascii", s: strings.Repeat("a", 1000), limit: 200},
		{name: "multibyte", s: strings.Repeat("é€", 500), limit: 201},
		{name: "limit below the mark", s: strings.Repeat("€", 100), limit: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := capText(tt.s, tt.limit)
			if len(got) > tt.limit || !utf8.ValidString(got) {
				t.Errorf("capText = %d bytes (valid UTF-8: %v), want at most %d", len(got), utf8.ValidString(got), tt.limit)
			}
			if len(tt.s) <= tt.limit && got != tt.s {
				t.Errorf("capText changed a text within the limit: %q", got)
			}
			if len(tt.s) > tt.limit {
				kept, _, _ := strings.Cut(got, "\n... (cut at")
				if !strings.HasPrefix(tt.s, kept) || kept == "" && tt.limit > 100 {
					t.Errorf("capText = %q, want a prefix of the text", got)
				}
			}
		})
	}
}
