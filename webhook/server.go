package webhook

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// Run serves metrics and health over HTTP on cfg.MetricsListen at once, and
// the admission endpoints over HTTPS on cfg.Listen once the serving
// certificate is loaded, until ctx is done; then it stops accepting
// requests and drains those in flight.
func Run(ctx context.Context, cfg *Config) error {
	log := cfg.Logger
	client, err := kubernetes.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	// Watch events keep the cache current: no resync needed.
	factory := informers.NewSharedInformerFactory(client, 0)
	namespaces := factory.Core().V1().Namespaces()
	informer := namespaces.Informer()
	keychains, secrets := pullSecretsSource(client, factory, cfg.PullSecrets, cfg.Keychain, log.WithName("pullsecrets"))

	// Both ports are taken first, so that a port in use fails at once.
	webhookLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for admission requests: %w", err)
	}
	defer webhookLn.Close()
	metricsLn, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("listening for metrics: %w", err)
	}
	defer metricsLn.Close()

	metrics := cfg.Handler.Metrics
	if metrics == nil {
		metrics = NewMetrics()
	}
	cert := &servingCert{}
	var stopping atomic.Bool
	notReady := func() []string {
		var reasons []string
		if stopping.Load() {
			reasons = append(reasons, "shutting down")
		}
		if !informer.HasSynced() {
			reasons = append(reasons, "the namespace informer has not synced with the API server")
		}
		if !keychains.HasSynced() {
			reasons = append(reasons, "the pull-secret informers (secrets, serviceaccounts) have not synced with the API server")
		}
		if !cert.loaded() {
			reasons = append(reasons, "no serving certificate loaded")
		}
		return reasons
	}
	errorLog := stdlog.New(stdLogWriter{log.WithName("http")}, "", 0)
	metricsSrv := &http.Server{Handler: opsMux(metrics, notReady), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}

	hc := cfg.Handler
	hc.Metrics = metrics
	hc.Namespaces = &namespaceGetter{lister: namespaces.Lister(), client: client}
	hc.Keychains = keychains
	mux := http.NewServeMux()
	for _, e := range []Endpoint{Mutating, Validating} {
		mux.Handle("/"+string(e), newReviewHandler(e, NewHandler(hc, e), cfg.AdmissionTimeout, metrics, log.WithName(string(e))))
	}
	webhookSrv := &http.Server{
		Handler:           mux,
		TLSConfig:         cert.tlsConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          errorLog,
		Protocols:         http1Only(),
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- serve(metricsSrv.Serve(metricsLn), "metrics") }()
	log.Info("serving metrics and health", "metrics", metricsLn.Addr().String())
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if secrets != nil {
		secrets.Start(ctx.Done())
		defer secrets.Shutdown()
	}
	synced := func() bool { return informer.HasSynced() && keychains.HasSynced() }
	go reportSync(ctx, log, synced, cfg.RESTConfig.Host)

	if err := cert.load(ctx, cfg, client, log.WithName("certs")); err != nil {
		if ctx.Err() != nil {
			// Stopped while waiting for the certificate: a clean shutdown.
			err = nil
		}
		return errors.Join(err, metricsSrv.Close())
	}
	go func() { errc <- serve(webhookSrv.ServeTLS(webhookLn, "", ""), "admission") }()
	log.Info("serving", "admission", webhookLn.Addr().String(), "metrics", metricsLn.Addr().String(),
		"mode", hc.DefaultMode, "defaultSizeLimit", hc.DefaultSizeLimit.String(),
		"onRegistryError", hc.OnRegistryError, "admissionTimeout", cfg.AdmissionTimeout.String(), "pullSecrets", cfg.PullSecrets)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopping.Store(true)
	log.Info("shutting down: draining in-flight admission requests")
	// In-flight requests end within the admission timeout.
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), cfg.AdmissionTimeout+2*time.Second)
	defer cancelDrain()
	err = errors.Join(runErr, webhookSrv.Shutdown(drainCtx), metricsSrv.Shutdown(drainCtx))
	log.Info("stopped")
	return err
}

func serve(err error, what string) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serving %s: %w", what, err)
}

// namespaceGetter reads namespaces from the informer's cache, and from the
// API server only when the cache does not have one yet: a namespace created
// an instant before its first pod must still give that pod its mode.
type namespaceGetter struct {
	lister corev1listers.NamespaceLister
	client kubernetes.Interface
}

// namespaceGetTimeout bounds the rare live read so that it leaves the
// registry lookups most of the request's time.
const namespaceGetTimeout = time.Second

func (n *namespaceGetter) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := n.lister.Get(name)
	if err == nil || !apierrors.IsNotFound(err) {
		return ns, err
	}
	ctx, cancel := context.WithTimeout(ctx, namespaceGetTimeout)
	defer cancel()
	return n.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}
