package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/authn"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

func pullSecret(ns, name, host, pass string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil,
			`{"auths":{%q:{"username":%q,"password":%q}}}`, host, regUser, pass)},
	}
}

// pullSecretsEnv is a handler pair whose Keychains come from informers over
// a fake clientset, reading a private in-process registry with a real
// Inspector whose own credentials are anonymous.
type pullSecretsEnv struct {
	cfg    HandlerConfig
	client *fake.Clientset
	image  string // private, declares VOLUME /data
	logs   *syncbuffer.Buffer
}

func newPullSecretsEnv(t *testing.T, enabled bool) *pullSecretsEnv {
	t.Helper()
	host := startRegistry(t, true)
	e := &pullSecretsEnv{image: host + "/private/zk:1", logs: &syncbuffer.Buffer{}}
	pushImage(t, e.image, "/data")
	e.client = fake.NewClientset([]runtime.Object{
		pullSecret("team", "regcred", host, regPass),
		pullSecret("team", "sa-cred", host, regPass),
		pullSecret("team", "stale", host, "an-old-password"),
		pullSecret("other", "regcred", host, regPass), // another namespace's: never used for team
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-cred"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "default"}},
	}...)

	log := funcr.New(func(prefix, args string) { fmt.Fprintln(e.logs, prefix, args) }, funcr.Options{Verbosity: 1})
	shared := informers.NewSharedInformerFactory(e.client, 0)
	src, secrets := pullSecretsSource(e.client, shared, enabled, anonymous, log)
	if (secrets != nil) != enabled {
		t.Fatalf("secrets factory %v with pull secrets enabled=%v", secrets, enabled)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		shared.Shutdown()
		if secrets != nil {
			secrets.Shutdown()
		}
	})
	shared.Start(ctx.Done())
	shared.WaitForCacheSync(ctx.Done())
	if secrets != nil {
		secrets.Start(ctx.Done())
		secrets.WaitForCacheSync(ctx.Done())
	}
	if !src.HasSynced() {
		t.Fatal("the pull-secret source has not synced")
	}
	inspector := newInspector(t, imageinspect.WithKeychain(anonymous), imageinspect.WithTagTTL(5*time.Minute))
	e.cfg = HandlerConfig{
		Analyzer:         analysis.New(inspector),
		Namespaces:       fakeNamespaces{"team": namespace("team", nil, nil)},
		DefaultMode:      ModeEnforce,
		DefaultSizeLimit: resource.MustParse("1Gi"),
		OnRegistryError:  AllowOnRegistryError,
		Keychains:        src,
		Metrics:          NewMetrics(),
	}
	return e
}

func privatePod(image, serviceAccount string, secrets ...string) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team"},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: image}},
		},
	}
	for _, s := range secrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return pod
}

// TestPullSecrets: each pod's images are read with its own pull secrets and
// its service account's, never with another pod's. In mode enforce, a pod
// whose credentials read the image is denied for its VOLUME /data; one
// whose credentials do not is allowed with an "unauthorized" warning
// (--on-registry-error allow).
func TestPullSecrets(t *testing.T) {
	e := newPullSecretsEnv(t, true)
	tests := []struct {
		name string
		obj  any
		kind metav1.GroupVersionKind
		read bool // the image was read: a /data finding, not an error
	}{
		{name: "pod imagePullSecrets", obj: privatePod(e.image, "", "regcred"), kind: podKind, read: true},
		{name: "no pull secret after one that had it", obj: privatePod(e.image, ""), kind: podKind},
		{name: "service account imagePullSecrets", obj: privatePod(e.image, "builder"), kind: podKind, read: true},
		{name: "missing secret skipped, next one used", obj: privatePod(e.image, "", "nope", "regcred"), kind: podKind, read: true},
		{name: "missing secret only", obj: privatePod(e.image, "", "nope"), kind: podKind},
		{name: "refused credentials", obj: privatePod(e.image, "", "stale"), kind: podKind},
		{name: "deployment template imagePullSecrets", obj: deploymentWithSecret(e.image, "regcred"), kind: deploymentKind, read: true},
		{name: "deployment without", obj: deploymentWithSecret(e.image), kind: deploymentKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := NewHandler(e.cfg, Validating).Handle(context.Background(), request(t, admissionv1.Create, tt.kind, "team", tt.obj, nil))
			if tt.read {
				if resp.Allowed || !strings.Contains(resultMessage(resp), "/data") || strings.Contains(resultMessage(resp), "could not check") {
					t.Errorf("allowed %v, message %q, warnings %q; want denied for /data", resp.Allowed, resultMessage(resp), resp.Warnings)
				}
				return
			}
			if !resp.Allowed || !hasWarning(resp.Warnings, e.image, "(unauthorized)") {
				t.Errorf("allowed %v, message %q, warnings %q; want allowed, warning that the image is unauthorized", resp.Allowed, resultMessage(resp), resp.Warnings)
			}
		})
	}
	if strings.Contains(e.logs.String(), regPass) || strings.Contains(e.logs.String(), "an-old-password") {
		t.Errorf("a password was logged:\n%s", e.logs)
	}
}

// TestPullSecretsDisabled: --pull-secrets=false reads no Secret and no
// ServiceAccount, so RBAC need not allow it; pods get the webhook's own
// (here anonymous) credentials.
func TestPullSecretsDisabled(t *testing.T) {
	e := newPullSecretsEnv(t, false)
	resp := NewHandler(e.cfg, Validating).Handle(context.Background(), request(t, admissionv1.Create, podKind, "team", privatePod(e.image, "builder", "regcred"), nil))
	if !resp.Allowed || !hasWarning(resp.Warnings, e.image, "(unauthorized)") {
		t.Errorf("allowed %v, warnings %q; want allowed, warning that the image is unauthorized", resp.Allowed, resp.Warnings)
	}
	for _, a := range e.client.Actions() {
		if r := a.GetResource().Resource; r == "secrets" || r == "serviceaccounts" {
			t.Errorf("read %s with pull secrets disabled: %s", r, a.GetVerb())
		}
	}
}

// failingKeychains fails like a Source whose secret cannot be parsed.
type failingKeychains struct{}

func (*failingKeychains) Keychain(context.Context, string, *corev1.PodSpec) (authn.Keychain, error) {
	return nil, fmt.Errorf("reading the pull secrets of namespace team: not valid docker config JSON")
}

// TestKeychainErrorFallsBack: a keychain that cannot be built leaves the
// webhook's own credentials, not a failed request.
func TestKeychainErrorFallsBack(t *testing.T) {
	env := newEnv(ModeEnforce, nil)
	env.cfg.Keychains = &failingKeychains{}
	resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil))
	if resp.Allowed || !strings.Contains(resultMessage(resp), "/datalog") {
		t.Errorf("allowed %v, message %q; want the zookeeper pod denied as without Keychains", resp.Allowed, resultMessage(resp))
	}
}

func deploymentWithSecret(image string, secrets ...string) map[string]any {
	d := deployment(image, nil, 1)
	d["metadata"].(map[string]any)["namespace"] = "team"
	spec := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	var refs []any
	for _, s := range secrets {
		refs = append(refs, map[string]any{"name": s})
	}
	spec["imagePullSecrets"] = refs
	return d
}

// TestRunWithoutPullSecrets: --pull-secrets=false starts no Secret or
// ServiceAccount informer, so readiness does not wait for one.
func TestRunWithoutPullSecrets(t *testing.T) {
	certFile, keyFile := writeCert(t, t.TempDir(), 1)
	logs := &syncbuffer.Buffer{}
	cfg := runConfig(t, certFile, keyFile, logs)
	cfg.PullSecrets = false
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	_, metricsAddr := waitServing(t, logs)
	if status, body := get(t, "http://"+metricsAddr+"/readyz"); status != http.StatusServiceUnavailable || strings.Contains(body, "pull-secret") {
		t.Errorf("/readyz: %d %s, want 503 for the namespaces only", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}
