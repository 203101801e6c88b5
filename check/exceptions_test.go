package check

import (
	"context"
	"strings"
	"testing"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/settings"
)

func TestRunExceptions(t *testing.T) {
	images := map[string][]string{"zk:3": {"/data", "/datalog", "/logs"}}
	file, err := settings.Parse([]byte("ignore:\n- images: ['docker.io/library/zk:*']\n  paths: [/datalog]\n"))
	if err != nil {
		t.Fatal(err)
	}
	podWith := func(annotations string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {" + annotations + "}}\nspec:\n  containers:\n  - {name: c, image: 'zk:3'}\n"
	}
	deployment := func(own, template string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, annotations: {" + own + "}}\nspec:\n  template:\n    metadata: {annotations: {" + template + "}}\n" +
			"    spec:\n      containers:\n      - {name: c, image: 'zk:3'}\n"
	}
	tests := []struct {
		name         string
		stdin        string
		settings     *settings.Settings
		wantFindings int
		wantExit     int
		wantNote     string
		wantUnused   string // the paths the note on annotations that ignored nothing names
	}{
		{"no exception", podWith(""), nil, 3, report.ExitFindings, "", ""},
		{"a pod annotation", podWith(`volumeguard.io/ignore: "/logs,/data/"`), nil, 1, report.ExitFindings, "2 findings ignored", ""},
		{"the settings file", podWith(""), file, 2, report.ExitFindings, "1 finding ignored", ""},
		{"both: nothing left", podWith(`volumeguard.io/ignore: "/logs,/data"`), file, 0, report.ExitClean, "3 findings ignored", ""},
		{"a workload's own annotation", deployment(`volumeguard.io/ignore: /logs`, ""), nil, 2, report.ExitFindings, "1 finding ignored", ""},
		{"a pod template's annotation", deployment("", `volumeguard.io/ignore: /logs`), nil, 2, report.ExitFindings, "1 finding ignored", ""},
		{"a parent path ignores nothing", podWith(`volumeguard.io/ignore: "/"`), nil, 3, report.ExitFindings, "", "names /,"},
		{"a typo is said", podWith(`volumeguard.io/ignore: "/dta,/logs"`), nil, 2, report.ExitFindings, "1 finding ignored", "names /dta,"},
		{"a path the settings file ignores too is used", podWith(`volumeguard.io/ignore: /datalog`), file, 2, report.ExitFindings, "1 finding ignored", ""},
		{"the workload's and the template's, each path once", deployment(`volumeguard.io/ignore: "/x,/logs"`, `volumeguard.io/ignore: "/x/"`), nil, 2, report.ExitFindings, "1 finding ignored", "names /x,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := analysis.New(&fakeInspector{images: images})
			summary, err := Run(context.Background(), a, Options{Paths: []string{"-"}, Stdin: strings.NewReader(tt.stdin), Concurrency: 2, Settings: tt.settings}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if rec.findings != tt.wantFindings || summary.ExitCode() != tt.wantExit || len(rec.errors) > 0 {
				t.Errorf("%d findings, exit %d, errors %v; want %d, exit %d", rec.findings, summary.ExitCode(), rec.errors, tt.wantFindings, tt.wantExit)
			}
			notes := strings.Join(summary.Notes, "\n")
			if (tt.wantNote == "") != !strings.Contains(notes, "ignored") || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes %q, want one saying %q", notes, tt.wantNote)
			}
			if got := strings.Count(notes, "it ignores nothing"); got != min(1, len(tt.wantUnused)) || !strings.Contains(notes, tt.wantUnused) {
				t.Errorf("notes %q, want %d saying an annotation %s", notes, min(1, len(tt.wantUnused)), tt.wantUnused)
			}
		})
	}
}
