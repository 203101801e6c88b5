package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// Defaults of `volumeguard serve`.
const (
	DefaultListen        = ":8443"
	DefaultMetricsListen = ":8080"
	DefaultMode          = ModeAudit // the safe rollout: nothing is changed or denied
	DefaultSizeLimit     = "1Gi"
	// DefaultAdmissionTimeout stays under the API server's default webhook
	// timeoutSeconds (10s), so the answer arrives before it gives up.
	DefaultAdmissionTimeout = 8 * time.Second
	// maxAdmissionTimeout is the longest timeoutSeconds a webhook can have.
	maxAdmissionTimeout = 30 * time.Second
	// DefaultTagTTL is how long a tag stays resolved: a re-pushed tag is
	// seen within minutes, while a busy cluster does not ask the registry
	// for every pod.
	DefaultTagTTL = 5 * time.Minute
	// DefaultNotFoundTTL is how long "not found" is remembered: a
	// crash-looping controller with a typo in an image does not send a
	// request per pod, and an image pushed a moment later is seen.
	DefaultNotFoundTTL = 30 * time.Second
	// DefaultMaxStale is how long past its TTL a tag whose revalidation keeps
	// failing is still served: a registry outage of minutes does not fail
	// every admission, one of hours is not hidden.
	DefaultMaxStale = time.Hour
	// DefaultRegistryConcurrency bounds the requests in flight to one
	// registry host: a registry that hangs holds only its own slots.
	DefaultRegistryConcurrency = 8
	// DefaultNamespaceConcurrency bounds one namespace's lookups that the
	// cache cannot answer: half a registry's slots, so that one namespace
	// never holds them all.
	DefaultNamespaceConcurrency = 4
	// maxConcurrency keeps a typo from opening thousands of connections.
	maxConcurrency = 256
	// maxShutdownDelay keeps the delay and the drain (--admission-timeout)
	// within the kubelet's default terminationGracePeriodSeconds (30).
	maxShutdownDelay = 20 * time.Second
)

// Options are the settings of `volumeguard serve` as its flags give them.
type Options struct {
	Listen            string
	MetricsListen     string
	TLSCertFile       string
	TLSPrivateKeyFile string
	Mode              string
	DefaultSizeLimit  string
	OnRegistryError   string
	AdmissionTimeout  time.Duration
	// Kubeconfig is the path to a kubeconfig; empty: KUBECONFIG, then
	// ~/.kube/config, then the in-cluster config, as kubectl does.
	Kubeconfig string
	LogLevel   string
	// LogOutput receives the JSON logs; nil: stderr.
	LogOutput io.Writer
	// UserAgent is sent to the API server.
	UserAgent string
	// PullSecrets reads pods' imagePullSecrets and those of their service
	// accounts (informers on Secrets and ServiceAccounts, which RBAC must
	// allow); false uses the webhook's own credentials only.
	PullSecrets bool
	// TagTTL is how long a tag stays resolved to a digest (0: for the
	// process's lifetime); NotFoundTTL how long "not found" is remembered
	// (0: not at all).
	TagTTL      time.Duration
	NotFoundTTL time.Duration
	// MaxStale is how long past its TTL an expired tag is served while its
	// revalidation fails (0: never).
	MaxStale time.Duration
	// RegistryConcurrency bounds the requests in flight per registry host;
	// NamespaceConcurrency the lookups in flight per namespace that the
	// cache cannot answer.
	RegistryConcurrency  int
	NamespaceConcurrency int
	// ShutdownDelay is how long a stopping server goes on answering, not
	// ready, before its listener closes (0: it closes at once).
	ShutdownDelay time.Duration
	// Keychain is the webhook's own registry credentials, tried after a
	// pod's pull secrets. nil: authn.DefaultKeychain (the docker config of
	// the process, credential helpers included).
	Keychain authn.Keychain
	// NewInspector builds the registry client from the options the webhook
	// needs (logger, TTLs, metrics, keychain); the command's own registry
	// flags come in through it. nil: imageinspect.New.
	NewInspector func(...imageinspect.Option) *imageinspect.Inspector
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Listen:           DefaultListen,
		MetricsListen:    DefaultMetricsListen,
		Mode:             string(DefaultMode),
		DefaultSizeLimit: DefaultSizeLimit,
		OnRegistryError:  string(AllowOnRegistryError),
		AdmissionTimeout: DefaultAdmissionTimeout,
		LogLevel:         "info",
		UserAgent:        "volumeguard",
		PullSecrets:      true,
		TagTTL:           DefaultTagTTL,
		NotFoundTTL:      DefaultNotFoundTTL,
		MaxStale:         DefaultMaxStale,

		RegistryConcurrency:  DefaultRegistryConcurrency,
		NamespaceConcurrency: DefaultNamespaceConcurrency,
	}
}

// Validate checks every option and reports all problems at once.
func (o *Options) Validate() error {
	var errs []error
	if _, err := ParseMode(o.Mode); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	if _, err := ParseSizeLimit(o.DefaultSizeLimit); err != nil {
		errs = append(errs, fmt.Errorf("--default-size-limit: %w", err))
	}
	if _, err := ParseRegistryErrorPolicy(o.OnRegistryError); err != nil {
		errs = append(errs, fmt.Errorf("--on-registry-error: %w", err))
	}
	if o.AdmissionTimeout <= 0 || o.AdmissionTimeout > maxAdmissionTimeout {
		errs = append(errs, fmt.Errorf("--admission-timeout %s: want more than 0 and at most %s, the longest webhook timeoutSeconds", o.AdmissionTimeout, maxAdmissionTimeout))
	}
	if o.TLSCertFile == "" || o.TLSPrivateKeyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file are required: the API server calls webhooks over HTTPS only"))
	}
	// A slice, not a map: the errors come out in the order of the flags.
	for _, l := range []struct{ flag, addr string }{{"--listen", o.Listen}, {"--metrics-listen", o.MetricsListen}} {
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want [HOST]:PORT: %w", l.flag, l.addr, err))
		}
	}
	if _, err := parseLogLevel(o.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if o.TagTTL < 0 {
		errs = append(errs, fmt.Errorf("--tag-ttl %s: want 0 (keep tags for the process's lifetime) or more", o.TagTTL))
	}
	if o.NotFoundTTL < 0 {
		errs = append(errs, fmt.Errorf("--not-found-ttl %s: want 0 (do not remember) or more", o.NotFoundTTL))
	}
	if o.MaxStale < 0 {
		errs = append(errs, fmt.Errorf("--max-stale %s: want 0 (never serve an expired tag) or more", o.MaxStale))
	}
	if o.RegistryConcurrency < 1 || o.RegistryConcurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("--registry-concurrency %d: want 1 to %d", o.RegistryConcurrency, maxConcurrency))
	}
	if o.NamespaceConcurrency < 1 || o.NamespaceConcurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("--namespace-concurrency %d: want 1 to %d", o.NamespaceConcurrency, maxConcurrency))
	}
	if o.ShutdownDelay < 0 || o.ShutdownDelay > maxShutdownDelay {
		errs = append(errs, fmt.Errorf("--shutdown-delay %s: want 0 to %s", o.ShutdownDelay, maxShutdownDelay))
	}
	return errors.Join(errs...)
}

// Config is validated Options, loaded: what Run needs.
type Config struct {
	Listen            string
	MetricsListen     string
	TLSCertFile       string
	TLSPrivateKeyFile string
	AdmissionTimeout  time.Duration
	// Handler holds the analysis, the defaults and the metrics; Run adds
	// the namespace informer and the pull-secret keychains.
	Handler    HandlerConfig
	RESTConfig *rest.Config
	Logger     logr.Logger
	// PullSecrets makes Run read pods' pull secrets from informers;
	// otherwise every pod gets Keychain (pullsecrets.Disabled).
	PullSecrets bool
	// Keychain is the webhook's own credentials, which the Inspector uses
	// too: the fallback after a pod's pull secrets. nil: their defaults,
	// the process's docker config (pullsecrets caches what it resolves).
	Keychain authn.Keychain
	// NewCertManager, when set, builds the manager of the certificate files
	// from the server's Kubernetes client (`serve --manage-certs`).
	NewCertManager func(kubernetes.Interface) (CertManager, error)
	// MaxInFlightBytes bounds the bytes of the admission requests held at
	// once; 0: DefaultMaxInFlightBytes. Requests beyond it get 429 at once.
	MaxInFlightBytes int64
	// ShutdownDelay is how long, once ctx is done, Run goes on answering
	// with /readyz failing before it closes the admission listener: the
	// time the Service's endpoints take to drop the replica.
	ShutdownDelay time.Duration

	// listen opens the server's listeners; nil: net.Listen. Tests make a
	// listener fail with it.
	listen func(network, address string) (net.Listener, error)
}

// Config validates the options and loads what they point to: the
// kubeconfig, the logger, the registry client.
func (o *Options) Config() (*Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	mode, _ := ParseMode(o.Mode)
	limit, _ := ParseSizeLimit(o.DefaultSizeLimit)
	onError, _ := ParseRegistryErrorPolicy(o.OnRegistryError)
	out := o.LogOutput
	if out == nil {
		out = os.Stderr
	}
	logger, err := newLogger(o.LogLevel, out)
	if err != nil {
		return nil, err
	}
	restConfig, err := loadRESTConfig(o.Kubeconfig)
	if err != nil {
		return nil, err
	}
	restConfig.UserAgent = o.UserAgent

	newInspector := o.NewInspector
	if newInspector == nil {
		newInspector = imageinspect.New
	}
	// Created here, not in Run, so that the Inspector reports into them.
	metrics := NewMetrics()
	inspector := newInspector(
		imageinspect.WithLogger(logger.WithName("imageinspect")),
		imageinspect.WithKeychain(o.Keychain), // nil: the Inspector's default
		imageinspect.WithTagTTL(o.TagTTL),
		imageinspect.WithNotFoundTTL(o.NotFoundTTL),
		imageinspect.WithMaxStale(o.MaxStale),
		imageinspect.WithHostConcurrency(o.RegistryConcurrency),
		imageinspect.WithTenantConcurrency(o.NamespaceConcurrency),
		imageinspect.WithMetrics(metrics.InspectorMetrics()),
	)
	return &Config{
		Listen:            o.Listen,
		MetricsListen:     o.MetricsListen,
		TLSCertFile:       o.TLSCertFile,
		TLSPrivateKeyFile: o.TLSPrivateKeyFile,
		AdmissionTimeout:  o.AdmissionTimeout,
		ShutdownDelay:     o.ShutdownDelay,
		Handler: HandlerConfig{
			Analyzer:         analysis.New(inspector),
			DefaultMode:      mode,
			DefaultSizeLimit: limit,
			OnRegistryError:  onError,
			Metrics:          metrics,
		},
		RESTConfig:  restConfig,
		Logger:      logger,
		PullSecrets: o.PullSecrets,
		Keychain:    o.Keychain,
	}, nil
}

// loadRESTConfig finds the API server as kubectl does: the explicit path,
// then KUBECONFIG, then ~/.kube/config, then the in-cluster config.
func loadRESTConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("finding the API server (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster): %w", err)
	}
	return c, nil
}
