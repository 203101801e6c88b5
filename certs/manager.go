package certs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults of Config, with their reasons.
const (
	// DefaultCAValidity: the CA is in every webhook configuration; changing it
	// is the delicate part, so it is rare.
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// DefaultServingValidity: a year, renewed after two thirds of it.
	DefaultServingValidity = 365 * 24 * time.Hour
	// DefaultRenewFraction: renew when a third of a lifetime remains, which
	// leaves months to notice a rotation that keeps failing.
	DefaultRenewFraction = 1.0 / 3
	// DefaultCheckInterval: certificates live for months; an hourly look also
	// repairs a caBundle someone overwrote without a watch event we saw.
	DefaultCheckInterval = time.Hour
	// DefaultCAPropagation: API servers see a caBundle change within seconds;
	// an hour is ample and still nothing against a CA's life.
	DefaultCAPropagation = time.Hour
)

// maxRetryDelay caps the wait between failed reconciliations.
const maxRetryDelay = time.Minute

// Config says which certificates the Manager keeps and where.
type Config struct {
	// Client reaches the API server.
	Client kubernetes.Interface
	// Namespace holds the Secret and the Service.
	Namespace string
	// SecretName is the kubernetes.io/tls Secret that all replicas share.
	SecretName string
	// ServiceName is the webhook's Service; the serving certificate is for its DNS names.
	ServiceName string
	// MutatingWebhookConfigurationName and ValidatingWebhookConfigurationName
	// get the CA in each of their webhooks' caBundle. Empty: none of that kind.
	MutatingWebhookConfigurationName   string
	ValidatingWebhookConfigurationName string
	// CertDir receives tls.crt, tls.key and ca.crt.
	CertDir string

	// The rest is optional.

	// DNSNames default to ServiceDNSNames(ServiceName, Namespace). An entry
	// that is an IP address becomes an IP SAN (a webhook reached by URL).
	DNSNames        []string
	CAValidity      time.Duration // default DefaultCAValidity
	ServingValidity time.Duration // default DefaultServingValidity
	RenewFraction   float64       // in (0, 1); default DefaultRenewFraction
	CheckInterval   time.Duration // default DefaultCheckInterval
	CAPropagation   time.Duration // default DefaultCAPropagation
	Log             logr.Logger   // default: discard
	Now             func() time.Time
}

// Manager keeps the Secret, the files in CertDir and the webhook
// configurations' caBundle in step. Every replica runs one.
type Manager struct {
	cfg       Config
	rotation  rotationPolicy
	ready     chan struct{}
	readyOnce sync.Once
	// changed wakes Run when a watched object changes; one pending wake-up is enough.
	changed chan struct{}
}

// NewManager checks cfg and fills in its defaults.
func NewManager(cfg Config) (*Manager, error) {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"Namespace", cfg.Namespace}, {"SecretName", cfg.SecretName},
		{"ServiceName", cfg.ServiceName}, {"CertDir", cfg.CertDir},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	if cfg.Client == nil {
		errs = append(errs, errors.New("Client is nil"))
	}
	if cfg.RenewFraction < 0 || cfg.RenewFraction >= 1 {
		errs = append(errs, fmt.Errorf("RenewFraction %v is not in [0, 1)", cfg.RenewFraction))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("configuring certificate manager: %w", err)
	}
	if len(cfg.DNSNames) == 0 {
		cfg.DNSNames = ServiceDNSNames(cfg.ServiceName, cfg.Namespace)
	}
	// Compared with the names of the certificate in the Secret: a
	// non-canonical address would otherwise renew it on every pass.
	cfg.DNSNames = canonicalNames(cfg.DNSNames)
	setDefault(&cfg.CAValidity, DefaultCAValidity)
	setDefault(&cfg.ServingValidity, DefaultServingValidity)
	setDefault(&cfg.RenewFraction, DefaultRenewFraction)
	setDefault(&cfg.CheckInterval, DefaultCheckInterval)
	setDefault(&cfg.CAPropagation, DefaultCAPropagation)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{
		cfg: cfg,
		rotation: rotationPolicy{
			dnsNames:        cfg.DNSNames,
			caName:          cfg.ServiceName + "." + cfg.Namespace + "-ca",
			caValidity:      cfg.CAValidity,
			servingValidity: cfg.ServingValidity,
			renewFraction:   cfg.RenewFraction,
			caPropagation:   cfg.CAPropagation,
		},
		ready:   make(chan struct{}),
		changed: make(chan struct{}, 1),
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Ready is closed once the certificate files are first written. The TLS
// server (certwatcher.New reads the files at once) must wait for it.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Run reconciles at once, then on every change of the Secret or of a webhook
// configuration, every CheckInterval, and sooner after a failure, until ctx
// is done. Failures are logged and retried, never returned: a replica keeps
// its last good files meanwhile.
func (m *Manager) Run(ctx context.Context) error {
	stopWatching, err := m.watch(ctx)
	if err != nil {
		return err
	}
	// Shutdown waits for the informers, which stop once ctx is done.
	defer stopWatching()
	log := m.cfg.Log
	delay := time.Duration(0)
	for {
		wait := m.cfg.CheckInterval
		if err := m.reconcile(ctx); err != nil {
			delay = min(max(2*delay, time.Second), maxRetryDelay)
			wait = delay
			log.Error(err, "reconciling serving certificate", "retryIn", wait)
		} else {
			delay = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-m.changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// reconcile makes one pass: Secret, then caBundle, then files, so that a
// replica serves a certificate only once the API server can trust it.
func (m *Manager) reconcile(ctx context.Context) error {
	data, err := m.ensureSecret(ctx)
	if err != nil {
		return err
	}
	if err := m.injectCABundle(ctx, data[caCertKey]); err != nil {
		return err
	}
	changed, err := WriteFiles(m.cfg.CertDir, data[caCertKey], KeyPair{CertPEM: data[corev1.TLSCertKey], KeyPEM: data[corev1.TLSPrivateKeyKey]})
	if err != nil {
		return err
	}
	if changed {
		m.cfg.Log.Info("wrote serving certificate", "dir", m.cfg.CertDir)
	}
	m.readyOnce.Do(func() { close(m.ready) })
	return nil
}

// poke wakes Run without blocking: a wake-up already pending covers this one.
func (m *Manager) poke() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}
