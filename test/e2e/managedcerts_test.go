package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/volumeguard/volumeguard/certs"
)

// bootstrap is a `serve --manage-certs` setup on the suite's API server:
// webhook configurations of its own, created with no caBundle and called by
// URL, and namespaces that only they are called for.
type bootstrap struct {
	client       kubernetes.Interface // for admissions; quiet about their warnings
	addr         string               // 127.0.0.1:port the API server calls
	certDir      string
	secretNS     string
	secret       string
	configName   string
	enforceNS    string
	mutateNS     string
	serviceNames []string // what the serving certificate must be for
}

const bootstrapLabel = "e2e.volumeguard.io/webhooks"

// TestManagedCertificates: `serve --manage-certs` against a real API server
// bootstraps its own TLS (Secret, files, caBundle of both configurations)
// so that the API server trusts it, and keeps admissions working through a
// renewal and through the loss of its Secret, without a restart.
func TestManagedCertificates(t *testing.T) {
	quiet := rest.CopyConfig(s.cfg)
	quiet.WarningHandler = rest.NoWarnings{}
	b := &bootstrap{
		client:     kubernetes.NewForConfigOrDie(quiet),
		addr:       freeAddr(t),
		certDir:    t.TempDir(),
		secretNS:   "vg-certs",
		secret:     "volumeguard-tls",
		configName: "volumeguard-bootstrap",
		enforceNS:  "vg-certs-enforce",
		mutateNS:   "vg-certs-mutate",
	}
	// The Service's names, and the address the API server dials here (a
	// real cluster calls the Service, and needs only the former).
	b.serviceNames = append(certs.ServiceDNSNames("volumeguard", b.secretNS), "127.0.0.1", "localhost")
	b.install(t)

	srv := startServe(t,
		"--listen", b.addr,
		"--manage-certs",
		"--cert-secret", b.secret,
		"--cert-namespace", b.secretNS,
		"--service-name", "volumeguard",
		"--webhook-config-name", b.configName,
		"--cert-dir", b.certDir,
		"--cert-extra-sans", "127.0.0.1,localhost",
	)

	var first map[string][]byte
	t.Run("bootstrap: Secret, files and caBundle, trusted by the API server", func(t *testing.T) {
		first = b.waitConsistent(t, nil)
		leaf := parseCert(t, first[corev1.TLSCertKey])
		if got := append(leaf.DNSNames, ipStrings(leaf.IPAddresses)...); !sameSet(got, b.serviceNames) {
			t.Errorf("serving certificate is for %v, want %v", got, b.serviceNames)
		}
		if err := b.admissions(); err != nil {
			t.Fatal(err)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("renewal ahead of expiry: new certificate served, not one admission lost", func(t *testing.T) {
		stop := b.admitContinuously(t)
		// What the Secret holds when a renewal is due: a serving certificate
		// from the same CA with less than a third of its life left.
		ca := certs.KeyPair{CertPEM: first["ca.crt"], KeyPEM: first["ca.key"]}
		near, err := certs.GenerateServing(ca, b.serviceNames, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		b.updateSecret(t, func(data map[string][]byte) {
			data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey] = near.CertPEM, near.KeyPEM
		})
		renewed := b.waitConsistent(t, func(data map[string][]byte) error {
			if bytes.Equal(data[corev1.TLSCertKey], near.CertPEM) {
				return errors.New("the near-expiry certificate is still in the Secret")
			}
			return nil
		})
		if bytes.Equal(renewed[corev1.TLSCertKey], first[corev1.TLSCertKey]) {
			t.Error("the Secret went back to the first certificate instead of a new one")
		}
		if leaf := parseCert(t, renewed[corev1.TLSCertKey]); time.Until(leaf.NotAfter) < 300*24*time.Hour {
			t.Errorf("renewed certificate expires at %s, want about a year from now", leaf.NotAfter)
		}
		if !bytes.Equal(renewed["ca.crt"], first["ca.crt"]) {
			t.Error("the CA changed, though only the serving certificate was due")
		}
		ok, failures := stop()
		t.Logf("%d admissions during the renewal", ok)
		if len(failures) > 0 || ok == 0 {
			t.Errorf("%d admissions went through, %d failed during the renewal:\n%s", ok, len(failures), strings.Join(failures, "\n"))
		}
	})

	t.Run("lost Secret: new CA, caBundle follows, admissions recover", func(t *testing.T) {
		before := b.secretData(t)
		if err := s.client.CoreV1().Secrets(b.secretNS).Delete(ctx(t), b.secret, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		recreated := b.waitConsistent(t, func(data map[string][]byte) error {
			if bytes.Equal(data["ca.crt"], before["ca.crt"]) {
				return errors.New("the Secret still holds the old CA")
			}
			return nil
		})
		if bytes.Equal(recreated[corev1.TLSCertKey], before[corev1.TLSCertKey]) {
			t.Error("serving certificate unchanged after the CA changed")
		}
		// The caBundle and the served certificate change moments apart: the
		// API server may fail a call in between. It must recover on its own.
		if err := eventually(30*time.Second, b.admissions); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("overwritten caBundle is set back", func(t *testing.T) {
		foreign, err := certs.GenerateCA("someone-else", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		patch := fmt.Sprintf(`{"webhooks":[{"name":"validate.bootstrap.volumeguard.io","clientConfig":{"caBundle":%q}}]}`,
			base64.StdEncoding.EncodeToString(foreign.CertPEM))
		_, err = s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx(t), b.configName, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b.waitConsistent(t, nil)
		if err := eventually(30*time.Second, b.admissions); err != nil {
			t.Fatal(err)
		}
	})

	if srv.cmd.ProcessState != nil {
		t.Fatalf("volumeguard serve exited: %v", srv.cmd.ProcessState)
	}
	wantAll(t, "volumeguard serve logs", srv.logs.String(), "created certificate Secret", "renewed certificate Secret", "updated caBundle")
}

// install creates the namespaces and the webhook configurations, with an
// empty caBundle and failurePolicy Fail: a call the API server cannot make
// (an untrusted certificate) is an error, never a silent admission.
func (b *bootstrap) install(t *testing.T) {
	t.Helper()
	for ns, mode := range map[string]string{b.secretNS: "off", b.enforceNS: "enforce", b.mutateNS: "mutate"} {
		labels := map[string]string{isolatedLabel: "true", "volumeguard.io/mode": mode}
		if ns != b.secretNS {
			labels[bootstrapLabel] = b.configName
		}
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}
		if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// Dry runs leave nothing; the Secret is the only content.
			_ = s.client.CoreV1().Secrets(ns).Delete(ctx(t), b.secret, metav1.DeleteOptions{})
			removeNamespace(t, ns)
		})
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{bootstrapLabel: b.configName}}
	clientConfig := func(path string) admissionregistrationv1.WebhookClientConfig {
		url := "https://" + b.addr + path
		return admissionregistrationv1.WebhookClientConfig{URL: &url} // no caBundle: the manager sets it
	}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: b.configName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "mutate.bootstrap.volumeguard.io",
			ClientConfig:            clientConfig("/mutate"),
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(admissionregistrationv1.Create)},
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(int32(10)),
			NamespaceSelector:       selector,
		}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: b.configName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.bootstrap.volumeguard.io",
			ClientConfig:            clientConfig("/validate"),
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(admissionregistrationv1.Create)},
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(int32(10)),
			NamespaceSelector:       selector,
		}},
	}
	api := s.client.AdmissionregistrationV1()
	if _, err := api.MutatingWebhookConfigurations().Create(ctx(t), mutating, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.MutatingWebhookConfigurations().Delete(ctx(t), b.configName, metav1.DeleteOptions{}) })
	if _, err := api.ValidatingWebhookConfigurations().Create(ctx(t), validating, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.ValidatingWebhookConfigurations().Delete(ctx(t), b.configName, metav1.DeleteOptions{}) })
}

// waitConsistent waits until the Secret, the files, the caBundle of every
// webhook and the certificate actually served all agree (and done, if
// given, accepts the Secret), and returns the Secret's data.
func (b *bootstrap) waitConsistent(t *testing.T, done func(map[string][]byte) error) map[string][]byte {
	t.Helper()
	var data map[string][]byte
	err := eventually(40*time.Second, func() error {
		secret, err := s.client.CoreV1().Secrets(b.secretNS).Get(ctx(t), b.secret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		data = secret.Data
		if secret.Type != corev1.SecretTypeTLS {
			return fmt.Errorf("Secret type %q, want %q", secret.Type, corev1.SecretTypeTLS)
		}
		if done != nil {
			if err := done(data); err != nil {
				return err
			}
		}
		for file, key := range map[string]string{certs.CertFile: corev1.TLSCertKey, certs.KeyFile: corev1.TLSPrivateKeyKey, certs.CACertFile: "ca.crt"} {
			got, err := os.ReadFile(filepath.Join(b.certDir, file))
			if err != nil {
				return err
			}
			if !bytes.Equal(got, data[key]) {
				return fmt.Errorf("%s is not the Secret's %s", file, key)
			}
		}
		bundles, err := b.caBundles(t)
		if err != nil {
			return err
		}
		for webhook, bundle := range bundles {
			if !bytes.Equal(bundle, data["ca.crt"]) {
				return fmt.Errorf("caBundle of %s is not the Secret's ca.crt", webhook)
			}
		}
		served, err := servedCertificate(b.addr, data["ca.crt"])
		if err != nil {
			return fmt.Errorf("TLS handshake trusting the Secret's CA: %w", err)
		}
		if !bytes.Equal(served.Raw, parseCert(t, data[corev1.TLSCertKey]).Raw) {
			return errors.New("the server does not present the Secret's certificate yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Secret, files, caBundle and served certificate never agreed: %v", err)
	}
	return data
}

func (b *bootstrap) caBundles(t *testing.T) (map[string][]byte, error) {
	api := s.client.AdmissionregistrationV1()
	out := map[string][]byte{}
	m, err := api.MutatingWebhookConfigurations().Get(ctx(t), b.configName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, w := range m.Webhooks {
		out["mutating "+w.Name] = w.ClientConfig.CABundle
	}
	v, err := api.ValidatingWebhookConfigurations().Get(ctx(t), b.configName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, w := range v.Webhooks {
		out["validating "+w.Name] = w.ClientConfig.CABundle
	}
	return out, nil
}

func (b *bootstrap) secretData(t *testing.T) map[string][]byte {
	t.Helper()
	secret, err := s.client.CoreV1().Secrets(b.secretNS).Get(ctx(t), b.secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return secret.Data
}

func (b *bootstrap) updateSecret(t *testing.T, change func(map[string][]byte)) {
	t.Helper()
	secret, err := s.client.CoreV1().Secrets(b.secretNS).Get(ctx(t), b.secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	change(secret.Data)
	if _, err := s.client.CoreV1().Secrets(b.secretNS).Update(ctx(t), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// admissions goes through both webhooks once, as dry runs: mode enforce
// denies a zookeeper pod naming its paths, mode mutate adds an emptyDir
// for each. Only the bootstrap webhooks are called in these namespaces, so
// either result proves the API server trusted the served certificate.
func (b *bootstrap) admissions() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	_, err := b.client.CoreV1().Pods(b.enforceNS).Create(ctx, zkPod("zk"), dryRun)
	switch {
	case err == nil:
		return errors.New("enforce: pod admitted")
	case strings.Contains(err.Error(), "failed calling webhook"):
		return fmt.Errorf("enforce: %w", err)
	case !strings.Contains(err.Error(), "/datalog") || !strings.Contains(err.Error(), s.images["zookeeper"]):
		return fmt.Errorf("enforce: denied, but not by volumeguard: %w", err)
	}
	pod, err := b.client.CoreV1().Pods(b.mutateNS).Create(ctx, zkPod("zk"), dryRun)
	if err != nil {
		return fmt.Errorf("mutate: %w", err)
	}
	if added := emptyDirMounts(pod, "zk"); len(added) != 3 {
		return fmt.Errorf("mutate: added emptyDirs %v, want /data, /datalog and /logs", added)
	}
	return nil
}

// admitContinuously runs admissions back to back until the returned stop
// is called, which reports how many went through and how each other failed.
// It runs at least minAdmissions, so that the figures mean something.
func (b *bootstrap) admitContinuously(t *testing.T) (stop func() (int, []string)) {
	const minAdmissions = 20
	done := make(chan struct{})
	var wg sync.WaitGroup
	var ok int
	var failures []string
	wg.Go(func() {
		for {
			select {
			case <-done:
				if ok+len(failures) >= minAdmissions {
					return
				}
			default:
			}
			if err := b.admissions(); err != nil {
				failures = append(failures, time.Now().Format("15:04:05.000 ")+err.Error())
			} else {
				ok++
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var once sync.Once
	stop = func() (int, []string) {
		once.Do(func() { close(done); wg.Wait() })
		return ok, failures
	}
	t.Cleanup(func() { stop() })
	return stop
}

// servedCertificate is the leaf addr presents, verified against bundle for
// the address dialled, as the API server verifies it.
func servedCertificate(addr string, bundle []byte) (*x509.Certificate, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		return nil, errors.New("no certificate in the CA bundle")
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// parseCert is the first certificate of PEM data.
func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func sameSet(a, b []string) bool {
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return len(seen) == len(b)
}
