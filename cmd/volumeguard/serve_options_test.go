package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
)

func TestServeValidate(t *testing.T) {
	valid := func() *serveOptions {
		so := newServeOptions()
		so.tlsCertFile, so.tlsKeyFile = "tls.crt", "tls.key"
		return so
	}
	tests := []struct {
		name   string
		change func(*serveOptions)
		want   string // "" means valid
	}{
		{name: "defaults with certificate", change: func(*serveOptions) {}},
		{name: "mode", change: func(so *serveOptions) { so.mode = "strict" }, want: `--mode: invalid mode "strict"`},
		{name: "size limit", change: func(so *serveOptions) { so.sizeLimit = "0" }, want: "--default-size-limit"},
		{name: "registry policy", change: func(so *serveOptions) { so.onRegistry = "retry" }, want: "--on-registry-error"},
		{name: "timeout zero", change: func(so *serveOptions) { so.admissionTimeout = 0 }, want: "--admission-timeout"},
		{name: "timeout over 30s", change: func(so *serveOptions) { so.admissionTimeout = 31 * time.Second }, want: "--admission-timeout"},
		{name: "no certificate", change: func(so *serveOptions) { so.tlsCertFile = "" }, want: "--tls-cert-file and --tls-private-key-file are required"},
		{name: "managed certificate", change: func(so *serveOptions) {
			so.tlsCertFile, so.tlsKeyFile = "", ""
			so.managed = certOptions{manage: true, secretName: "tls", serviceName: "svc", namespace: "ns", webhookConfigName: "vg", certDir: "/certs"}
		}},
		{name: "listen", change: func(so *serveOptions) { so.listen = "8443" }, want: `--listen "8443"`},
		{name: "log level", change: func(so *serveOptions) { so.logLevel = "loud" }, want: "--log-level"},
		{name: "verbosity", change: func(so *serveOptions) { so.logLevel = "4" }},
		{name: "tag TTL negative", change: func(so *serveOptions) { so.tagTTL = -time.Second }, want: "--tag-ttl -1s"},
		{name: "tag TTL zero keeps tags", change: func(so *serveOptions) { so.tagTTL = 0 }},
		{name: "not-found TTL negative", change: func(so *serveOptions) { so.notFoundTTL = -time.Second }, want: "--not-found-ttl -1s"},
		{name: "max stale negative", change: func(so *serveOptions) { so.maxStale = -time.Second }, want: "--max-stale -1s"},
		{name: "registry concurrency zero", change: func(so *serveOptions) { so.registryConcurrency = 0 }, want: "--registry-concurrency 0: want 1 to 256"},
		{name: "namespace concurrency huge", change: func(so *serveOptions) { so.namespaceConcurrency = 100000000 }, want: "--namespace-concurrency 100000000: want 1 to 256"},
		{name: "shutdown delay", change: func(so *serveOptions) { so.shutdownDelay = 5 * time.Second }},
		{name: "populated volumes", change: func(so *serveOptions) { so.populated = "keep" }, want: `--populated-volumes: populated-volumes must be skip, copy or deny, not "keep"`},
		{name: "populated copy", change: func(so *serveOptions) { so.populated, so.copierImage = "copy", "volumeguard:1" }},
		{name: "populated unknown", change: func(so *serveOptions) { so.populatedUnknown = "copy" }, want: "--populated-unknown"},
		{name: "content budget", change: func(so *serveOptions) { so.contentBudget = "lots" }, want: `--content-budget "lots"`},
		{name: "content budget unread without the scan", change: func(so *serveOptions) { so.scanContent, so.contentBudget = false, "lots" }},
		{name: "shutdown delay over the grace period", change: func(so *serveOptions) { so.shutdownDelay = time.Minute }, want: "--shutdown-delay 1m0s: want 0 to 20s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := valid()
			tt.change(so)
			_, err := so.validate()
			if tt.want == "" && err != nil {
				t.Errorf("validate() = %v, want nil", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("validate() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestServeValidateOrder: the problems come out in one order, that of the
// flags, whatever the run: a map's order would shuffle them.
func TestServeValidateOrder(t *testing.T) {
	so := newServeOptions()
	so.mode, so.listen, so.metricsListen, so.logLevel = "x", "8443", "8080", "loud"
	so.managed.manage, so.managed.secretName, so.managed.certDir = true, "", ""
	want := []string{"--mode", `--listen "8443"`, `--metrics-listen "8080"`, "--log-level", "--cert-secret", "--cert-dir"}
	first := ""
	for i := range 50 {
		_, err := so.validate()
		if err == nil {
			t.Fatal("validate() = nil, want errors")
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("validate() changed between runs:\n%s\n---\n%s", first, err)
		}
	}
	at := -1
	for _, w := range want {
		i := strings.Index(first, w)
		if i <= at {
			t.Errorf("%s at %d, want it after the previous problem (at %d) in:\n%s", w, i, at, first)
		}
		at = i
	}
}

func TestServeConfigKubeconfig(t *testing.T) {
	so := newServeOptions()
	so.tlsCertFile, so.tlsKeyFile = "tls.crt", "tls.key"
	so.kubeconfig = filepath.Join(t.TempDir(), "missing")
	if _, err := so.config(&strings.Builder{}); err == nil || !strings.Contains(err.Error(), "finding the API server") {
		t.Errorf("config() with a missing kubeconfig = %v, want an error saying so", err)
	}
}

// TestServeConfigInspector: the Inspector that config builds remembers
// "not found" for --not-found-ttl and counts into the metrics serve
// exposes.
func TestServeConfigInspector(t *testing.T) {
	host := startMirror(t, "library/zk:1")
	for _, notFoundTTL := range []string{"30s", "0s"} {
		t.Run("--not-found-ttl="+notFoundTTL, func(t *testing.T) {
			_, cfg := parseServe(t, "--not-found-ttl="+notFoundTTL)
			spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: host + "/library/zk:1"}, {Name: "gone", Image: host + "/library/gone:1"}}}
			for range 2 {
				res := cfg.Handler.Analyzer.Analyze(context.Background(), spec)
				if len(res.Findings) != 1 || len(res.Errors) != 1 || !errors.Is(res.Errors[0], imageinspect.ErrNotFound) {
					t.Fatalf("findings %v, errors %v; want /data, and gone:1 not found", res.Findings, res.Errors)
				}
			}
			rec := httptest.NewRecorder()
			cfg.Handler.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			want404s := `volumeguard_registry_requests_total{code="404",kind="manifest"} 1`
			if notFoundTTL == "0s" {
				want404s = `volumeguard_registry_requests_total{code="404",kind="manifest"} 2`
			}
			for _, want := range []string{`volumeguard_image_lookups_total{reason="ok"} 2`, want404s} {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}
