package webhook

import (
	"net/http"
	"strconv"
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
// Every label is a small fixed set: never an image, a registry host or a
// namespace, which pod specs and users control.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	lookupErrors *prometheus.CounterVec
	findings     *prometheus.CounterVec
	// Reported by the Inspector (InspectorMetrics).
	cache            *prometheus.CounterVec
	registryRequests *prometheus.CounterVec
	lookups          *prometheus.CounterVec
	content          *contentMetrics
}

// Registerer is the metrics' registry, for what runs alongside the
// webhook in the same server (the continuous audit).
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

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
		lookupErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_image_lookup_errors_total",
			Help: "Images of admission requests that could not be read, by endpoint and reason (imageinspect.Reason: not_found, unauthorized, timeout, ...).",
		}, []string{"webhook", "reason"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_findings_total",
			Help: "Image VOLUMEs found without a covering volumeMount, by endpoint and namespace mode.",
		}, []string{"webhook", "mode"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_registry_cache_total",
			Help: "Registry cache lookups, by kind (tag, manifest, config, not_found) and result (hit, miss).",
		}, []string{"kind", "result"}),
		registryRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_registry_requests_total",
			Help: "HTTP requests sent to registries, each retry included, by kind (manifest, manifest_head, config, other) and status code (none: no response).",
		}, []string{"kind", "code"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_image_lookups_total",
			Help: "Image inspections (cached or not), by reason: ok, or why the image could not be read (imageinspect.Reason).",
		}, []string{"reason"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.lookupErrors, m.findings, m.cache, m.registryRequests, m.lookups,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.content = newContentMetrics(m.registry)
	// The cache series exist from the start, so that a hit ratio is
	// defined before the first miss.
	for _, kind := range []imageinspect.CacheKind{imageinspect.CacheTag, imageinspect.CacheManifest, imageinspect.CacheConfig, imageinspect.CacheNotFound} {
		m.cache.WithLabelValues(string(kind), "hit")
		m.cache.WithLabelValues(string(kind), "miss")
	}
	return m
}

// InspectorMetrics are the callbacks through which an Inspector counts into
// m (imageinspect.WithMetrics).
func (m *Metrics) InspectorMetrics() imageinspect.Metrics {
	return imageinspect.Metrics{
		CacheLookup: func(kind imageinspect.CacheKind, hit bool) {
			result := "miss"
			if hit {
				result = "hit"
			}
			m.cache.WithLabelValues(string(kind), result).Inc()
		},
		Request: func(kind imageinspect.RequestKind, code int) {
			m.registryRequests.WithLabelValues(string(kind), codeLabel(code)).Inc()
		},
		Inspected: func(reason string) {
			if reason == "" {
				reason = "ok"
			}
			m.lookups.WithLabelValues(reason).Inc()
		},
		ContentScanned: m.scanned,
	}
}

// codeLabel names a registry's HTTP status for a label. Any registry a pod
// names can answer any number, so only the statuses registries really use
// are kept as they are; others become their class ("2xx"), and a request
// that got no response is "none".
func codeLabel(code int) string {
	switch code {
	case 0:
		return "none"
	case 200, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408, 429, 500, 502, 503, 504:
		return strconv.Itoa(code)
	}
	if code >= 100 && code < 600 {
		return strconv.Itoa(code/100) + "xx"
	}
	return "other"
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

// analysed counts why the distinct images of one analysis that failed did,
// and its findings. (The Inspector counts the lookups themselves.)
func (m *Metrics) analysed(e Endpoint, mode Mode, res analysis.Result) {
	failed := map[string]string{}
	for _, err := range res.Errors {
		failed[err.Image] = errorReason(err.Err)
	}
	for _, reason := range failed {
		m.lookupErrors.WithLabelValues(string(e), reason).Inc()
	}
	m.findings.WithLabelValues(string(e), string(mode)).Add(float64(len(res.Findings) + res.FindingsOmitted))
}

// errorReason classifies why an image could not be read, as the Inspector's
// metrics do, so that labels, messages and audit annotations agree.
func errorReason(err error) string {
	return imageinspect.Reason(err)
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
