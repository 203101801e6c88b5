package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// contentMetrics count content scans (ContentScans and the Inspector's
// ScanContent). Labels are fixed sets.
type contentMetrics struct {
	scans   *prometheus.CounterVec // by result: decided, unknown
	bytes   prometheus.Counter
	layers  *prometheus.CounterVec // by result: hit, miss (the layer cache)
	results *prometheus.CounterVec // by result: hit, miss (answers cached per image)
	unknown *prometheus.CounterVec // by reason: pending, unreadable
}

func newContentMetrics(r *prometheus.Registry) *contentMetrics {
	m := &contentMetrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_content_scans_total",
			Help: "Scans of an image's layers for what it ships under VOLUME paths, by result: decided (every path), unknown (some path left unknown: budget, deadline, unreadable layer).",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "volumeguard_content_bytes_read_total",
			Help: "Compressed layer bytes streamed from registries by content scans.",
		}),
		layers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_content_layer_cache_total",
			Help: "Layers content scans needed, by result: hit (their table was cached by digest), miss (streamed).",
		}, []string{"result"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_content_result_cache_total",
			Help: "Content answers admissions asked for, by result: hit (a finished scan's answer), miss (a scan was started or joined).",
		}, []string{"result"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volumeguard_content_unknown_total",
			Help: "VOLUME paths whose content an admission got as unknown, by reason: pending (the scan goes on in the background), unreadable (budget, layers or registry).",
		}, []string{"reason"}),
	}
	r.MustRegister(m.scans, m.bytes, m.layers, m.results, m.unknown)
	for _, l := range []string{"hit", "miss"} {
		m.layers.WithLabelValues(l)
		m.results.WithLabelValues(l)
	}
	return m
}

// scanned counts one Inspector scan (imageinspect.Metrics.ContentScanned).
func (m *Metrics) scanned(s imageinspect.ContentScan) {
	result := "decided"
	if s.Unknown > 0 {
		result = "unknown"
	}
	m.content.scans.WithLabelValues(result).Inc()
	m.content.bytes.Add(float64(s.BytesRead))
	m.content.layers.WithLabelValues("hit").Add(float64(s.LayersCached))
	m.content.layers.WithLabelValues("miss").Add(float64(s.LayersRead))
}

func (m *Metrics) contentResult(hit bool) {
	if m == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.content.results.WithLabelValues(result).Inc()
}

func (m *Metrics) contentUnknown(n int) {
	if m != nil && n > 0 {
		m.content.unknown.WithLabelValues("unreadable").Add(float64(n))
	}
}

func (m *Metrics) contentPending(n int) {
	if m != nil && n > 0 {
		m.content.unknown.WithLabelValues("pending").Add(float64(n))
	}
}
