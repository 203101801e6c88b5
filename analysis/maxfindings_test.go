package analysis

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
)

func TestMaxFindingsBuildsSomeAndCountsTheRest(t *testing.T) {
	inspector := &fakeInspector{images: map[string]*imageinspect.Image{"many": image("sha256:m", "/a", "/b", "/c")}}
	spec := &corev1.PodSpec{}
	for k := range 5 {
		spec.Containers = append(spec.Containers, corev1.Container{Name: fmt.Sprint("c", k), Image: "many"})
	}
	for _, tc := range []struct {
		name           string
		opts           []AnalyzeOption
		built, omitted int
	}{
		{"no option: all", nil, 15, 0},
		{"0: all", []AnalyzeOption{MaxFindings(0)}, 15, 0},
		{"4", []AnalyzeOption{MaxFindings(4)}, 4, 11},
		{"over the findings", []AnalyzeOption{MaxFindings(100)}, 15, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := New(inspector).Analyze(context.Background(), spec, tc.opts...)
			if len(res.Findings) != tc.built || res.FindingsOmitted != tc.omitted {
				t.Errorf("%d findings and %d omitted, want %d and %d", len(res.Findings), res.FindingsOmitted, tc.built, tc.omitted)
			}
		})
	}
}
