package webhook

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// Decisions, as the "decision" label of the request metric says them.
const (
	decisionAllowed = "allowed"
	decisionDenied  = "denied"
	decisionPatched = "patched"
	decisionError   = "error"
)

// Metrics are the webhook's Prometheus metrics, on a registry of their own:
// nothing global, so several servers (tests) can live in one process.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	lookups      *prometheus.CounterVec
	lookupErrors *prometheus.CounterVec
	findings     *prometheus.CounterVec
}

// NewMetrics registers the webhook's metrics, and the Go runtime and process
// collectors, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_admission_requests_total",
			Help: "Admission requests answered, by endpoint, operation, namespace mode and decision (allowed, denied, patched, error).",
		}, []string{"webhook", "operation", "mode", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "volumeguard_admission_duration_seconds",
			Help: "Time to answer an admission request, registry lookups included.",
			// 5ms (cached images) to 10s (past the 8s admission timeout).
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"webhook"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_image_lookups_total",
			Help: "Images looked up for admission requests (cached or not), by endpoint.",
		}, []string{"webhook"}),
		lookupErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_image_lookup_errors_total",
			Help: "Images that could not be read, by reason: not_found, unauthorized, timeout, other.",
		}, []string{"webhook", "reason"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_findings_total",
			Help: "Image VOLUMEs found without a covering volumeMount, by endpoint and namespace mode.",
		}, []string{"webhook", "mode"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.lookups, m.lookupErrors, m.findings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *Metrics) request(e Endpoint, operation string, mode Mode, decision string, d time.Duration) {
	if operation == "" {
		operation = "unknown"
	}
	modeLabel := string(mode)
	if modeLabel == "" {
		modeLabel = "none"
	}
	m.requests.WithLabelValues(string(e), operation, modeLabel, decision).Inc()
	m.duration.WithLabelValues(string(e)).Observe(d.Seconds())
}

// analysed counts the distinct images of one analysis and why those that
// failed did.
func (m *Metrics) analysed(e Endpoint, mode Mode, res analysis.Result) {
	failed := map[string]string{}
	for _, err := range res.Errors {
		failed[err.Image] = errorReason(err.Err)
	}
	m.lookups.WithLabelValues(string(e)).Add(float64(len(res.Images) + len(failed)))
	for _, reason := range failed {
		m.lookupErrors.WithLabelValues(string(e), reason).Inc()
	}
	m.findings.WithLabelValues(string(e), string(mode)).Add(float64(len(res.Findings)))
}

// errorReason classifies why an image could not be read.
func errorReason(err error) string {
	switch {
	case errors.Is(err, imageinspect.ErrNotFound):
		return "not_found"
	case errors.Is(err, imageinspect.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, imageinspect.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

// decisionOf reads the decision from a response.
func decisionOf(resp admission.Response) string {
	switch {
	case resp.Allowed && (len(resp.Patches) > 0 || len(resp.Patch) > 0):
		return decisionPatched
	case resp.Allowed:
		return decisionAllowed
	case resp.Result != nil && resp.Result.Code == http.StatusForbidden:
		return decisionDenied
	}
	return decisionError
}
