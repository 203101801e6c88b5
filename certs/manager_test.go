package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// checkInstalled asserts what every replica relies on and returns the Secret's data:
// the Secret holds a serving certificate for the Service, the files in dir are
// the Secret's, and every webhook trusts its CA.
func checkInstalled(t *testing.T, cs *fake.Clientset, dir string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	secret, err := cs.CoreV1().Secrets(testNamespace).Get(ctx, testSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type = %q, want %q", secret.Type, corev1.SecretTypeTLS)
	}
	for file, key := range map[string]string{CertFile: corev1.TLSCertKey, KeyFile: corev1.TLSPrivateKeyKey, CACertFile: caCertKey} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, secret.Data[key]) {
			t.Errorf("%s differs from the Secret's %s", file, key)
		}
	}
	bundle := secret.Data[caCertKey]
	mwc, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, testWebhooks, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, testWebhooks, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var configs []admissionregistrationv1.WebhookClientConfig
	for _, w := range mwc.Webhooks {
		configs = append(configs, w.ClientConfig)
	}
	for _, w := range vwc.Webhooks {
		configs = append(configs, w.ClientConfig)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		t.Fatal("ca.crt holds no certificate")
	}
	for i, c := range configs {
		if !bytes.Equal(c.CABundle, bundle) {
			t.Errorf("webhook %d: caBundle is not the Secret's ca.crt", i)
		}
		if c.Service == nil || c.Service.Name != testService {
			t.Errorf("webhook %d: clientConfig.service changed to %+v", i, c.Service)
		}
	}
	leaf := mustCert(t, secret.Data[corev1.TLSCertKey])
	for _, name := range ServiceDNSNames(testService, testNamespace) {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: leaf.NotBefore.Add(2 * clockSkew),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", name, err)
		}
	}
	return secret.Data
}

func countWrites(cs *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range writes(cs) {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func TestManagerCreatesSecretWritesFilesAndInjectsCABundle(t *testing.T) {
	cs := newFakeClient()
	cfg := testConfig(t, cs, nil)
	m := newTestManager(t, cfg)
	if ready(m) {
		t.Fatal("ready before the first reconciliation")
	}
	if err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkInstalled(t, cs, cfg.CertDir)
	if !ready(m) {
		t.Error("Ready not closed after the files were written")
	}
	info, err := os.Stat(filepath.Join(cfg.CertDir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("tls.key mode = %v, want 0600", info.Mode().Perm())
	}
	if n := countWrites(cs, "create", "secrets"); n != 1 {
		t.Errorf("%d Secret creates, want 1", n)
	}
	if n := countWrites(cs, "patch", "mutatingwebhookconfigurations") + countWrites(cs, "patch", "validatingwebhookconfigurations"); n != 2 {
		t.Errorf("%d webhook configuration patches, want one per configuration", n)
	}
}

func TestManagerSecondPassWritesNothing(t *testing.T) {
	cs := newFakeClient()
	cfg := testConfig(t, cs, nil)
	m := newTestManager(t, cfg)
	ctx := context.Background()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(cfg.CertDir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	// A restarted replica, with an empty certificate directory: files only.
	restarted := newTestManager(t, testConfig(t, cs, nil))
	if err := restarted.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if w := writes(cs); len(w) != 0 {
		t.Errorf("second passes wrote to the API: %v", w)
	}
	after, err := os.Stat(filepath.Join(cfg.CertDir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("tls.crt was rewritten although unchanged: certwatcher would reload for nothing")
	}
	entries, err := os.ReadDir(cfg.CertDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("certificate directory holds %d entries, want tls.crt, tls.key and ca.crt only", len(entries))
	}
	checkInstalled(t, cs, restarted.cfg.CertDir)
}

func TestManagersRacingConvergeOnOneSecret(t *testing.T) {
	cs := newFakeClient()
	// Both replicas read "no Secret" before either creates one.
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	client := &hookedClient{Interface: cs, afterGet: func(n int) {
		if n <= 2 {
			bothRead.Done()
			bothRead.Wait()
		}
	}}
	managers := []*Manager{newTestManager(t, testConfig(t, client, nil)), newTestManager(t, testConfig(t, client, nil))}
	errs := make([]error, len(managers))
	var done sync.WaitGroup
	for i, m := range managers {
		done.Go(func() { errs[i] = m.reconcile(context.Background()) })
	}
	done.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := countWrites(cs, "create", "secrets"); n != 2 {
		t.Errorf("%d Secret creates, want 2: the test must make both replicas try", n)
	}
	if n := countWrites(cs, "update", "secrets"); n != 0 {
		t.Errorf("%d Secret updates, want 0: the loser adopts the winner's Secret", n)
	}
	for _, m := range managers {
		checkInstalled(t, cs, m.cfg.CertDir)
	}
}

func TestManagerRetriesCABundleConflict(t *testing.T) {
	cs := newFakeClient()
	conflicts := 1
	cs.PrependReactor("patch", "mutatingwebhookconfigurations", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), testWebhooks, errors.New("modified"))
		}
		return false, nil, nil
	})
	cfg := testConfig(t, cs, nil)
	if err := newTestManager(t, cfg).reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkInstalled(t, cs, cfg.CertDir)
	if n := countWrites(cs, "patch", "mutatingwebhookconfigurations"); n != 2 {
		t.Errorf("%d patches of the MutatingWebhookConfiguration, want 2 (one conflict, one retry)", n)
	}
}

func TestManagerReportsForbiddenCABundle(t *testing.T) {
	cs := newFakeClient()
	cs.PrependReactor("patch", "validatingwebhookconfigurations", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(a.GetResource().GroupResource(), testWebhooks, errors.New("RBAC"))
	})
	m := newTestManager(t, testConfig(t, cs, nil))
	err := m.reconcile(context.Background())
	if want := `updating caBundle of ValidatingWebhookConfiguration "guard-webhooks"`; err == nil || !strings.Contains(err.Error(), want) || !apierrors.IsForbidden(err) {
		t.Fatalf("error = %v, want a wrapped Forbidden starting %q", err, want)
	}
	if ready(m) {
		t.Error("ready although the API server cannot be told the CA")
	}
}

func TestManagerRunFollowsWatchedChanges(t *testing.T) {
	cs := fake.NewClientset() // no webhook configurations yet
	withResourceVersions(cs)
	cfg := testConfig(t, cs, nil)
	m := newTestManager(t, cfg) // CheckInterval is an hour: only watch events can trigger below
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-m.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready after 10s")
	}

	// A webhook configuration created after start gets the CA.
	_, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testWebhooks},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "late.guard.io"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "caBundle injected into a configuration created later", func() bool {
		c, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, testWebhooks, metav1.GetOptions{})
		return err == nil && len(c.Webhooks[0].ClientConfig.CABundle) > 0
	})

	// A deleted Secret is created again and the files follow.
	old, err := os.ReadFile(filepath.Join(cfg.CertDir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Secrets(testNamespace).Delete(ctx, testSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Secret recreated and written to the files", func() bool {
		s, err := cs.CoreV1().Secrets(testNamespace).Get(ctx, testSecret, metav1.GetOptions{})
		if err != nil {
			return false
		}
		files, err := os.ReadFile(filepath.Join(cfg.CertDir, CertFile))
		return err == nil && !bytes.Equal(files, old) && bytes.Equal(files, s.Data[corev1.TLSCertKey])
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewManager(t *testing.T) {
	_, err := NewManager(Config{RenewFraction: 1})
	for _, want := range []string{"Namespace is empty", "SecretName is empty", "ServiceName is empty", "CertDir is empty", "Client is nil", "RenewFraction 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to mention %q", err, want)
		}
	}
	m := newTestManager(t, testConfig(t, fake.NewClientset(), nil))
	if got, want := m.rotation.dnsNames, ServiceDNSNames(testService, testNamespace); !sameNames(got, want) {
		t.Errorf("default DNS names = %v, want %v", got, want)
	}
	if m.cfg.ServingValidity != DefaultServingValidity || m.cfg.CAValidity != DefaultCAValidity || m.cfg.RenewFraction != DefaultRenewFraction ||
		m.cfg.CheckInterval != DefaultCheckInterval || m.cfg.CAPropagation != DefaultCAPropagation || m.cfg.Now == nil {
		t.Errorf("defaults not applied: %+v", m.cfg)
	}
}

// ready reports whether m's Ready channel is closed.
func ready(m *Manager) bool {
	select {
	case <-m.Ready():
		return true
	default:
		return false
	}
}
