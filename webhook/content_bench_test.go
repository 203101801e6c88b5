package webhook

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// BenchmarkAdmissionColdPopulatedImage: the /mutate answer for a pod whose
// image (two 32 MiB layers of incompressible bytes under a layer shipping
// /data, on an in-process loopback registry) no cache has seen, with the
// content scan (which reads every layer: /data is populated, and a lower
// layer could add to it) and without. Each iteration gets a new Inspector:
// cold. Run: go test -run '^$' -bench AdmissionColdPopulated -benchtime 5x ./webhook/
func BenchmarkAdmissionColdPopulatedImage(b *testing.B) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	b.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/bench/app:1"
	content, err := testimage.Layer(testimage.Dir("data", 0o755, 0, 0), testimage.File("data/a", 100))
	if err != nil {
		b.Fatal(err)
	}
	var layers []v1.Layer
	for range 2 {
		l, err := random.Layer(32<<20, types.DockerLayer)
		if err != nil {
			b.Fatal(err)
		}
		layers = append(layers, l)
	}
	// The bulk below the content layer, as an application sits on its base.
	img, err := mutate.AppendLayers(empty.Image, append(layers, content)...)
	if err != nil {
		b.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		b.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Volumes = map[string]struct{}{"/data": {}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		b.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		b.Fatal(err)
	}
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: ref}}}}
	req := request(b, admissionv1.Create, podKind, "default", pod, nil)
	for _, scan := range []bool{false, true} {
		label := "scan disabled"
		if scan {
			label = "scan"
		}
		b.Run(label, func(b *testing.B) {
			var read int64
			for range b.N {
				b.StopTimer()
				in, err := imageinspect.New()
				if err != nil {
					b.Fatal(err)
				}
				var opts []analysis.Option
				if scan {
					opts = append(opts, analysis.WithContentScanner(NewContentScans(context.Background(), in, 0, 0, nil)))
				}
				h := NewHandler(HandlerConfig{Analyzer: analysis.New(in, opts...), DefaultMode: ModeMutate}, Mutating)
				b.StartTimer()
				resp := h.Handle(context.Background(), req)
				if !resp.Allowed {
					b.Fatalf("%+v", resp.AdmissionResponse)
				}
				if scan && !hasWarning(resp.Warnings, "ships 1 file") {
					b.Fatalf("warnings %q, want /data populated", resp.Warnings)
				}
				read = in.Stats().LayerBytes
			}
			b.ReportMetric(float64(read)/(1<<20), "MiB-read/op")
		})
	}
}
