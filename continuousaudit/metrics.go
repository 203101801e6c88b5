package continuousaudit

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/volumeguard/volumeguard/audit"
)

// DefaultMaxSeries bounds the per-workload series: a cluster where every
// workload has findings must not cost Prometheus a series per workload
// forever. The workloads with the most uncovered volumes are kept.
const DefaultMaxSeries = 500

// Metrics are the continuous audit's.
type Metrics struct {
	uncovered *prometheus.GaugeVec
	omitted   prometheus.Gauge
	leader    prometheus.Gauge
	lastRun   prometheus.Gauge
	maxSeries int

	mu      sync.Mutex
	current map[workloadLabels]bool
}

type workloadLabels struct{ namespace, kind, name string }

// NewMetrics registers the metrics on reg; at most maxSeries workloads
// (<= 0: DefaultMaxSeries) get a series of their own.
func NewMetrics(reg prometheus.Registerer, maxSeries int) (*Metrics, error) {
	if maxSeries <= 0 {
		maxSeries = DefaultMaxSeries
	}
	m := &Metrics{
		uncovered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "volumeguard_workload_uncovered_volumes",
			Help: "Image VOLUMEs without a covering volumeMount, per workload, as the last background audit found them (exported by the elected replica only; at most the workloads with the most).",
		}, []string{"namespace", "kind", "name"}),
		omitted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "volumeguard_workload_uncovered_volumes_omitted_workloads",
			Help: "Workloads with uncovered volumes left out of volumeguard_workload_uncovered_volumes to bound its series.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "volumeguard_audit_leader",
			Help: "1 on the replica elected to run the background audit, else 0.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "volumeguard_audit_last_run_timestamp_seconds",
			Help: "When this replica's last background audit finished (Unix time); 0 before the first.",
		}),
		maxSeries: maxSeries,
		current:   map[workloadLabels]bool{},
	}
	for _, c := range []prometheus.Collector{m.uncovered, m.omitted, m.leader, m.lastRun} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// update sets each workload's count from a scan and deletes the series of
// workloads that are clean or gone.
func (m *Metrics) update(r *audit.Report, now time.Time) {
	counts := map[workloadLabels]int{}
	for _, f := range r.Findings {
		counts[workloadLabels{f.Namespace, f.Kind, f.Name}]++
	}
	keys := make([]workloadLabels, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b workloadLabels) int {
		return cmp.Or(-cmp.Compare(counts[a], counts[b]), cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name))
	})
	kept := keys[:min(len(keys), m.maxSeries)]

	m.mu.Lock()
	defer m.mu.Unlock()
	next := map[workloadLabels]bool{}
	for _, k := range kept {
		m.uncovered.WithLabelValues(k.namespace, k.kind, k.name).Set(float64(counts[k]))
		next[k] = true
	}
	for k := range m.current {
		if !next[k] {
			m.uncovered.DeleteLabelValues(k.namespace, k.kind, k.name)
		}
	}
	m.current = next
	m.omitted.Set(float64(len(keys) - len(kept)))
	m.lastRun.Set(float64(now.Unix()))
}

// leading records whether this replica is the auditor; one that is not
// exports no per-workload series.
func (m *Metrics) leading(yes bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if yes {
		m.leader.Set(1)
		return
	}
	m.leader.Set(0)
	m.uncovered.Reset()
	m.omitted.Set(0)
	m.current = map[workloadLabels]bool{}
}
