package webhook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
)

func TestOptionsValidate(t *testing.T) {
	valid := func() *Options {
		o := NewOptions()
		o.TLSCertFile, o.TLSPrivateKeyFile = "tls.crt", "tls.key"
		return o
	}
	tests := []struct {
		name   string
		change func(*Options)
		want   string // "" means valid
	}{
		{name: "defaults with certificate", change: func(*Options) {}},
		{name: "mode", change: func(o *Options) { o.Mode = "strict" }, want: `--mode: invalid mode "strict"`},
		{name: "size limit", change: func(o *Options) { o.DefaultSizeLimit = "0" }, want: "--default-size-limit"},
		{name: "registry policy", change: func(o *Options) { o.OnRegistryError = "retry" }, want: "--on-registry-error"},
		{name: "timeout zero", change: func(o *Options) { o.AdmissionTimeout = 0 }, want: "--admission-timeout"},
		{name: "timeout over 30s", change: func(o *Options) { o.AdmissionTimeout = 31 * time.Second }, want: "--admission-timeout"},
		{name: "no certificate", change: func(o *Options) { o.TLSCertFile = "" }, want: "--tls-cert-file and --tls-private-key-file are required"},
		{name: "listen", change: func(o *Options) { o.Listen = "8443" }, want: `--listen "8443"`},
		{name: "log level", change: func(o *Options) { o.LogLevel = "loud" }, want: "--log-level"},
		{name: "verbosity", change: func(o *Options) { o.LogLevel = "4" }},
		{name: "tag TTL negative", change: func(o *Options) { o.TagTTL = -time.Second }, want: "--tag-ttl -1s"},
		{name: "tag TTL zero keeps tags", change: func(o *Options) { o.TagTTL = 0 }},
		{name: "not-found TTL negative", change: func(o *Options) { o.NotFoundTTL = -time.Second }, want: "--not-found-ttl -1s"},
		{name: "max stale negative", change: func(o *Options) { o.MaxStale = -time.Second }, want: "--max-stale -1s"},
		{name: "registry concurrency zero", change: func(o *Options) { o.RegistryConcurrency = 0 }, want: "--registry-concurrency 0: want 1 to 256"},
		{name: "namespace concurrency huge", change: func(o *Options) { o.NamespaceConcurrency = 100000000 }, want: "--namespace-concurrency 100000000: want 1 to 256"},
		{name: "shutdown delay", change: func(o *Options) { o.ShutdownDelay = 5 * time.Second }},
		{name: "shutdown delay over the grace period", change: func(o *Options) { o.ShutdownDelay = time.Minute }, want: "--shutdown-delay 1m0s: want 0 to 20s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.change(o)
			err := o.Validate()
			if tt.want == "" && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want an error with %q", err, tt.want)
			}
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		o := NewOptions()
		o.Mode, o.OnRegistryError = "x", "y"
		err := o.Validate()
		for _, want := range []string{"--mode", "--on-registry-error", "--tls-cert-file"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v, want it to name %s", err, want)
			}
		}
	})
}

// TestOptionsValidateOrder: the problems come out in one order, that of
// the checks, whatever the run: a map's order would shuffle them.
func TestOptionsValidateOrder(t *testing.T) {
	o := NewOptions()
	o.Mode, o.Listen, o.MetricsListen, o.LogLevel = "x", "8443", "8080", "loud"
	want := []string{"--mode", "--tls-cert-file", `--listen "8443"`, `--metrics-listen "8080"`, "--log-level"}
	first := ""
	for i := range 50 {
		err := o.Validate()
		if err == nil {
			t.Fatal("Validate() = nil, want errors")
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("Validate() changed between runs:\n%s\n---\n%s", first, err)
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

func TestOptionsConfigKubeconfig(t *testing.T) {
	o := NewOptions()
	o.TLSCertFile, o.TLSPrivateKeyFile = "tls.crt", "tls.key"
	o.LogOutput = &strings.Builder{}

	o.Kubeconfig = filepath.Join(t.TempDir(), "missing")
	if _, err := o.Config(); err == nil || !strings.Contains(err.Error(), "finding the API server") {
		t.Errorf("Config() with a missing kubeconfig = %v, want an error saying so", err)
	}

	o.Kubeconfig = writeKubeconfig(t, "https://127.0.0.1:1")
	cfg, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RESTConfig.Host != "https://127.0.0.1:1" || cfg.Handler.DefaultMode != ModeAudit || cfg.Handler.DefaultSizeLimit.String() != "1Gi" || cfg.Handler.Analyzer == nil ||
		cfg.Handler.Metrics == nil || !cfg.PullSecrets {
		t.Errorf("config %+v does not carry the options", cfg)
	}
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "` + server + `", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-secret}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostKeychain holds the test registry's credentials for one host.
type hostKeychain struct{ host string }

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return &authn.Basic{Username: regUser, Password: regPass}, nil
	}
	return authn.Anonymous, nil
}

// TestOptionsConfigInspector: the Inspector that Config builds reads with
// Options.Keychain, remembers "not found" for NotFoundTTL and counts into
// the handler's metrics.
func TestOptionsConfigInspector(t *testing.T) {
	host := startRegistry(t, true)
	image := host + "/private/zk:1"
	pushImage(t, image, "/data")
	for _, notFoundTTL := range []time.Duration{DefaultNotFoundTTL, 0} {
		t.Run("not-found-ttl "+notFoundTTL.String(), func(t *testing.T) {
			o := NewOptions()
			o.TLSCertFile, o.TLSPrivateKeyFile = "tls.crt", "tls.key"
			o.LogOutput = &strings.Builder{}
			o.Kubeconfig = writeKubeconfig(t, "https://127.0.0.1:1")
			o.Keychain = hostKeychain{host: host}
			o.NotFoundTTL = notFoundTTL
			cfg, err := o.Config()
			if err != nil {
				t.Fatal(err)
			}
			spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: image}, {Name: "gone", Image: host + "/private/gone:1"}}}
			for range 2 {
				res := cfg.Handler.Analyzer.Analyze(context.Background(), spec)
				if len(res.Findings) != 1 || len(res.Errors) != 1 || !errors.Is(res.Errors[0], imageinspect.ErrNotFound) {
					t.Fatalf("findings %v, errors %v; want /data, and gone:1 not found", res.Findings, res.Errors)
				}
			}
			m := cfg.Handler.Metrics
			if got := counterValue(t, m.lookups.WithLabelValues("ok")); got != 2 {
				t.Errorf("lookups ok = %v, want 2", got)
			}
			wantGETs := 1.0
			if notFoundTTL == 0 {
				wantGETs = 2
			}
			if got := counterValue(t, m.registryRequests.WithLabelValues("manifest", "404")); got != wantGETs {
				t.Errorf("manifest 404s = %v, want %v", got, wantGETs)
			}
		})
	}
}
