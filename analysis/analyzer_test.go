package analysis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
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
	options   []int // number of options per call
}

func (f *fakeInspector) Inspect(_ context.Context, ref string, p *imageinspect.Platform, opts ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ref)
	f.options = append(f.options, len(opts))
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
		{name: "only linux pinned looks at every linux platform", spec: corev1.PodSpec{NodeSelector: map[string]string{policy.LabelOS: "linux"}}, want: "any"},
		{name: "windows pinned looks at the windows images", spec: corev1.PodSpec{NodeSelector: map[string]string{policy.LabelOS: "windows"}}, want: "windows/"},
		{name: "required affinity on one arch pins it", spec: archAffinity("arm64"), want: "linux/arm64"},
		{name: "required affinity on two archs looks at every platform", spec: archAffinity("amd64", "arm64"), want: "any"},
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

func TestAnalyzeStartsNoLookupOnceCancelled(t *testing.T) {
	inspector := &fakeInspector{images: map[string]*imageinspect.Image{"img": image("sha256:a"), "other": image("sha256:b")}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := New(inspector).Analyze(ctx, &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}, {Name: "d", Image: "other"}}})
	if len(res.Errors) != 2 || !errors.Is(res.Errors[0], context.Canceled) || len(inspector.calls) != 0 {
		t.Errorf("errors = %v, calls %v; want the cancellation for both and no lookup", res.Errors, inspector.calls)
	}
}

// blockingInspector holds every lookup until released, counting how many
// are in flight at once.
type blockingInspector struct {
	release  chan struct{}
	started  chan string
	mu       sync.Mutex
	inFlight int
	peak     int
	deadline []bool // per lookup: whether its context had a deadline
}

func (b *blockingInspector) Inspect(ctx context.Context, ref string, _ *imageinspect.Platform, _ ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	_, hasDeadline := ctx.Deadline()
	b.mu.Lock()
	b.inFlight++
	b.peak = max(b.peak, b.inFlight)
	b.deadline = append(b.deadline, hasDeadline)
	b.mu.Unlock()
	b.started <- ref
	<-b.release
	b.mu.Lock()
	b.inFlight--
	b.mu.Unlock()
	return image("sha256:" + ref), nil
}

func TestAnalyzeConcurrencyPerAnalysis(t *testing.T) {
	tests := []struct {
		name       string
		opts       []Option
		images     int
		wantPeak   int
		wantBounds bool // lookups carry a deadline of their own
	}{
		{name: "default: eight images at once", images: 10, wantPeak: 8},
		{name: "bounded to two", opts: []Option{WithConcurrency(2)}, images: 5, wantPeak: 2},
		{name: "fewer images than the bound", opts: []Option{WithConcurrency(4)}, images: 3, wantPeak: 3},
		{name: "lookup timeout", opts: []Option{WithLookupTimeout(time.Hour)}, images: 1, wantPeak: 1, wantBounds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &blockingInspector{release: make(chan struct{}), started: make(chan string, tt.images)}
			spec := &corev1.PodSpec{}
			for k := range tt.images {
				spec.Containers = append(spec.Containers, corev1.Container{Name: fmt.Sprint("c", k), Image: fmt.Sprint("img", k)})
			}
			done := make(chan Result)
			go func() { done <- New(in, tt.opts...).Analyze(context.Background(), spec) }()
			// Once the bound's worth of lookups started, no other may
			// start until one ends.
			for range tt.wantPeak {
				<-in.started
			}
			close(in.release)
			res := <-done
			if len(res.Errors) != 0 || len(res.Images) != tt.images {
				t.Fatalf("errors %v, images %d; want none and %d", res.Errors, len(res.Images), tt.images)
			}
			if in.peak != tt.wantPeak {
				t.Errorf("peak lookups in flight = %d, want %d", in.peak, tt.wantPeak)
			}
			for _, d := range in.deadline {
				if d != tt.wantBounds {
					t.Errorf("lookup deadline set = %v, want %v", d, tt.wantBounds)
				}
			}
		})
	}
}

func archAffinity(archs ...string) corev1.PodSpec {
	return corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: policy.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: archs}},
		}}},
	}}}
}

// keychains is a KeychainSource that gives kc, or fails with err.
type keychains struct {
	kc  authn.Keychain
	err error
}

func (k keychains) Keychain(context.Context, string, *corev1.PodSpec) (authn.Keychain, error) {
	return k.kc, k.err
}

func TestAnalyzePod(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: "zookeeper:3.4.13"}}}
	forbidden := errors.New(`reading pull secret ns/regcred: secrets "regcred" is forbidden`)
	tests := []struct {
		name        string
		secrets     KeychainSource
		opts        []AnalyzeOption
		wantOptions int // passed to the Inspector
		wantErr     error
	}{
		{name: "no source: the Inspector's own credentials", wantOptions: 0},
		{name: "the pod's keychain", secrets: keychains{kc: authn.NewMultiKeychain()}, wantOptions: 1},
		{name: "the pod's keychain and a tenant", secrets: keychains{kc: authn.NewMultiKeychain()}, opts: []AnalyzeOption{ForTenant("ns")}, wantOptions: 2},
		{name: "unreadable secrets: read with the Inspector's own, saying why", secrets: keychains{err: forbidden}, wantOptions: 0, wantErr: forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeInspector{images: map[string]*imageinspect.Image{"zookeeper:3.4.13": image("sha256:zk", "/data")}}
			res := New(in).AnalyzePod(context.Background(), "ns", spec, tt.secrets, tt.opts...)
			if len(res.Findings) != 1 || len(res.Errors) != 0 {
				t.Errorf("findings %v, errors %v; want /data and no error", res.Findings, res.Errors)
			}
			if !reflect.DeepEqual(in.options, []int{tt.wantOptions}) {
				t.Errorf("options per call %v, want [%d]", in.options, tt.wantOptions)
			}
			if res.CredentialsErr != tt.wantErr {
				t.Errorf("CredentialsErr = %v, want %v", res.CredentialsErr, tt.wantErr)
			}
		})
	}
}
