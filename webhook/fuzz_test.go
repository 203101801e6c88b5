package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/analysis"
)

// The fuzz target runs on its seeds (f.Add and testdata/fuzz/) with every
// `go test`; fuzzing itself is `make fuzz` (go test -run=^$
// -fuzz=^FuzzAdmissionReview$ ./webhook/).

// Images of the fuzzed pods, besides those of newFakeInspector: one at the
// imageinspect cap of VOLUMEs, one declaring hostile paths, one whose
// registry times out.
const (
	fuzzManyImg    = "many:256"
	fuzzHostileImg = "hostile:1"
	fuzzDownImg    = "down:1"
)

// maxFuzzAllocBytes bounds what the server allocates, in all, to answer
// one fuzzed request: a fixed allowance for the worst pod (every container
// of an image at the 256-VOLUME cap, all uncovered) plus the decoding of
// the body. Before the caps of issue 8, one such request took hundreds of
// megabytes.
func maxFuzzAllocBytes(body []byte) uint64 {
	return 96<<20 + 64*uint64(len(body))
}

// FuzzAdmissionReview sends arbitrary bodies through the server's own
// ServeHTTP (both endpoints, every namespace mode, --on-registry-error allow
// and deny) over a fake inspector. Whatever the body, the answer is an
// AdmissionReview within its size bounds, never volumeguard's own failure
// (HTTP 500: a recovered panic, an unbuildable patch, an oversized answer),
// carries the request's UID when it answers one, holds a patch that applies
// to the object, and costs a bounded number of bytes.
func FuzzAdmissionReview(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, false, false)
		f.Add(seed, true, true)
	}
	muxes := map[RegistryErrorPolicy]http.Handler{
		AllowOnRegistryError: fuzzMux(AllowOnRegistryError),
		DenyOnRegistryError:  fuzzMux(DenyOnRegistryError),
	}
	f.Fuzz(func(t *testing.T, body []byte, mutate, deny bool) {
		onError, path := AllowOnRegistryError, "/validate"
		if deny {
			onError = DenyOnRegistryError
		}
		if mutate {
			path = "/mutate"
		}
		r := httptest.NewRequest(http.MethodPost, path+"?timeout=10s", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()

		before := allocatedBytes()
		muxes[onError].ServeHTTP(w, r)
		if got, limit := allocatedBytes()-before, maxFuzzAllocBytes(body); got > limit {
			t.Errorf("answering took %d bytes of allocations, over %d", got, limit)
		}
		checkFuzzAnswer(t, body, w)
	})
}

func checkFuzzAnswer(t *testing.T, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code == http.StatusInternalServerError {
		t.Fatalf("volumeguard's own failure (HTTP 500): %s", w.Body.Bytes())
	}
	if w.Body.Len() > maxAnswerBytes {
		t.Fatalf("answer of %d bytes, over %d", w.Body.Len(), maxAnswerBytes)
	}
	var got admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.TypeMeta != reviewType || got.Response == nil {
		t.Fatalf("answer is not an AdmissionReview with a response (%v): %s", err, w.Body.Bytes())
	}
	resp := got.Response
	if w.Code != http.StatusOK {
		if w.Code < 400 || w.Code >= 500 || resp.Allowed {
			t.Fatalf("HTTP %d with allowed=%v: want a 4xx refusal", w.Code, resp.Allowed)
		}
		return
	}
	var sent admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &sent); err != nil || sent.Request == nil {
		t.Fatalf("HTTP 200 for a body that holds no admission request (%v)", err)
	}
	if resp.UID != sent.Request.UID {
		t.Fatalf("answer UID %q, want the request's %q", resp.UID, sent.Request.UID)
	}
	if len(resp.Warnings) > maxWarnings {
		t.Errorf("%d warnings, over %d", len(resp.Warnings), maxWarnings)
	}
	for _, warning := range resp.Warnings {
		if n := utf8.RuneCountInString(warning); n > maxWarningRunes || strings.ContainsAny(warning, "\n\r") {
			t.Errorf("warning of %d runes or of several lines: %q", n, warning)
		}
	}
	if resp.Result != nil && len(resp.Result.Message) > maxDenialBytes {
		t.Errorf("denial of %d bytes, over %d", len(resp.Result.Message), maxDenialBytes)
	}
	checkFuzzPatch(t, sent.Request.Object.Raw, resp)
}

// checkFuzzPatch applies the answer's patch, if any, to the object it was
// made for.
func checkFuzzPatch(t *testing.T, object []byte, resp *admissionv1.AdmissionResponse) {
	t.Helper()
	if len(resp.Patch) == 0 {
		return
	}
	if !resp.Allowed {
		t.Fatalf("a patch in a denial")
	}
	if len(resp.Patch) > maxPatchBytes {
		t.Fatalf("patch of %d bytes, over %d", len(resp.Patch), maxPatchBytes)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("decoding the patch: %v", err)
	}
	if _, err := patch.Apply(object); err != nil {
		t.Fatalf("applying the patch %s: %v", resp.Patch, err)
	}
}

// fuzzMux is the server's admission mux over a fake inspector and one
// namespace per mode (fz-off, fz-audit, fz-mutate, fz-enforce; default is
// unlabelled).
func fuzzMux(onError RegistryErrorPolicy) http.Handler {
	in := newFakeInspector()
	in.volumes[fuzzManyImg] = manyPaths(256)
	in.volumes[fuzzHostileImg] = []string{"/", "data", "/a\nb: c", "/\x1b[31mred", "/" + strings.Repeat("d", 4095), "/x/../..", "//", "/\xff"}
	in.errs = map[string]error{fuzzDownImg: fmt.Errorf("reading manifest %q: %w", fuzzDownImg, contextDeadlineExceeded())}
	ns := fakeNamespaces{"default": namespace("default", nil, nil)}
	for _, m := range []Mode{ModeOff, ModeAudit, ModeMutate, ModeEnforce} {
		ns["fz-"+string(m)] = namespace("fz-"+string(m), map[string]string{LabelMode: string(m)},
			map[string]string{AnnotationSizeLimit: "2Gi"})
	}
	hc := HandlerConfig{
		Analyzer:         analysis.New(in),
		Namespaces:       ns,
		DefaultMode:      ModeAudit,
		DefaultSizeLimit: resource.MustParse("1Gi"),
		OnRegistryError:  onError,
		Metrics:          NewMetrics(),
	}
	return admissionMux(hc, 8*time.Second, 0, logr.Discard()) // serve's default --admission-timeout
}

func manyPaths(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/v/%04d", i)
	}
	return out
}

// allocatedBytes is the heap allocated by the process so far; reading it
// does not stop the world, unlike runtime.ReadMemStats.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// fuzzSeeds are reviews of each kind the handler treats differently, in
// each mode, plus malformed ones.
func fuzzSeeds(f testing.TB) [][]byte {
	pods := map[string]*corev1.Pod{
		"zk":      zkPod(nil),
		"many":    podOf(40, fuzzManyImg),
		"hostile": podOf(3, fuzzHostileImg),
		"down":    podOf(2, fuzzDownImg),
		"mixed":   podOf(1, zkImage, fuzzManyImg, fuzzHostileImg, fuzzDownImg, "unknown:1", "", "@@"),
	}
	var seeds [][]byte
	for _, ns := range []string{"default", "fz-off", "fz-audit", "fz-mutate", "fz-enforce"} {
		for _, name := range []string{"zk", "many", "hostile", "down", "mixed"} {
			pod := pods[name].DeepCopy()
			pod.Namespace = ns
			seeds = append(seeds, reviewOf(f, request(f, admissionv1.Create, podKind, ns, pod, nil)))
		}
	}
	// An UPDATE changing an image, a new ephemeral container, a workload.
	old, cur := zkPod(nil), zkPod(nil)
	cur.Spec.Containers[1].Image = fuzzManyImg
	cur.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: debugImg}}}
	upd := request(f, admissionv1.Update, podKind, "fz-enforce", cur, old)
	upd.SubResource = subresourceEphemeral
	seeds = append(seeds, reviewOf(f, upd))
	deploy := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "namespace": "fz-enforce"},
		"spec": map[string]any{"template": map[string]any{"spec": podOf(8, fuzzManyImg).Spec}},
	}
	seeds = append(seeds, reviewOf(f, request(f, admissionv1.Create, deploymentKind, "fz-enforce", deploy, nil)))
	return append(seeds,
		[]byte(``), []byte(`null`), []byte(`{}`), []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":""}}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"fz-mutate","object":{"spec":{"containers":null}}}}`),
	)
}

// podOf is a pod of n containers of each image, mounting nothing.
func podOf(n int, images ...string) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
	}
	for i, image := range images {
		for k := range n {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d-%d", i, k), Image: image})
		}
	}
	return pod
}

func reviewOf(t testing.TB, req any) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
}
