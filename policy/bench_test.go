package policy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// BenchmarkFindingsAndMutate judges and mutates one container whose image
// declares n VOLUMEs, and so shows the cost growing linearly with n (it was
// quadratic: 100,000 volumes took 50 s of CPU). Past MaxAddedVolumes the
// findings are only marked unfixable.
//
//	go test -run=^$ -bench=FindingsAndMutate -benchmem ./policy/
func BenchmarkFindingsAndMutate(b *testing.B) {
	limit := resource.MustParse("1Gi")
	for _, n := range []int{1, 10, 1000, 100000} {
		paths := make([]string, n)
		for i := range paths {
			paths[i] = fmt.Sprintf("/var/lib/app/data-%06d", i)
		}
		images := map[string]ImageFacts{"img": single("sha256:a", paths...)}
		b.Run(fmt.Sprintf("volumes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "img"}}}
				Mutate(spec, Findings(spec, images), limit)
			}
		})
	}
}
