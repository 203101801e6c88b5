package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/pullsecrets"
)

func pullSecret(ns, secretName, registry, user, pass string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil,
			`{"auths":{%q:{"username":%q,"password":%q}}}`, registry, user, pass)},
	}
}

// startPullSecrets runs pullsecrets over informers of a fake API server
// holding objs, as the webhook runs it over the real one.
func startPullSecrets(t *testing.T, objs ...runtime.Object) *pullsecrets.Source {
	t.Helper()
	client := fake.NewClientset(objs...)
	secrets := pullsecrets.SecretsFactory(client, 0)
	accounts := informers.NewSharedInformerFactory(client, 0)
	// The webhook's own credentials: none here.
	src := pullsecrets.NewFromFactories(secrets, accounts, pullsecrets.WithFallback(authn.NewMultiKeychain()))
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
		t.Fatal("pull secret caches did not sync")
	}
	return src
}

func TestPullSecrets(t *testing.T) {
	cert := newTestCert(t)
	reg := startRegistry(t, cert)
	reg.push(t, "team/private:1", "/var/lib/data")
	image := reg.host + "/team/private:1"

	src := startPullSecrets(t,
		pullSecret("team-a", "regcred", reg.host, regUser, regPass),
		pullSecret("team-a", "stale", reg.host, regUser, "not-the-password"),
		pullSecret("team-b", "regcred", reg.host, regUser, regPass),
		pullSecret("team-c", "sa-cred", reg.host, regUser, regPass),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-c", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-cred"}}},
	)
	// The webhook's Inspector: its own keychain knows nothing.
	in := newInspector(t, imageinspect.WithRegistryCAs(cert.pool), imageinspect.WithKeychain(authn.NewMultiKeychain()), imageinspect.WithTagTTL(5*time.Minute))
	analyzer := analysis.New(in)

	for _, tc := range []struct {
		name    string
		ns      string
		spec    corev1.PodSpec
		allowed bool
	}{
		{name: "a pull secret in the pod's namespace", ns: "team-a", spec: corev1.PodSpec{ImagePullSecrets: refs("regcred")}, allowed: true},
		{name: "a wrong password", ns: "team-a", spec: corev1.PodSpec{ImagePullSecrets: refs("stale")}},
		{name: "the service account's pull secret", ns: "team-c", spec: corev1.PodSpec{ServiceAccountName: "builder"}, allowed: true},
		{name: "a pull secret of another namespace", ns: "team-c", spec: corev1.PodSpec{ImagePullSecrets: refs("regcred")}},
		{name: "a missing pull secret", ns: "team-a", spec: corev1.PodSpec{ImagePullSecrets: refs("gone")}},
		{name: "no pull secret", ns: "team-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Containers = []corev1.Container{{Name: "app", Image: image}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			kc, err := src.Keychain(ctx, tc.ns, &tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			res := analyzer.Analyze(ctx, &tc.spec, analysis.WithKeychain(kc))
			if tc.allowed {
				if len(res.Errors) != 0 || len(res.Findings) != 1 || res.Findings[0].Path != "/var/lib/data" {
					t.Fatalf("findings %v, errors %v; want the /var/lib/data finding", res.Findings, res.Errors)
				}
				return
			}
			if len(res.Errors) != 1 {
				t.Fatalf("errors = %v, want one", res.Errors)
			}
			assertErr(t, res.Errors[0], imageinspect.ErrUnauthorized, image, "unauthorized", "imagePullSecrets", reg.host)
			assertNoSecret(t, res.Errors[0].Error())
		})
	}

	t.Run("pull secrets disabled", func(t *testing.T) {
		spec := &corev1.PodSpec{ImagePullSecrets: refs("regcred"), Containers: []corev1.Container{{Name: "app", Image: image}}}
		kc, _ := pullsecrets.Disabled(pullsecrets.WithFallback(authn.NewMultiKeychain())).Keychain(context.Background(), "team-a", spec)
		res := analyzer.Analyze(context.Background(), spec, analysis.WithKeychain(kc))
		if len(res.Errors) != 1 {
			t.Fatalf("errors = %v, want one", res.Errors)
		}
		assertErr(t, res.Errors[0], imageinspect.ErrUnauthorized)
	})
}

func refs(names ...string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, n := range names {
		out = append(out, corev1.LocalObjectReference{Name: n})
	}
	return out
}

// assertNoSecret fails if msg shows the password, in clear or as basic auth.
func assertNoSecret(t *testing.T, msg string) {
	t.Helper()
	for _, secret := range []string{
		regPass, "not-the-password",
		base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass)),
		base64.StdEncoding.EncodeToString([]byte(regUser + ":not-the-password")),
	} {
		if strings.Contains(msg, secret) {
			t.Errorf("message shows a credential: %s", msg)
		}
	}
}

// assertErr checks that err is kind and that its message says each of says.
func assertErr(t *testing.T, err, kind error, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	if !errorsIs(err, kind) {
		t.Errorf("error %q is not %q", err, kind)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}
