package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// writeCert writes a self-signed serving certificate for 127.0.0.1 with
// the given serial to dir/tls.crt and dir/tls.key.
func writeCert(t *testing.T, dir string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "volumeguard"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// waitServing reads the bound addresses from the "serving" log line, as a
// test starting the binary with --listen 127.0.0.1:0 would.
func waitServing(t *testing.T, logs *syncbuffer.Buffer) (admissionAddr, metricsAddr string) {
	t.Helper()
	line := waitLog(t, logs, "serving")
	return line.Admission, line.Metrics
}

type logLine struct{ Msg, Admission, Metrics string }

func waitLog(t *testing.T, logs *syncbuffer.Buffer, msg string) logLine {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var line logLine
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
				return line
			}
		}
	}
	t.Fatalf("no %q log line; logs:\n%s", msg, logs.String())
	return logLine{}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRunServes starts the server as `volumeguard serve` does, against an
// API server that is not there: it serves admission and health, is not
// ready, rotates its certificate and drains on shutdown.
func TestRunServes(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, 1)
	logs := &syncbuffer.Buffer{}
	cfg := runConfig(t, certFile, keyFile, logs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	admissionAddr, metricsAddr := waitServing(t, logs)

	if status, body := get(t, "http://"+metricsAddr+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}
	if status, body := get(t, "http://"+metricsAddr+"/readyz"); status != http.StatusServiceUnavailable ||
		!strings.Contains(body, "namespace informer has not synced") || !strings.Contains(body, "pull-secret informers (secrets, serviceaccounts) have not synced") {
		t.Errorf("/readyz without an API server: %d %s, want 503 naming the informers", status, body)
	}

	// An admission request over TLS, HTTP/2 offered but not taken.
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the test checks the served certificate itself
		ForceAttemptHTTP2: true,
	}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "127.0.0.1:1/app:1"}}}}
	req := request(t, admissionv1.Create, podKind, "default", pod, nil)
	resp, err := client.Post("https://"+admissionAddr+"/validate?timeout=5s", "application/json", bytes.NewReader(reviewBody(t, req)))
	if err != nil {
		t.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	err = json.NewDecoder(resp.Body).Decode(&review)
	resp.Body.Close()
	if err != nil || review.Response == nil || review.Response.UID != req.UID || !review.Response.Allowed {
		t.Fatalf("answer %+v (%v), want allowed with the request UID", review.Response, err)
	}
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("served over %s, want HTTP/1.1", resp.Proto)
	}
	if !hasWarning(review.Response.Warnings, "127.0.0.1:1/app:1", "could not check image") {
		t.Errorf("warnings %q do not name the unreadable image", review.Response.Warnings)
	}
	if _, body := get(t, "http://"+metricsAddr+"/metrics"); !strings.Contains(body, `volumeguard_admission_requests_total{decision="allowed",mode="audit",operation="CREATE",webhook="validate"} 1`) {
		t.Errorf("/metrics does not count the request:\n%s", body)
	}

	t.Run("refuses TLS 1.1", func(t *testing.T) {
		conn, err := tls.Dial("tcp", admissionAddr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Error("TLS 1.1 handshake succeeded")
		}
	})
	t.Run("serves a rotated certificate", func(t *testing.T) {
		if serial := servedSerial(t, admissionAddr); serial != 1 {
			t.Fatalf("serving certificate %d before rotation, want 1", serial)
		}
		writeCert(t, dir, 2)
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			serial := servedSerial(t, admissionAddr)
			if serial == 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving certificate %d", serial)
			}
		}
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v after shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// fakeCertManager "writes" the certificate when the test releases it.
type fakeCertManager struct {
	release, ready chan struct{}
}

func (m *fakeCertManager) Run(ctx context.Context) error {
	select {
	case <-m.release:
		close(m.ready)
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

func (m *fakeCertManager) Ready() <-chan struct{} { return m.ready }

// TestRunWaitsForCertManager: with --manage-certs the HTTPS server starts
// once the manager has written the files; meanwhile the process is live
// and not ready.
func TestRunWaitsForCertManager(t *testing.T) {
	dir := t.TempDir()
	logs := &syncbuffer.Buffer{}
	cfg := runConfig(t, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), logs)
	m := &fakeCertManager{release: make(chan struct{}), ready: make(chan struct{})}
	cfg.NewCertManager = func(kubernetes.Interface) (CertManager, error) { return m, nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()

	metricsAddr := waitLog(t, logs, "serving metrics and health").Metrics
	if status, _ := get(t, "http://"+metricsAddr+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while the certificate is pending: %d, want 200", status)
	}
	if status, body := get(t, "http://"+metricsAddr+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "no serving certificate loaded") {
		t.Errorf("/readyz while the certificate is pending: %d %s", status, body)
	}
	writeCert(t, dir, 7)
	close(m.release)
	admissionAddr, _ := waitServing(t, logs)
	if serial := servedSerial(t, admissionAddr); serial != 7 {
		t.Errorf("serving certificate %d, want the manager's 7", serial)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}
