package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/volumeguard/volumeguard/pullsecrets"
)

func dockerSecret(name, registry, user string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":pw"))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, registry, auth)},
	}
}

// userFor says whose credentials kc offers for repo ("" for anonymous).
func userFor(t *testing.T, kc authn.Keychain, repo string) string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kc.Resolve(r)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username
}

func TestPullSecrets(t *testing.T) {
	client := fake.NewClientset(
		dockerSecret("own", "pod.example", "pod-user"),
		dockerSecret("sa-cred", "sa.example", "sa-user"),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "builder"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-cred"}}},
	)
	source := PullSecrets(client, pullsecrets.WithFallback(authn.NewMultiKeychain()))
	spec := &corev1.PodSpec{ServiceAccountName: "builder", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "own"}, {Name: "missing"}}}

	for range 2 {
		kc, err := source.Keychain(context.Background(), ns, spec)
		if err != nil {
			t.Fatal(err)
		}
		for repo, want := range map[string]string{"pod.example/a": "pod-user", "sa.example/b": "sa-user", "other.example/c": ""} {
			if got := userFor(t, kc, repo); got != want {
				t.Errorf("credentials for %s: user %q, want %q", repo, got, want)
			}
		}
	}
	// Each object once per run, the missing secret too.
	if gets := countVerb(client, "get"); gets != 4 {
		t.Errorf("%d GETs, want 4: own, missing, sa-cred and the service account, each once", gets)
	}
}

func TestPullSecretsForbidden(t *testing.T) {
	client := fake.NewClientset(dockerSecret("own", "pod.example", "pod-user"))
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "own", nil)
	})
	spec := &corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "own"}}}
	_, err := PullSecrets(client).Keychain(context.Background(), ns, spec)
	if err == nil || !strings.Contains(err.Error(), "team-a/own") || !apierrors.IsForbidden(err) {
		t.Errorf("err = %v, want the forbidden secret named", err)
	}

	// Run still reads the images, with its own credentials, and says so.
	client = fake.NewClientset(pod("web", podOpts{node: "n", phase: corev1.PodRunning}, nil, "web=registry.local:5000/nginx:1"))
	client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "default", nil)
	})
	r, in := run(t, client, Options{Keychains: PullSecrets(client)})
	if len(in.calls) != 1 || len(r.Problems) != 0 || r.ExitCode() != 0 {
		t.Errorf("inspected %v, errors %v: want the image read anyway", in.calls, r.Problems)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "pull secrets not read") {
		t.Errorf("notes = %q, want one about the pull secrets", r.Notes)
	}
}
