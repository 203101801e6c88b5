package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/webhook"
)

// TestServeBadUsage: flags are checked all at once, before anything starts,
// and bad usage exits 2 like every other command.
func TestServeBadUsage(t *testing.T) {
	code, err := run(context.Background(), []string{"serve", "--mode", "strict", "--default-size-limit", "lots", "--tag-ttl", "-1m"})
	if code != usageExitCode || err == nil {
		t.Fatalf("run() = %d, %v; want %d and an error", code, err, usageExitCode)
	}
	for _, want := range []string{"--mode", "--default-size-limit", "--tls-cert-file", "--tag-ttl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestServeExitsOnFatalError: serve ends with the error that stops it, so
// that the process exits with its message and the kubelet restarts it.
// It used to wait forever for informers that only its own cancel stopped.
func TestServeExitsOnFatalError(t *testing.T) {
	dir := t.TempDir() // no certificate in it
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := run(context.Background(), []string{"serve", "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0", "--log-level=error",
			"--tls-cert-file=" + filepath.Join(dir, "tls.crt"), "--tls-private-key-file=" + filepath.Join(dir, "tls.key"), "--kubeconfig=" + writeKubeconfig(t)})
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		if r.code == 0 || r.err == nil || !strings.Contains(r.err.Error(), "loading the serving certificate") {
			t.Errorf("run() = %d, %v; want a failure naming the certificate", r.code, r.err)
		}
	case <-time.After(time.Minute): // a bound on liveness for a loaded machine, not a timing assertion
		t.Fatal("serve did not return after failing to load its certificate")
	}
}

// parseServe parses serve's flags and builds its configuration, as RunE does.
func parseServe(t *testing.T, args ...string) (*serveOptions, *webhook.Config) {
	t.Helper()
	so := newServeOptions()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	so.addFlags(fs)
	base := []string{"--tls-cert-file=tls.crt", "--tls-private-key-file=tls.key", "--kubeconfig=" + writeKubeconfig(t)}
	if err := fs.Parse(append(base, args...)); err != nil {
		t.Fatal(err)
	}
	cfg, err := so.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return so, cfg
}

func TestServeDefaults(t *testing.T) {
	so, cfg := parseServe(t)
	if !cfg.PullSecrets || so.tagTTL != 5*time.Minute || so.notFoundTTL != 30*time.Second {
		t.Errorf("--pull-secrets=%v --tag-ttl=%s --not-found-ttl=%s, want true, 5m0s, 30s", cfg.PullSecrets, so.tagTTL, so.notFoundTTL)
	}
	if cfg.RESTConfig.Host != "https://127.0.0.1:1" || cfg.Handler.DefaultMode != webhook.ModeAudit || cfg.Handler.DefaultSizeLimit.String() != "1Gi" ||
		cfg.Handler.Analyzer == nil || cfg.Handler.Metrics == nil || cfg.AdmissionTimeout != 8*time.Second || cfg.Listen != ":8443" || cfg.MetricsListen != ":8080" {
		t.Errorf("config %+v does not carry the defaults", cfg)
	}
	so, cfg = parseServe(t, "--pull-secrets=false", "--tag-ttl=1m", "--not-found-ttl=0s")
	if cfg.PullSecrets || so.tagTTL != time.Minute || so.notFoundTTL != 0 {
		t.Errorf("--pull-secrets=%v --tag-ttl=%s --not-found-ttl=%s, want false, 1m0s, 0s", cfg.PullSecrets, so.tagTTL, so.notFoundTTL)
	}
}

// TestServeRegistryFlags: the registry flags shared with check and inspect
// reach the webhook's Inspector.
func TestServeRegistryFlags(t *testing.T) {
	mirror := startMirror(t, "library/zk:1")
	_, cfg := parseServe(t,
		"--registry-mirror=mirrored.example="+mirror,
		"--denied-registries=denied.example")
	analyze := func(image string) error {
		t.Helper()
		spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}
		res := cfg.Handler.Analyzer.Analyze(context.Background(), spec)
		if len(res.Errors) > 0 {
			return res.Errors[0].Err
		}
		if len(res.Findings) != 1 || res.Findings[0].Path != "/data" {
			t.Errorf("%s: findings %v, want /data", image, res.Findings)
		}
		return nil
	}
	if err := analyze("mirrored.example/library/zk:1"); err != nil {
		t.Errorf("reading through --registry-mirror: %v", err)
	}
	if err := analyze("denied.example/app:1"); !errors.Is(err, imageinspect.ErrRegistryNotAllowed) {
		t.Errorf("--denied-registries: %v, want ErrRegistryNotAllowed", err)
	}
	// Refused unless --allow-link-local: a cloud metadata endpoint.
	if err := analyze("169.254.169.254/app:1"); !errors.Is(err, imageinspect.ErrRegistryNotAllowed) {
		t.Errorf("link-local registry: %v, want ErrRegistryNotAllowed", err)
	}

	// And the Inspector counts into the metrics serve exposes.
	rec := httptest.NewRecorder()
	cfg.Handler.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{`volumeguard_image_lookups_total{reason="ok"} 1`, `volumeguard_image_lookups_total{reason="not_allowed"} 2`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// startMirror serves an in-process registry on 127.0.0.1 holding repoTag,
// an image declaring VOLUME /data, and returns its host:port.
func startMirror(t *testing.T, repoTag string) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	if _, err := testimage.Push(host+"/"+repoTag, []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	return host
}

// writeKubeconfig points at an API server that is not there: Config only
// reads the file.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
