package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// Run serves metrics and health over HTTP on cfg.MetricsListen at once, and
// the admission endpoints over HTTPS on cfg.Listen once the serving
// certificate is loaded, until ctx is done; then it fails /readyz, goes on
// answering for cfg.ShutdownDelay (each answer closing its connection),
// stops accepting requests and drains those in flight. A fatal error (a certificate that
// cannot be loaded or managed, a server that stops serving) ends it too,
// and Run returns it, so that the process exits with its message and the
// kubelet restarts it.
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
	listen := cfg.listen
	if listen == nil {
		listen = net.Listen
	}
	webhookLn, err := listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for admission requests: %w", err)
	}
	defer webhookLn.Close()
	metricsLn, err := listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("listening for metrics: %w", err)
	}
	defer metricsLn.Close()

	metrics := cfg.Handler.Metrics
	if metrics == nil {
		metrics = NewMetrics()
	}
	cert := &servingCert{}
	var stopping, draining atomic.Bool
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
	metricsSrv := opsServer(opsMux(metrics, notReady), errorLog)

	hc := cfg.Handler
	hc.Metrics = metrics
	hc.Namespaces = &namespaceGetter{lister: namespaces.Lister(), client: client}
	hc.Keychains = keychains
	webhookSrv := admissionServer(closingWhen(&draining, admissionMux(hc, cfg.AdmissionTimeout, cfg.MaxInFlightBytes, log)), cert.tlsConfig(), errorLog)

	ctx, cancel := context.WithCancel(ctx)
	bg := newBackground(log)
	// The informers, the certificate manager and watcher stop only once ctx
	// is cancelled: cancel first, then wait for them, in one deferred call
	// so that no return path can wait for what only cancel stops.
	defer func() {
		cancel()
		factory.Shutdown()
		if secrets != nil {
			secrets.Shutdown()
		}
		bg.wait()
	}()
	bg.run(ctx, func(context.Context) error { return serve(metricsSrv.Serve(metricsLn), "metrics") })
	log.Info("serving metrics and health", "metrics", metricsLn.Addr().String())
	factory.Start(ctx.Done())
	if secrets != nil {
		secrets.Start(ctx.Done())
	}
	synced := func() bool { return informer.HasSynced() && keychains.HasSynced() }
	bg.run(ctx, func(ctx context.Context) error { reportSync(ctx, log, synced, cfg.RESTConfig.Host); return nil })
	if cfg.Alongside != nil {
		shared := Shared{Client: client, Analyzer: hc.Analyzer, Keychains: keychains, Metrics: metrics.Registerer(), Synced: keychains.HasSynced}
		bg.run(ctx, func(ctx context.Context) error { return cfg.Alongside(ctx, shared) })
	}

	// Loaded in the background, so that a fatal error while the
	// certificate manager has not written the files yet ends Run too.
	loaded := make(chan error, 1)
	bg.run(ctx, func(ctx context.Context) error {
		loaded <- cert.load(ctx, cfg, client, bg, log.WithName("certs"))
		return nil
	})
	var runErr error
	serving := false
	select {
	case <-ctx.Done():
	case runErr = <-bg.fatal:
	case runErr = <-loaded:
	}
	if runErr == nil && ctx.Err() == nil {
		serving = true
		bg.run(ctx, func(context.Context) error { return serve(webhookSrv.ServeTLS(webhookLn, "", ""), "admission") })
		log.Info("serving", "admission", webhookLn.Addr().String(), "metrics", metricsLn.Addr().String(),
			"mode", hc.DefaultMode, "defaultSizeLimit", hc.DefaultSizeLimit.String(),
			"onRegistryError", hc.OnRegistryError, "admissionTimeout", cfg.AdmissionTimeout.String(), "pullSecrets", cfg.PullSecrets)
		select {
		case <-ctx.Done():
		case runErr = <-bg.fatal:
		}
	}
	if ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
		// Stopped while loading the certificate: a clean shutdown.
		runErr = nil
	}
	stopping.Store(true)
	if runErr == nil && serving && cfg.ShutdownDelay > 0 {
		// Not ready, and still answering: the Service's endpoints drop this
		// replica and the API server opens its next connections to the
		// others before this listener closes. Closed at once, connections
		// were refused, and requests written onto kept-alive connections
		// as they closed failed (POSTs are not retried): under
		// failurePolicy Fail, failed pod creations (found by test/chaos).
		log.Info("shutting down: not ready, answering for the shutdown delay", "delay", cfg.ShutdownDelay.String())
		draining.Store(true)
		select {
		case <-time.After(cfg.ShutdownDelay):
		case runErr = <-bg.fatal:
		}
	}
	if runErr != nil {
		log.Error(runErr, "stopping on a fatal error")
	}
	log.Info("shutting down: draining in-flight admission requests")
	// In-flight requests end within the admission timeout.
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), cfg.AdmissionTimeout+2*time.Second)
	defer cancelDrain()
	err = errors.Join(runErr, webhookSrv.Shutdown(drainCtx), metricsSrv.Shutdown(drainCtx))
	log.Info("stopped")
	return err
}

// closingWhen answers "Connection: close" once draining is set: the client
// opens its next connection elsewhere instead of reusing one that this
// server is about to close.
func closingWhen(draining *atomic.Bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// admissionMux routes /mutate and /validate to their handlers, which share
// one bound on the request bytes in flight.
func admissionMux(hc HandlerConfig, timeout time.Duration, maxInFlightBytes int64, log logr.Logger) *http.ServeMux {
	inFlight := newRequestBytes(maxInFlightBytes)
	mux := http.NewServeMux()
	for _, e := range []Endpoint{Mutating, Validating} {
		mux.Handle("/"+string(e), newReviewHandler(e, NewHandler(hc, e), timeout, inFlight, hc.Metrics, log.WithName(string(e))))
	}
	return mux
}

// admissionServer serves the admission endpoints. Each request bounds its
// own body and answer by its deadline (reviewHandler); the server's
// timeouts bound the rest: headers, idle keep-alive connections, and the
// bodies of requests to other paths, which net/http reads to reuse the
// connection.
func admissionServer(h http.Handler, tlsConfig *tls.Config, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       MaxAdmissionTimeout,
		WriteTimeout:      MaxAdmissionTimeout + answerWriteTime,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          errorLog,
		Protocols:         http1Only(),
	}
}

// opsServer serves metrics and health: small GETs, answered at once.
func opsServer(h http.Handler, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          errorLog,
	}
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
