package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/certs"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/keychain"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/settings"
	"github.com/volumeguard/volumeguard/webhook"
)

// Defaults of the serve flags, with their reasons.
const (
	defaultListen        = ":8443"
	defaultMetricsListen = ":8080"
	defaultMode          = webhook.ModeAudit // the safe rollout: nothing is changed or denied
	defaultSizeLimit     = "1Gi"
	// The API server's default webhook timeoutSeconds is 10s: the answer
	// arrives before it gives up.
	defaultAdmissionTimeout = 8 * time.Second
	// A re-pushed tag is seen within minutes, while a busy cluster does not
	// ask the registry for every pod.
	defaultTagTTL = 5 * time.Minute
	// A crash-looping controller with a typo in an image does not send a
	// request per pod, and an image pushed a moment later is seen.
	defaultNotFoundTTL = 30 * time.Second
	// A registry outage of minutes does not fail every admission, one of
	// hours is not hidden.
	defaultMaxStale = time.Hour
	// A registry that hangs holds only its own slots.
	defaultRegistryConcurrency = 8
	// Half a registry's slots, so that one namespace never holds them all.
	defaultNamespaceConcurrency = 4
	// maxShutdownDelay keeps the delay and the drain (--admission-timeout)
	// within the kubelet's default terminationGracePeriodSeconds (30).
	maxShutdownDelay = 20 * time.Second
)

// serveOptions are the flags of serve: the webhook's, the registry flags
// every command reading images shares, and those of --manage-certs.
// validate checks them all at once; config turns them into what
// webhook.Run needs.
type serveOptions struct {
	listen, metricsListen       string
	tlsCertFile, tlsKeyFile     string
	mode, sizeLimit, onRegistry string
	admissionTimeout            time.Duration
	kubeconfig, logLevel        string
	pullSecrets                 bool
	tagTTL, notFoundTTL         time.Duration
	maxStale                    time.Duration
	registryConcurrency         int
	namespaceConcurrency        int
	shutdownDelay               time.Duration
	populated, populatedUnknown string
	copierImage                 string
	scanContent                 bool
	contentBudget               string

	registry   registryOptions
	managed    certOptions
	audit      continuousAuditOptions
	exceptions serveExceptions
}

func newServeOptions() *serveOptions {
	return &serveOptions{
		listen: defaultListen, metricsListen: defaultMetricsListen,
		mode: string(defaultMode), sizeLimit: defaultSizeLimit, onRegistry: string(webhook.AllowOnRegistryError),
		admissionTimeout: defaultAdmissionTimeout, logLevel: "info", pullSecrets: true,
		tagTTL: defaultTagTTL, notFoundTTL: defaultNotFoundTTL, maxStale: defaultMaxStale,
		registryConcurrency: defaultRegistryConcurrency, namespaceConcurrency: defaultNamespaceConcurrency,
		audit: newContinuousAuditOptions(),
		// skip and skip: an emptyDir over files the image ships can break
		// the application; leaving the path to the runtime changes nothing.
		populated: string(policy.PopulatedSkip), populatedUnknown: string(policy.UnknownSkip),
		scanContent: true, contentBudget: defaultContentBudget,
	}
}

// 1 GiB reads the large applications that ship files under their VOLUMEs
// (sonarqube, neo4j, nexus3) whole; a scan the admission deadline cuts
// short goes on in the background.
const defaultContentBudget = "1Gi"

// validated is what validate made of the flags that config reads.
type validated struct {
	mode              webhook.Mode
	sizeLimit         resource.Quantity
	settings          *settings.Settings // --config; nil: none
	onRegistryError   webhook.RegistryErrorPolicy
	certFile, keyFile string // --manage-certs' when it is set
	populated         policy.PopulatedPolicy
	populatedUnknown  policy.UnknownPolicy
	contentBudget     int64 // 0: --scan-content=false
}

// validate checks every flag and reports all problems at once, in the
// order of the flags.
func (so *serveOptions) validate() (validated, error) {
	var v validated
	var errs []error
	var err error
	if v.mode, err = webhook.ParseMode(so.mode); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	if v.sizeLimit, err = webhook.ParseSizeLimit(so.sizeLimit); err != nil {
		errs = append(errs, fmt.Errorf("--default-size-limit: %w", err))
	}
	if v.onRegistryError, err = webhook.ParseRegistryErrorPolicy(so.onRegistry); err != nil {
		errs = append(errs, fmt.Errorf("--on-registry-error: %w", err))
	}
	if so.admissionTimeout <= 0 || so.admissionTimeout > webhook.MaxAdmissionTimeout {
		errs = append(errs, fmt.Errorf("--admission-timeout %s: want more than 0 and at most %s, the longest webhook timeoutSeconds", so.admissionTimeout, webhook.MaxAdmissionTimeout))
	}
	v.certFile, v.keyFile, err = so.managed.tlsFiles(so.tlsCertFile, so.tlsKeyFile)
	errs = append(errs, err)
	if v.certFile == "" || v.keyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file are required: the API server calls webhooks over HTTPS only"))
	}
	// A slice, not a map: the errors come out in the order of the flags.
	for _, l := range []struct{ flag, addr string }{{"--listen", so.listen}, {"--metrics-listen", so.metricsListen}} {
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want [HOST]:PORT: %w", l.flag, l.addr, err))
		}
	}
	if _, err := parseLogLevel(so.logLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	for _, d := range []struct {
		flag, zero string
		d          time.Duration
	}{
		{"--tag-ttl", "keep tags for the process's lifetime", so.tagTTL},
		{"--not-found-ttl", "do not remember", so.notFoundTTL},
		{"--max-stale", "never serve an expired tag", so.maxStale},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s %s: want 0 (%s) or more", d.flag, d.d, d.zero))
		}
	}
	for _, c := range []struct {
		flag string
		n    int
	}{{"--registry-concurrency", so.registryConcurrency}, {"--namespace-concurrency", so.namespaceConcurrency}} {
		if c.n < 1 || c.n > maxConcurrency {
			errs = append(errs, fmt.Errorf("%s %d: want 1 to %d", c.flag, c.n, maxConcurrency))
		}
	}
	if so.shutdownDelay < 0 || so.shutdownDelay > maxShutdownDelay {
		errs = append(errs, fmt.Errorf("--shutdown-delay %s: want 0 to %s", so.shutdownDelay, maxShutdownDelay))
	}
	errs = append(errs, so.managed.validate(), so.audit.validate())
	if v.settings, v.sizeLimit, err = so.exceptions.load(v.sizeLimit); err != nil {
		errs = append(errs, err)
	}
	if v.populated, err = policy.ParsePopulatedPolicy(so.populated); err != nil {
		errs = append(errs, fmt.Errorf("--populated-volumes: %w", err))
	}
	if v.populatedUnknown, err = policy.ParseUnknownPolicy(so.populatedUnknown); err != nil {
		errs = append(errs, fmt.Errorf("--populated-unknown: %w", err))
	}
	if so.scanContent {
		if q, err := resource.ParseQuantity(so.contentBudget); err != nil || q.Value() <= 0 {
			errs = append(errs, fmt.Errorf("--content-budget %q: want a quantity more than 0 (1073741824, 512Mi, 1Gi)", so.contentBudget))
		} else {
			v.contentBudget = q.Value()
		}
	}
	return v, errors.Join(errs...)
}

// config checks the flags and builds what webhook.Run needs: the logger
// (JSON lines to logs), the API server's address, the registry client and
// the analysis, the metrics they count into, and the certificate manager
// of --manage-certs.
func (so *serveOptions) config(logs io.Writer) (*webhook.Config, error) {
	v, err := so.validate()
	if err != nil {
		return nil, err
	}
	logger, err := newLogger(so.logLevel, logs)
	if err != nil {
		return nil, err
	}
	rest, _, err := restConfig(so.kubeconfig, "")
	if err != nil {
		return nil, err
	}
	// Made before the Inspector, so that it reports into them.
	metrics := webhook.NewMetrics()
	// One cache of volumeguard's own credentials, for the Inspector and
	// after each pod's pull secrets.
	own := keychain.Own()
	inspector, err := so.registry.inspector(
		imageinspect.WithKeychain(own),
		imageinspect.WithLogger(logger.WithName("imageinspect")),
		imageinspect.WithTagTTL(so.tagTTL),
		imageinspect.WithNotFoundTTL(so.notFoundTTL),
		imageinspect.WithMaxStale(so.maxStale),
		imageinspect.WithHostConcurrency(so.registryConcurrency),
		imageinspect.WithTenantConcurrency(so.namespaceConcurrency),
		imageinspect.WithMetrics(metrics.InspectorMetrics()),
		imageinspect.WithContentBudget(max(v.contentBudget, 1)),
	)
	if err != nil {
		return nil, err
	}
	var analyzerOpts []analysis.Option
	if v.contentBudget > 0 {
		// Background scans end with the process; each is bounded in time.
		scans := webhook.NewContentScans(context.Background(), inspector, 0, 0, metrics)
		analyzerOpts = append(analyzerOpts, analysis.WithContentScanner(scans))
	}
	cfg := &webhook.Config{
		Listen:            so.listen,
		MetricsListen:     so.metricsListen,
		TLSCertFile:       v.certFile,
		TLSPrivateKeyFile: v.keyFile,
		AdmissionTimeout:  so.admissionTimeout,
		ShutdownDelay:     so.shutdownDelay,
		Handler: webhook.HandlerConfig{
			Analyzer:         analysis.New(inspector, analyzerOpts...),
			DefaultMode:      v.mode,
			DefaultSizeLimit: v.sizeLimit,
			OnRegistryError:  v.onRegistryError,
			Metrics:          metrics,
			Settings:         v.settings,
			AllowPodIgnore:   so.exceptions.allowPodIgnore,
			Populated:        v.populated,
			PopulatedUnknown: v.populatedUnknown,
			CopierImage:      so.copierImage,
		},
		RESTConfig:  rest,
		Logger:      logger,
		PullSecrets: so.pullSecrets,
		Keychain:    own,
	}
	cfg.Alongside = so.audit.alongside(rest, v.sizeLimit, logger.WithName("audit"))
	if so.managed.manage {
		log := logger.WithName("certs")
		cfg.NewCertManager = func(client kubernetes.Interface) (webhook.CertManager, error) {
			return certs.NewManager(so.managed.managerConfig(client, log))
		}
	}
	return cfg, nil
}
