package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

const (
	zkImage   = "zookeeper:3.4.13"
	zkImage35 = "zookeeper:3.5.9"
	plainImg  = "busybox:1.36"
	debugImg  = "debugger:1"
)

// fakeInspector serves declared volumes from a map and counts lookups.
// Images it does not know are not found; errs makes an image fail; block
// makes every lookup wait for its context, like a registry that hangs.
type fakeInspector struct {
	volumes map[string][]string
	errs    map[string]error
	block   bool

	mu    sync.Mutex
	calls int
	// left is, for each blocked lookup, how long its context had left when
	// it began (0 without a deadline).
	left []time.Duration
}

func newFakeInspector() *fakeInspector {
	return &fakeInspector{volumes: map[string][]string{
		zkImage:   {"/data", "/datalog", "/logs"},
		zkImage35: {"/data", "/datalog", "/logs"},
		plainImg:  {},
		debugImg:  {"/cache"},
	}}
}

func (f *fakeInspector) Inspect(ctx context.Context, ref string, _ *imageinspect.Platform, _ ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.block {
		var left time.Duration
		if deadline, ok := ctx.Deadline(); ok {
			left = time.Until(deadline)
		}
		f.mu.Lock()
		f.left = append(f.left, left)
		f.mu.Unlock()
		<-ctx.Done()
		return nil, fmt.Errorf("reading manifest %q: %w", ref, ctx.Err())
	}
	if err := f.errs[ref]; err != nil {
		return nil, err
	}
	vols, ok := f.volumes[ref]
	if !ok {
		return nil, fmt.Errorf("reading manifest %q: %w", ref, imageinspect.ErrNotFound)
	}
	return &imageinspect.Image{
		Reference: ref,
		Digest:    "sha256:0123",
		Platforms: []imageinspect.PlatformVolumes{{Platform: imageinspect.Platform{OS: "linux", Architecture: "amd64"}, Volumes: vols}},
	}, nil
}

func (f *fakeInspector) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeNamespaces is a NamespaceGetter over a map.
type fakeNamespaces map[string]*corev1.Namespace

func (f fakeNamespaces) GetNamespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := f[name]; ok {
		return ns, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
}

func namespace(name string, labels, annotations map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}
}

// testEnv is a handler pair over one fake inspector.
type testEnv struct {
	inspector *fakeInspector
	cfg       HandlerConfig
}

func newEnv(mode Mode, namespaces fakeNamespaces) *testEnv {
	if namespaces == nil {
		namespaces = fakeNamespaces{"default": namespace("default", nil, nil)}
	}
	in := newFakeInspector()
	return &testEnv{inspector: in, cfg: HandlerConfig{
		Analyzer:         analysis.New(in),
		Namespaces:       namespaces,
		DefaultMode:      mode,
		DefaultSizeLimit: resource.MustParse("1Gi"),
		OnRegistryError:  AllowOnRegistryError,
		Metrics:          NewMetrics(),
	}}
}

func (e *testEnv) handle(t *testing.T, endpoint Endpoint, req admission.Request) admission.Response {
	t.Helper()
	return NewHandler(e.cfg, endpoint).Handle(context.Background(), req)
}

func zkPod(annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "zk-0", Namespace: "default", Annotations: annotations},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{
				{Name: "zk", Image: zkImage, VolumeMounts: []corev1.VolumeMount{{Name: "conf", MountPath: "/conf"}}},
				{Name: "sidecar", Image: plainImg},
			},
			Volumes: []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
}

var (
	podKind        = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploymentKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	cronJobKind    = metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is an admission request as the API server sends it.
func request(t testing.TB, op admissionv1.Operation, kind metav1.GroupVersionKind, ns string, obj, old any) admission.Request {
	t.Helper()
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "7f9a-uid",
		Kind:      kind,
		Resource:  metav1.GroupVersionResource{Group: kind.Group, Version: kind.Version, Resource: strings.ToLower(kind.Kind) + "s"},
		Namespace: ns,
		Operation: op,
		Object:    runtime.RawExtension{Raw: mustJSON(t, obj)},
	}}
	if old != nil {
		req.OldObject = runtime.RawExtension{Raw: mustJSON(t, old)}
	}
	return req
}

// applyPatch applies the response's JSON patch to raw.
func applyPatch(t *testing.T, raw []byte, resp admission.Response) []byte {
	t.Helper()
	patch, err := jsonpatch.DecodePatch(mustJSON(t, resp.Patches))
	if err != nil {
		t.Fatalf("decoding patch: %v", err)
	}
	out, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("applying patch %s: %v", mustJSON(t, resp.Patches), err)
	}
	return out
}

func hasWarning(warnings []string, parts ...string) bool {
	for _, w := range warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return true
		}
	}
	return false
}

func resultMessage(resp admission.Response) string {
	if resp.Result == nil {
		return ""
	}
	return resp.Result.Message
}

func contextDeadlineExceeded() error { return context.DeadlineExceeded }

// counterValue reads a counter (prometheus/testutil would need a module
// the project does not otherwise use).
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
