package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/volumeguard/volumeguard/certs"
)

func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCertsGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	out, err := runCommand(t, "certs", "generate", "--service", "vg", "--namespace", "guard", "--out-dir", dir, "--validity", "48h")
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	caPEM, certPEM, keyPEM := read("ca.crt"), read("tls.crt"), read("tls.key")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vg", "vg.guard", "vg.guard.svc", "vg.guard.svc.cluster.local"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d > 50*time.Hour {
		t.Errorf("serving certificate lives %s, want --validity 48h (plus the backdating hour)", d)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	bundle, err := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	if err != nil || !bytes.Equal(bundle, caPEM) {
		t.Errorf("last output line is not the base64 of ca.crt:\n%s", out)
	}
	if !strings.Contains(out, "kubectl -n guard create secret tls volumeguard-tls --cert="+filepath.Join(dir, "tls.crt")) {
		t.Errorf("no Secret hint in:\n%s", out)
	}
}

func TestCertsGenerateExtraSANs(t *testing.T) {
	dir := t.TempDir()
	out, err := runCommand(t, "certs", "generate", "--service", "vg", "--namespace", "guard", "--out-dir", dir, "--extra-sans", "127.0.0.1,localhost")
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"127.0.0.1", "localhost", "vg.guard.svc"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if !strings.Contains(out, "127.0.0.1") {
		t.Errorf("output does not list the extra name:\n%s", out)
	}
}

func TestCertsGenerateUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"missing flags":         {"certs", "generate", "--service", "vg"},
		"validity beyond CA":    {"certs", "generate", "--service", "vg", "--namespace", "n", "--out-dir", t.TempDir(), "--validity", "100h", "--ca-validity", "10h"},
		"non-positive validity": {"certs", "generate", "--service", "vg", "--namespace", "n", "--out-dir", t.TempDir(), "--validity", "0s"},
		"bad extra SAN":         {"certs", "generate", "--service", "vg", "--namespace", "n", "--out-dir", t.TempDir(), "--extra-sans", "not a name"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := runCommand(t, args...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func parseCertFlags(t *testing.T, args ...string) *certOptions {
	t.Helper()
	o := &certOptions{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCertOptionsDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "from-downward-api")
	o := parseCertFlags(t)
	if o.manage || o.secretName != "volumeguard-tls" || o.serviceName != "volumeguard" || o.namespace != "from-downward-api" ||
		o.webhookConfigName != "volumeguard" || o.certDir != "/var/run/volumeguard/certs" {
		t.Errorf("defaults = %+v", *o)
	}
	t.Setenv("POD_NAMESPACE", "")
	if o := parseCertFlags(t); o.namespace != "volumeguard" {
		t.Errorf("namespace without POD_NAMESPACE = %q, want volumeguard", o.namespace)
	}
}

// TestCertNamespaceAlias: --namespace, serve's name for --cert-namespace
// before audit's -n made it ambiguous, still works.
func TestCertNamespaceAlias(t *testing.T) {
	for _, args := range [][]string{{"--cert-namespace", "certs-ns"}, {"--namespace", "certs-ns"}} {
		if o := parseCertFlags(t, args...); o.namespace != "certs-ns" {
			t.Errorf("%v: namespace %q, want certs-ns", args, o.namespace)
		}
	}
}

func TestCertOptionsTLSFiles(t *testing.T) {
	off := parseCertFlags(t)
	if c, k, err := off.tlsFiles("/a.crt", "/a.key"); err != nil || c != "/a.crt" || k != "/a.key" {
		t.Errorf("without --manage-certs: %q %q %v, want the flags unchanged", c, k, err)
	}
	on := parseCertFlags(t, "--manage-certs", "--cert-dir", "/certs")
	if c, k, err := on.tlsFiles("", ""); err != nil || c != "/certs/tls.crt" || k != "/certs/tls.key" {
		t.Errorf("with --manage-certs and no file flags: %q %q %v", c, k, err)
	}
	if _, _, err := on.tlsFiles("/certs/./tls.crt", "/certs/tls.key"); err != nil {
		t.Errorf("file flags naming the managed files: %v", err)
	}
	if _, _, err := on.tlsFiles("/elsewhere/tls.crt", ""); err == nil || !strings.Contains(err.Error(), "--tls-cert-file") {
		t.Errorf("file flags elsewhere than --cert-dir: %v", err)
	}
}

func TestCertOptionsManagerConfig(t *testing.T) {
	if err := parseCertFlags(t, "--manage-certs", "--cert-secret", "").validate(); err == nil || !strings.Contains(err.Error(), "--cert-secret") {
		t.Errorf("empty --cert-secret: %v", err)
	}
	o := parseCertFlags(t, "--manage-certs", "--cert-namespace", "ns", "--service-name", "svc", "--cert-secret", "sec",
		"--webhook-config-name", "hooks", "--cert-dir", t.TempDir())
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	cfg := o.managerConfig(fake.NewClientset(), logr.Discard())
	if cfg.Namespace != "ns" || cfg.ServiceName != "svc" || cfg.SecretName != "sec" ||
		cfg.MutatingWebhookConfigurationName != "hooks" || cfg.ValidatingWebhookConfigurationName != "hooks" || cfg.CertDir != o.certDir {
		t.Errorf("config = %+v", cfg)
	}
	if _, err := certs.NewManager(cfg); err != nil {
		t.Errorf("certs.NewManager rejects the flags' config: %v", err)
	}
	if cfg.DNSNames != nil {
		t.Errorf("DNSNames = %v without --cert-extra-sans, want nil (the manager's default)", cfg.DNSNames)
	}

	o = parseCertFlags(t, "--manage-certs", "--cert-namespace", "ns", "--service-name", "svc", "--cert-extra-sans", "127.0.0.1,localhost", "--cert-extra-sans", "::1")
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	want := append(certs.ServiceDNSNames("svc", "ns"), "127.0.0.1", "localhost", "::1")
	if got := o.managerConfig(fake.NewClientset(), logr.Discard()).DNSNames; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DNSNames = %v, want %v", got, want)
	}
	for _, bad := range []string{"Upper.Case", "under_score", "http://127.0.0.1"} {
		o := parseCertFlags(t, "--manage-certs", "--cert-extra-sans", bad)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), "--cert-extra-sans") {
			t.Errorf("--cert-extra-sans %q: %v, want an error", bad, err)
		}
	}
}
