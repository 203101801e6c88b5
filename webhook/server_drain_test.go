package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// TestRunShutdownDelay: once its context is done, a server with a
// shutdown delay fails /readyz at once and goes on answering admission
// requests, each closing its connection, until the delay has passed; then
// its listener closes. Closed at once, a replica behind a Service refused
// the connections its endpoints still sent it (found by test/chaos).
func TestRunShutdownDelay(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, 1)
	logs := &syncbuffer.Buffer{}
	cfg := runConfig(t, certFile, keyFile, logs)
	cfg.ShutdownDelay = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	admissionAddr, metricsAddr := waitServing(t, logs)

	cancel()
	waitLog(t, logs, "shutting down: not ready, answering for the shutdown delay")
	if status, body := get(t, "http://"+metricsAddr+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz during the delay: %d %s, want 503 shutting down", status, body)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the certificate is not what is tested
	req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)
	resp, err := client.Post("https://"+admissionAddr+"/validate?timeout=5s", "application/json", bytes.NewReader(reviewBody(t, req)))
	if err != nil {
		t.Fatalf("an admission request during the delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("during the delay: HTTP %d, connection closed after it: %v; want 200 and the connection closed", resp.StatusCode, resp.Close)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the delay")
	}
	if c, err := net.Dial("tcp", admissionAddr); err == nil {
		c.Close()
		t.Error("the admission listener still accepts after Run returned")
	}
}
