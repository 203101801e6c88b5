package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	admissionv1 "k8s.io/api/admission/v1"
)

// BenchmarkHandleMutate is the pure handler on a zookeeper pod in mode
// mutate with every image already known (a warm cache): decode, analyse,
// mutate, patch, warnings.
func BenchmarkHandleMutate(b *testing.B) {
	env := newEnv(ModeMutate, nil)
	h := NewHandler(env.cfg, Mutating)
	req := request(b, admissionv1.Create, podKind, "default", zkPod(nil), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(ctx, req); len(resp.Patches) == 0 {
			b.Fatal("no patch")
		}
	}
}

// BenchmarkServeHTTPMutate is one whole admission request as the API server
// sends it, minus TLS: read and decode the review, handle it, encode the
// answer, record metrics and the log line.
func BenchmarkServeHTTPMutate(b *testing.B) { benchServeHTTP(b, zkPod(nil), logr.Discard()) }

// BenchmarkServeHTTPClean is the same pod with images that declare no
// VOLUME: what a mutated answer costs more is the difference.
func BenchmarkServeHTTPClean(b *testing.B) {
	pod := zkPod(nil)
	pod.Spec.Containers[0].Image = plainImg
	benchServeHTTP(b, pod, logr.Discard())
}

// BenchmarkServeHTTPMutateLogged is the same with the log line written, as
// `serve` does at its default level for every answer with a finding.
func BenchmarkServeHTTPMutateLogged(b *testing.B) {
	// As serve's logger (cmd/volumeguard/log.go): JSON lines at info.
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(io.Discard)), zapcore.InfoLevel)
	benchServeHTTP(b, zkPod(nil), zapr.NewLogger(zap.New(core)))
}

func benchServeHTTP(b *testing.B, pod *corev1.Pod, log logr.Logger) {
	env := newEnv(ModeMutate, nil)
	rh := newReviewHandler(Mutating, NewHandler(env.cfg, Mutating), 8*time.Second, nil, env.cfg.Metrics, log)
	req := request(b, admissionv1.Create, podKind, "default", pod, nil)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req.AdmissionRequest,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/mutate?timeout=10s", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		rh.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allowed":true`)) {
			b.Fatalf("answer %d: %s", w.Code, w.Body.String())
		}
	}
}
