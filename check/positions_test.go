package check

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/volumeguard/volumeguard/analysis"
)

// collector is a Writer that keeps every row.
type collector struct {
	findings []Finding
	problems []Problem
}

func (c *collector) WriteObject(fs []Finding) error {
	c.findings = append(c.findings, fs...)
	return nil
}
func (c *collector) AddProblem(p Problem) { c.problems = append(c.problems, p) }
func (c *collector) Finish() error        { return nil }

// TestRunPositions: every finding and image problem says where its
// container's image is written (1-based line and column), in multi-document
// files, List items and stdin, and names the Helm template.
func TestRunPositions(t *testing.T) {
	type where struct {
		name, container string
		line, column    int
		template        string
	}
	multi := "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n" + // lines 1-4
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  initContainers:\n  - name: init\n    image: zk\n" + // image on line 11, column 12
		"  containers:\n  - name: main\n    image:   \"zk\"\n" // image on line 14, column 14
	list := `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "l0"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "l1"},
   "spec": {"containers": [{"name": "c", "image": "zk"}]}}]}
`
	helm := "---\n# Source: zk/templates/pod.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: h\nspec:\n  containers:\n  - name: c\n    image: no/such\n"
	tests := []struct {
		name         string
		file         string // written to a temporary file; stdin when empty
		content      string
		wantFindings []where
		wantProblems []where
	}{
		{name: "multi-document file", file: "multi.yaml", content: multi, wantFindings: []where{
			{"a", "init", 11, 12, ""}, {"a", "init", 11, 12, ""}, {"a", "main", 14, 14, ""}, {"a", "main", 14, 14, ""},
		}},
		{name: "List item", file: "list.json", content: list, wantFindings: []where{
			{"l1", "c", 4, 51, ""}, {"l1", "c", 4, 51, ""},
		}},
		{name: "stdin, after a CRLF document", content: "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: c}\r\n---\n" + pod("p", "zk"), wantFindings: []where{
			{"p", "c", 10, 22, ""}, {"p", "c", 10, 22, ""},
		}},
		{name: "Helm template, image unreadable", file: "rendered.yaml", content: helm, wantProblems: []where{
			{"h", "c", 10, 12, "zk/templates/pod.yaml"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Paths: []string{"-"}, Stdin: strings.NewReader(tt.content), Concurrency: 2}
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
				opts = Options{Paths: []string{path}, Concurrency: 2}
			}
			out := &collector{}
			analyzer := analysis.New(&fakeInspector{images: map[string][]string{"zk": {"/data", "/logs"}, "nginx": nil}})
			if _, err := Run(context.Background(), analyzer, opts, out); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var gotFindings, gotProblems []where
			for _, f := range out.findings {
				gotFindings = append(gotFindings, where{f.Name, f.Container, f.Line, f.Column, f.Template})
			}
			for _, p := range out.problems {
				gotProblems = append(gotProblems, where{p.Name, p.Container, p.Line, p.Column, p.Template})
			}
			if !slices.Equal(gotFindings, tt.wantFindings) || !slices.Equal(gotProblems, tt.wantProblems) {
				t.Errorf("findings at %+v, problems at %+v; want %+v and %+v", gotFindings, gotProblems, tt.wantFindings, tt.wantProblems)
			}
		})
	}
}
