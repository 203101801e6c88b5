package check

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/workload"
)

// writeReport writes objects (each a list of findings) and errors through w.
func writeReport(t *testing.T, w Writer, objects [][]Finding, problems []Problem) {
	t.Helper()
	for _, obj := range objects {
		if err := w.WriteObject(obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range problems {
		w.AddProblem(p)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

func problem(file, kind, name, container, image, message string) Problem {
	return Problem{File: file, Problem: report.Problem{Kind: kind, Name: name, Container: container, Image: image, Message: message}}
}

func zkFinding(obj workload.Object, container, path string) Finding {
	return newFinding(obj, workload.PodSpec{}, policy.Finding{Container: container, ContainerType: policy.Container, Image: "zookeeper:3.4.13", Digest: "sha256:a", Path: path})
}

// TestJSONFieldNames pins the contract of DESIGN.md section 4.
func TestJSONFieldNames(t *testing.T) {
	obj := workload.Object{File: "deploy.yaml", Kind: "Deployment", Namespace: "default", Name: "zk"}
	var buf bytes.Buffer
	finding := zkFinding(obj, "zk", "/data")
	finding.Line, finding.Column, finding.Template = 14, 16, "zk/templates/deploy.yaml"
	writeReport(t, NewJSONWriter(&buf), [][]Finding{{finding}},
		[]Problem{problem("x.yaml", "Pod", "p", "", "i", "m")})
	var got map[string][]map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for _, k := range []string{"file", "line", "column", "kind", "namespace", "name", "template", "container", "containerType", "image", "digest", "path", "message"} {
			if _, ok := m[k]; ok {
				out = append(out, k)
			}
		}
		return out
	}
	if want := []string{"file", "line", "column", "kind", "namespace", "name", "template", "container", "containerType", "image", "digest", "path"}; !reflect.DeepEqual(keys(got["findings"][0]), want) {
		t.Errorf("finding keys %v, want %v", keys(got["findings"][0]), want)
	}
	if want := []string{"file", "kind", "name", "image", "message"}; !reflect.DeepEqual(keys(got["errors"][0]), want) {
		t.Errorf("error keys %v, want %v", keys(got["errors"][0]), want)
	}
}

func TestWriteTextGroupsByObjectAndContainer(t *testing.T) {
	obj := workload.Object{File: "zk.yaml", Kind: "StatefulSet", Namespace: "data", Name: "zk"}
	f := func(container, path string, relative bool) Finding {
		return newFinding(obj, workload.PodSpec{}, policy.Finding{Container: container, ContainerType: policy.Container, Image: "zk:1", Path: path, Relative: relative})
	}
	var buf bytes.Buffer
	w := NewTextWriter(&buf, resource.MustParse("2Gi"))
	writeReport(t, w, [][]Finding{{f("zk", "/data", false), f("zk", "logs", true), f("exporter", "/data", false)}}, nil)
	out := buf.String()
	// Each container's group leads with its own heading; the object counts once.
	if strings.Count(out, "StatefulSet data/zk") != 2 {
		t.Errorf("want one heading per container:\n%s", out)
	}
	for _, want := range []string{`container "zk"`, `container "exporter"`, "VOLUME logs: a relative path", "absolute VOLUME", "sizeLimit: 2Gi", "3 findings in 1 object, 0 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteTextNamesWhereAnImageErrorComesFrom(t *testing.T) {
	var buf bytes.Buffer
	writeReport(t, NewTextWriter(&buf, resource.MustParse("1Gi")), nil, []Problem{
		problem("a.yaml", "Pod", "web", "web", "x", `container "web": reading manifest of "x": not found`),
		problem("a.yaml", "", "", "", "", "a.yaml (document 2): yaml: line 11: did not find expected ','"),
	})
	for _, want := range []string{`error: a.yaml: Pod web: container "web": reading manifest`, "error: a.yaml (document 2): yaml", "0 findings in 0 objects, 2 errors"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestWriteTextQuotesImagePaths: a path with a newline cannot forge a line
// of the report, and the suggested YAML keeps it exactly.
func TestWriteTextQuotesImagePaths(t *testing.T) {
	obj := workload.Object{File: "app.yaml", Kind: "Pod", Name: "app"}
	finding := newFinding(obj, workload.PodSpec{}, policy.Finding{
		Container: "app", ContainerType: policy.Container, Image: "img", Path: "/data\n0 findings",
		Platforms: []policy.Platform{{OS: "linux", Architecture: "amd64\x1b[0m"}},
	})
	var buf bytes.Buffer
	writeReport(t, NewTextWriter(&buf, resource.MustParse("1Gi")), [][]Finding{{finding}}, nil)
	out := buf.String()
	for _, want := range []string{`VOLUME "/data\n0 findings": no volumeMount`, `(declared on "linux/amd64\x1b[0m")`, `mountPath: "/data\n0 findings"`} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n0 findings") || strings.Contains(out, "\x1b") {
		t.Errorf("text prints the path raw:\n%q", out)
	}
}

// TestWriteTextLeadsWithTheImagePosition: each container's group and each
// image problem start with "file:line:column:", as editors and CI logs
// link them; stdin is "<stdin>", and the Helm template is named.
func TestWriteTextLeadsWithTheImagePosition(t *testing.T) {
	obj := workload.Object{File: "zk.yaml", Kind: "StatefulSet", Namespace: "data", Name: "zk", Template: "zk/templates/sts.yaml"}
	spec := workload.PodSpec{Containers: []workload.ContainerPosition{
		{Type: policy.Container, Name: "zk", Image: workload.Position{Line: 12, Column: 16}},
		{Type: policy.Container, Name: "exporter", Image: workload.Position{Line: 20, Column: 16}},
	}}
	f := func(container string) Finding {
		return newFinding(obj, spec, policy.Finding{Container: container, ContainerType: policy.Container, Image: "zk:1", Path: "/data"})
	}
	stdinProblem := problem("-", "Pod", "web", "web", "x", "m")
	stdinProblem.Line, stdinProblem.Column = 7, 12
	var buf bytes.Buffer
	writeReport(t, NewTextWriter(&buf, resource.MustParse("1Gi")), [][]Finding{{f("zk"), f("exporter")}}, []Problem{stdinProblem})
	for _, want := range []string{
		"zk.yaml:12:16: StatefulSet data/zk (from zk/templates/sts.yaml)\n  container \"zk\"",
		"zk.yaml:20:16: StatefulSet data/zk (from zk/templates/sts.yaml)\n  container \"exporter\"",
		"error: <stdin>:7:12: Pod web: m\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}
