package analysis

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

// fakeInspector answers from a map and records what it was asked.
type fakeInspector struct {
	mu        sync.Mutex
	images    map[string]*imageinspect.Image
	calls     []string
	platforms []string
}

func (f *fakeInspector) Inspect(_ context.Context, ref string, p *imageinspect.Platform) (*imageinspect.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ref)
	platform := "any"
	if p != nil {
		platform = p.String()
	}
	f.platforms = append(f.platforms, platform)
	img, ok := f.images[ref]
	if !ok {
		return nil, imageinspect.ErrNotFound
	}
	return img, nil
}

func image(digest string, volumes ...string) *imageinspect.Image {
	return &imageinspect.Image{Digest: digest, Platforms: []imageinspect.PlatformVolumes{{
		Platform: imageinspect.Platform{OS: "linux", Architecture: "amd64"}, Volumes: volumes,
	}}}
}

func TestAnalyze(t *testing.T) {
	inspector := &fakeInspector{images: map[string]*imageinspect.Image{
		"zookeeper:3.4.13": image("sha256:zk", "/data"),
		"nginx":            image("sha256:n"),
	}}
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "zookeeper:3.4.13"}},
		Containers: []corev1.Container{
			{Name: "zk", Image: "zookeeper:3.4.13"},
			{Name: "web", Image: "nginx"},
			{Name: "ghost", Image: "no/such"},
			{Name: "blank"},
		},
	}
	res := New(inspector).Analyze(context.Background(), spec)

	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Container+":"+f.Path+"@"+f.Digest)
	}
	if want := []string{"init:/data@sha256:zk", "zk:/data@sha256:zk"}; !reflect.DeepEqual(got, want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
	if len(res.Errors) != 2 {
		t.Fatalf("errors = %v, want one for the missing image and one for the blank image", res.Errors)
	}
	if res.Errors[0].Container != "ghost" || !errors.Is(res.Errors[0], imageinspect.ErrNotFound) {
		t.Errorf("first error = %v, want ghost wrapping ErrNotFound", res.Errors[0])
	}
	if res.Errors[1].Container != "blank" {
		t.Errorf("second error = %v, want the blank container", res.Errors[1])
	}
	if len(inspector.calls) != 3 {
		t.Errorf("inspector asked %v, want each distinct image once", inspector.calls)
	}
}

func TestAnalyzePlatformChoice(t *testing.T) {
	arm := imageinspect.Platform{OS: "linux", Architecture: "arm64"}
	tests := []struct {
		name string
		spec corev1.PodSpec
		opts []Option
		want string
	}{
		{name: "unpinned looks at every platform", want: "any"},
		{name: "nodeSelector pins one", spec: corev1.PodSpec{NodeSelector: map[string]string{policy.LabelArch: "arm64"}}, want: "linux/arm64"},
		{name: "default platform for unpinned pods", opts: []Option{WithDefaultPlatform(arm)}, want: "linux/arm64"},
		{
			name: "the pod's pin wins over the default",
			spec: corev1.PodSpec{NodeSelector: map[string]string{policy.LabelArch: "amd64"}},
			opts: []Option{WithDefaultPlatform(arm)}, want: "linux/amd64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inspector := &fakeInspector{images: map[string]*imageinspect.Image{"img": image("sha256:a")}}
			tt.spec.Containers = []corev1.Container{{Name: "c", Image: "img"}}
			New(inspector, tt.opts...).Analyze(context.Background(), &tt.spec)
			if !reflect.DeepEqual(inspector.platforms, []string{tt.want}) {
				t.Errorf("inspected on %v, want %v", inspector.platforms, tt.want)
			}
		})
	}
}

func TestAnalyzeStopsWaitingWhenContextEnds(t *testing.T) {
	inspector := &fakeInspector{images: map[string]*imageinspect.Image{"img": image("sha256:a")}}
	a := New(inspector, WithConcurrency(1))
	a.slots <- struct{}{} // every slot busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := a.Analyze(ctx, &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}})
	if len(res.Errors) != 1 || !errors.Is(res.Errors[0], context.Canceled) {
		t.Errorf("errors = %v, want the cancellation", res.Errors)
	}
}
