package continuousaudit

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/volumeguard/volumeguard/audit"
)

// scanOf is a scan with one finding per "namespace/kind/name" given.
func scanOf(workloads ...string) *audit.Report {
	r := &audit.Report{}
	for _, w := range workloads {
		p := strings.Split(w, "/")
		r.Findings = append(r.Findings, audit.Finding{Workload: audit.Workload{Namespace: p[0], Kind: p[1], Name: p[2]}})
	}
	return r
}

// gathered reads the registry as a scrape would: the series of each
// metric by "name{namespace/kind/name}", or the bare name.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			k := f.GetName()
			if len(labels) > 0 {
				k += "{" + labels["namespace"] + "/" + labels["kind"] + "/" + labels["name"] + "}"
			}
			out[k] = m.GetGauge().GetValue()
		}
	}
	return out
}

const (
	uncovered = "volumeguard_workload_uncovered_volumes"
	omitted   = "volumeguard_workload_uncovered_volumes_omitted_workloads"
)

func TestMetricsUpdate(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg, 2)
	if err != nil {
		t.Fatal(err)
	}
	m.leading(true)
	steps := []struct {
		name string
		scan *audit.Report
		want map[string]float64
	}{
		{
			name: "one series per workload, valued by its uncovered volumes; those with the most within the bound",
			scan: scanOf("a/Deployment/zk", "a/Deployment/zk", "a/Deployment/zk", "b/StatefulSet/db", "b/StatefulSet/db", "c/Pod/debug"),
			want: map[string]float64{uncovered + "{a/Deployment/zk}": 3, uncovered + "{b/StatefulSet/db}": 2, omitted: 1},
		},
		{
			name: "a fixed workload's series is removed",
			scan: scanOf("a/Deployment/zk", "c/Pod/debug"),
			want: map[string]float64{uncovered + "{a/Deployment/zk}": 1, uncovered + "{c/Pod/debug}": 1, omitted: 0},
		},
		{name: "a clean cluster has no series", scan: scanOf(), want: map[string]float64{omitted: 0}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			m.update(st.scan, time.Unix(1700000000, 0))
			got := gathered(t, reg)
			if got["volumeguard_audit_last_run_timestamp_seconds"] != 1700000000 || got["volumeguard_audit_leader"] != 1 {
				t.Errorf("last run %v, leader %v; want 1700000000 and 1", got["volumeguard_audit_last_run_timestamp_seconds"], got["volumeguard_audit_leader"])
			}
			maps.DeleteFunc(got, func(k string, _ float64) bool { return !strings.HasPrefix(k, uncovered) })
			if !maps.Equal(got, st.want) {
				t.Errorf("series = %v, want %v", got, st.want)
			}
		})
	}
}

// A replica that stops being the auditor drops the per-workload series:
// only the auditor's are current.
func TestMetricsStepDown(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.leading(true)
	m.update(scanOf("a/Deployment/zk"), time.Unix(1, 0))
	if got := gathered(t, reg); got[uncovered+"{a/Deployment/zk}"] != 1 {
		t.Fatalf("series while leading = %v, want the Deployment's", got)
	}
	m.leading(false)
	got := gathered(t, reg)
	if _, ok := got[uncovered+"{a/Deployment/zk}"]; ok || got["volumeguard_audit_leader"] != 0 {
		t.Errorf("after stepping down: %v; want no workload series and leader 0", got)
	}
}
