package pullsecrets

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// dockerConfigJSON is a kubernetes.io/dockerconfigjson secret for registry.
func dockerConfigJSON(ns, secretName, registry, user, pass string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil,
			`{"auths":{%q:{"username":%q,"password":%q}}}`, registry, user, pass)},
	}
}

func serviceAccount(ns, saName string, secrets ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: saName}}
	for _, s := range secrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return sa
}

func pullSecrets(names ...string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, n := range names {
		out = append(out, corev1.LocalObjectReference{Name: n})
	}
	return out
}

// fallbackUser is what the fallback keychain answers everywhere.
var fallback = staticKeychain{user: "webhook", pass: "own"}

type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

// startSource runs the informers of a Source over a fake clientset.
func startSource(t *testing.T, objs []runtime.Object, opts ...Option) (*Source, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	secrets := SecretsFactory(client, 0)
	accounts := informers.NewSharedInformerFactory(client, 0)
	src := NewFromFactories(secrets, accounts, append([]Option{WithFallback(fallback)}, opts...)...)
	if src.HasSynced() {
		t.Error("HasSynced before the informers started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		secrets.Shutdown()
		accounts.Shutdown()
	})
	secrets.Start(ctx.Done())
	accounts.Start(ctx.Done())
	secrets.WaitForCacheSync(ctx.Done())
	accounts.WaitForCacheSync(ctx.Done())
	if !src.HasSynced() {
		t.Fatal("HasSynced false after the caches synced")
	}
	return src, client
}

// userFor resolves image with kc and returns the user name it got ("" for anonymous).
func userFor(t *testing.T, kc authn.Keychain, image string) string {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authn.Resolve(context.Background(), kc, ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := authn.Authorization(context.Background(), auth)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username
}

func TestKeychain(t *testing.T) {
	objs := []runtime.Object{
		dockerConfigJSON("team", "pod-secret", "private.example", "pod-user", "p1"),
		dockerConfigJSON("team", "sa-secret", "private.example", "sa-user", "p2"),
		dockerConfigJSON("team", "sa-only", "other.example:5000", "sa-other", "p3"),
		dockerConfigJSON("team", "hub", "docker.io", "hub-user", "p4"),
		dockerConfigJSON("team", "hub-v1", "https://index.docker.io/v1/", "hub-v1-user", "p5"),
		dockerConfigJSON("elsewhere", "pod-secret", "private.example", "wrong-namespace", "p6"),
		&corev1.Secret{ // legacy format
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "legacy"},
			Type:       corev1.SecretTypeDockercfg,
			Data: map[string][]byte{corev1.DockerConfigKey: fmt.Appendf(nil, `{"legacy.example":{"auth":%q}}`,
				base64.StdEncoding.EncodeToString([]byte("legacy-user:p7")))},
		},
		serviceAccount("team", "default", "sa-only"),
		serviceAccount("team", "builder", "sa-secret", "sa-only"),
	}
	src, _ := startSource(t, objs)

	for _, tc := range []struct {
		name  string
		ns    string
		spec  corev1.PodSpec
		image string
		want  string
	}{
		{name: "pod secret", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")}, image: "private.example/app:1", want: "pod-user"},
		{name: "default service account's secret", ns: "team", image: "other.example:5000/app:1", want: "sa-other"},
		{name: "named service account's secret", ns: "team", spec: corev1.PodSpec{ServiceAccountName: "builder"}, image: "private.example/app:1", want: "sa-user"},
		{name: "deprecated serviceAccount field", ns: "team", spec: corev1.PodSpec{DeprecatedServiceAccount: "builder"}, image: "private.example/app:1", want: "sa-user"},
		{name: "the pod's secret before the service account's", ns: "team", spec: corev1.PodSpec{ServiceAccountName: "builder", ImagePullSecrets: pullSecrets("pod-secret")}, image: "private.example/app:1", want: "pod-user"},
		{name: "no matching secret: the fallback", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")}, image: "public.example/app:1", want: "webhook"},
		{name: "a secret of another namespace is not used", ns: "team", image: "private.example/app:1", want: "webhook"},
		{name: "missing secrets are skipped", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("gone", "pod-secret")}, image: "private.example/app:1", want: "pod-user"},
		{name: "missing service account is skipped", ns: "team", spec: corev1.PodSpec{ServiceAccountName: "gone", ImagePullSecrets: pullSecrets("pod-secret")}, image: "private.example/app:1", want: "pod-user"},
		{name: "namespace without anything", ns: "empty", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")}, image: "private.example/app:1", want: "webhook"},
		{name: "docker.io secret serves Docker Hub", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("hub")}, image: "nginx", want: "hub-user"},
		{name: "index.docker.io/v1/ secret serves Docker Hub", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("hub-v1")}, image: "bitnami/redis:7", want: "hub-v1-user"},
		{name: "legacy dockercfg secret", ns: "team", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("legacy")}, image: "legacy.example/app:1", want: "legacy-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := src.Keychain(context.Background(), tc.ns, &tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := userFor(t, kc, tc.image); got != tc.want {
				t.Errorf("user = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeychainSkipsUnusableSecretsWithoutShowingThem(t *testing.T) {
	var mu sync.Mutex
	var logs strings.Builder
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(args + "\n")
	}, funcr.Options{Verbosity: 1})
	objs := []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "broken"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"private.example":{"password":"hunter2"`)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "opaque"}, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"password": []byte("hunter2")}},
		dockerConfigJSON("team", "good", "private.example", "good-user", "hunter3"),
	}
	// Opaque secrets are filtered out by the informer already; give the
	// Source a lister that has it to see it refused on its own.
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	src := New(f.Core().V1().Secrets().Lister(), f.Core().V1().ServiceAccounts().Lister(), WithFallback(fallback), WithLogger(logger))
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.Shutdown() }()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())

	kc, err := src.Keychain(ctx, "team", &corev1.PodSpec{ImagePullSecrets: pullSecrets("broken", "opaque", "good")})
	if err != nil {
		t.Fatal(err)
	}
	if got := userFor(t, kc, "private.example/app:1"); got != "good-user" {
		t.Errorf("user = %q, want the one good secret's", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"team/broken", "not valid JSON", "team/opaque", "its type is Opaque"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not say %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "hunter") {
		t.Errorf("logs show a secret:\n%s", logs.String())
	}
}

func TestKeychainReadsCachesOnly(t *testing.T) {
	src, client := startSource(t, []runtime.Object{
		dockerConfigJSON("team", "pod-secret", "private.example", "pod-user", "p1"),
		serviceAccount("team", "default"),
	})
	before := len(client.Actions())
	for range 100 {
		if _, err := src.Keychain(context.Background(), "team", &corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")}); err != nil {
			t.Fatal(err)
		}
	}
	// The informers' own watches may open after they report synced; what
	// must not happen is a read per keychain.
	var reads []string
	for _, a := range client.Actions()[before:] {
		if a.GetVerb() != "watch" {
			reads = append(reads, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	if len(reads) != 0 {
		t.Errorf("100 keychains sent %d API requests %v, want 0", len(reads), reads)
	}
}

func TestKeychainSeesUpdates(t *testing.T) {
	src, client := startSource(t, nil)
	spec := &corev1.PodSpec{ImagePullSecrets: pullSecrets("later")}
	kc, _ := src.Keychain(context.Background(), "team", spec)
	if got := userFor(t, kc, "private.example/app:1"); got != "webhook" {
		t.Fatalf("before the secret exists: %q, want the fallback", got)
	}
	_, err := client.CoreV1().Secrets("team").Create(context.Background(), dockerConfigJSON("team", "later", "private.example", "new-user", "p"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		kc, _ = src.Keychain(context.Background(), "team", spec)
		if userFor(t, kc, "private.example/app:1") == "new-user" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the new secret was never used")
}

func TestDisabled(t *testing.T) {
	src := Disabled(WithFallback(fallback))
	kc, err := src.Keychain(context.Background(), "team", &corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")})
	if err != nil {
		t.Fatal(err)
	}
	if got := userFor(t, kc, "private.example/app:1"); got != "webhook" || !src.HasSynced() {
		t.Errorf("user %q, synced %v; want the fallback and true", got, src.HasSynced())
	}
}

func TestTrimSecret(t *testing.T) {
	s := dockerConfigJSON("team", "s", "private.example", "u", "p")
	s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
	s.Data["other"] = []byte("x")
	s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	got, err := trimSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	ts := got.(*corev1.Secret)
	if len(ts.Annotations) != 0 || len(ts.ManagedFields) != 0 || len(ts.Data) != 1 || ts.Type != s.Type || ts.Name != "s" || ts.Namespace != "team" {
		t.Errorf("trimmed = %+v, want name, namespace, type and the docker config only", ts)
	}
}
