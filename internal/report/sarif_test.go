package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The SARIF 2.1.0 schema (OASIS, errata 01) in testdata is the copy that
// github.com/owenrumney/go-sarif/v3 v3.3.1 embeds
// (pkg/report/v210/sarif/schema.go).
const sarifSchema = "testdata/sarif-schema-2.1.0.json"

func validateSARIF(t *testing.T, doc []byte) {
	t.Helper()
	f, err := os.Open(sarifSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("the SARIF log is not JSON: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("the SARIF log is not valid against the schema: %v", err)
	}
}

func TestSARIFWriter(t *testing.T) {
	var buf bytes.Buffer
	writeCI(t, NewSARIFWriter[ciRow, ciProblem](&buf, WithRoot("/repo"), WithToolVersion("v1.2.3")))
	validateSARIF(t, buf.Bytes())
	golden(t, "report.sarif", buf.Bytes())

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string                `json:"ruleId"`
				Level     string                `json:"level"`
				Message   struct{ Text string } `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	for _, r := range run.Tool.Driver.Rules {
		if !strings.Contains(r.Help.Text, "Fix:") {
			t.Errorf("rule %s: help does not show the fix: %q", r.ID, r.Help.Text)
		}
	}
	type where struct {
		rule, level, uri string
		line, column     int
	}
	want := []where{
		{"VG001", "error", "deploy/zk.yaml", 14, 16},
		{"VG004", "error", "deploy/zk.yaml", 14, 16},
		{"VG002", "error", "rendered%20out,v1.yaml", 30, 18},
		{"VG001", "error", "", 0, 0}, // stdin: no location
		{"VG001", "error", "file:///elsewhere/job.yaml", 12, 16},
		{"VG003", "error", "deploy/ghost.yaml", 7, 12},
		{"VG005", "error", "deploy/bad.yaml", 0, 0},
	}
	if len(run.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(run.Results), len(want))
	}
	for i, r := range run.Results {
		got := where{rule: r.RuleID, level: r.Level}
		if len(r.Locations) > 0 {
			loc := r.Locations[0].PhysicalLocation
			got.uri, got.line, got.column = loc.ArtifactLocation.URI, loc.Region.StartLine, loc.Region.StartColumn
		}
		if got != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got, want[i])
		}
	}
	if msg := run.Results[0].Message.Text; !strings.Contains(msg, "Deployment default/zk") || !strings.Contains(msg, "mountPath: /data") {
		t.Errorf("the message does not name the object and the fix: %q", msg)
	}
	if msg := run.Results[2].Message.Text; !strings.Contains(msg, "(from pg/templates/sts.yaml)") {
		t.Errorf("the message does not name the Helm template: %q", msg)
	}
}

// TestSARIFWriterEmpty: a clean run is a valid log with no results.
func TestSARIFWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	w := NewSARIFWriter[ciRow, ciProblem](&buf)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())
	if !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("want an empty results list (code scanning requires one):\n%s", buf.String())
	}
}
