package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// exportedMetrics are the names the code registers (Name: "volumeguard_…"
// in the packages that export metrics), read from their sources so that
// this package imports none of them.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	decl := regexp.MustCompile(`Name:\s+"(volumeguard_[a-z_]+)"`)
	for _, dir := range []string{"../webhook", "../continuousaudit"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
				out[m[1]] = true
			}
		}
	}
	if !out["volumeguard_admission_requests_total"] || !out["volumeguard_workload_uncovered_volumes"] {
		t.Fatalf("metric declarations not found: %v", out)
	}
	return out
}

// referenced lists the volumeguard_ metrics an expression uses, histogram
// series mapped to their histogram.
func referenced(expr string) []string {
	var out []string
	for _, name := range regexp.MustCompile(`volumeguard_[a-z_]+`).FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if strings.HasSuffix(name, "_seconds"+suffix) {
				name = strings.TrimSuffix(name, suffix)
			}
		}
		out = append(out, name)
	}
	return out
}

// TestMonitoring: the alerts and the dashboard parse, and every volumeguard
// metric they query is one the code exports: a renamed metric cannot leave
// an alert that never fires.
func TestMonitoring(t *testing.T) {
	exported := exportedMetrics(t)
	var exprs []string

	data, err := os.ReadFile("monitoring/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string
		Spec struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Alert, Expr string
					Labels      map[string]string
				}
			}
		}
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("group %s: a rule without alert, expr or severity: %+v", g.Name, r)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	if rule.Kind != "PrometheusRule" || alerts < 4 {
		t.Errorf("kind %q, %d alerts; want a PrometheusRule with the audit and admission alerts", rule.Kind, alerts)
	}

	data, err = os.ReadFile("monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		UID    string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		t.Fatal(err)
	}
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}

	for _, e := range exprs {
		for _, name := range referenced(e) {
			if !exported[name] {
				t.Errorf("%s is queried (%s) but not exported by volumeguard", name, strings.TrimSpace(e))
			}
		}
	}
}
