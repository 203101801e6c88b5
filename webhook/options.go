package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/go-logr/logr"
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
	// tagTTL is how long a tag stays resolved: a re-pushed tag is seen
	// within minutes, while a busy cluster does not ask the registry for
	// every pod.
	tagTTL = 5 * time.Minute
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
	// NewInspector builds the registry client from the options the webhook
	// needs (logger, tag TTL); the command's own registry flags come in
	// through it. nil: imageinspect.New.
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
	for flag, addr := range map[string]string{"--listen": o.Listen, "--metrics-listen": o.MetricsListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want [HOST]:PORT: %w", flag, addr, err))
		}
	}
	if _, err := parseLogLevel(o.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
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
	// Handler holds the analysis and the defaults; Run adds the namespace
	// informer and the metrics.
	Handler    HandlerConfig
	RESTConfig *rest.Config
	Logger     logr.Logger
	// NewCertManager, when set, builds the manager of the certificate files
	// from the server's Kubernetes client (`serve --manage-certs`).
	NewCertManager func(kubernetes.Interface) (CertManager, error)
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
	inspector := newInspector(imageinspect.WithLogger(logger.WithName("imageinspect")), imageinspect.WithTagTTL(tagTTL))
	return &Config{
		Listen:            o.Listen,
		MetricsListen:     o.MetricsListen,
		TLSCertFile:       o.TLSCertFile,
		TLSPrivateKeyFile: o.TLSPrivateKeyFile,
		AdmissionTimeout:  o.AdmissionTimeout,
		Handler: HandlerConfig{
			Analyzer:         analysis.New(inspector),
			DefaultMode:      mode,
			DefaultSizeLimit: limit,
			OnRegistryError:  onError,
		},
		RESTConfig: restConfig,
		Logger:     logger,
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
