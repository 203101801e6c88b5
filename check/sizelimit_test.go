package check

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
)

// TestFixSuggestsThePodsOwnSizeLimit: the fix check prints, in text and in
// the CI formats, has the sizeLimit fix and the webhook add: the pod
// template's volumeguard.io/size-limit when valid, else the report's.
func TestFixSuggestsThePodsOwnSizeLimit(t *testing.T) {
	deployment := func(name, annotation string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + "}\nspec:\n  template:\n    metadata: {annotations: {" + annotation + "}}\n" +
			"    spec:\n      containers:\n      - {name: c, image: 'zk:3'}\n"
	}
	stdin := deployment("own", `volumeguard.io/size-limit: 3Gi`) + "---\n" + deployment("bad", `volumeguard.io/size-limit: lots`) + "---\n" + deployment("none", "")
	limit := resource.MustParse("5Gi")
	run := func(w Writer) {
		t.Helper()
		a := analysis.New(&fakeInspector{images: map[string][]string{"zk:3": {"/data"}}})
		if _, err := Run(context.Background(), a, Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin), Concurrency: 1}, w); err != nil {
			t.Fatal(err)
		}
	}
	var text, github strings.Builder
	run(NewTextWriter(&text, limit))
	run(report.NewGitHubWriter[Finding, Problem](&github, report.WithSizeLimit(limit)))
	for name, out := range map[string]string{"text": text.String(), "github": github.String()} {
		// In input order: own, bad, none.
		var limits []string
		for _, line := range strings.Split(out, "sizeLimit: ")[1:] {
			limits = append(limits, strings.Fields(strings.NewReplacer("%0A", " ", "}", " ").Replace(line))[0])
		}
		if strings.Join(limits, ",") != "3Gi,5Gi,5Gi" {
			t.Errorf("%s: sizeLimits %v, want 3Gi (the annotation), 5Gi (an invalid one), 5Gi (none):\n%s", name, limits, out)
		}
	}
}
