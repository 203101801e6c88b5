package webhook

import (
	"context"
	"testing"

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
