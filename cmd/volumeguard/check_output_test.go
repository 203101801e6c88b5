package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// TestOutputFormats: check writes the CI formats, audit does not (its rows
// point at no file); each rejects what it does not write.
func TestOutputFormats(t *testing.T) {
	tests := []struct {
		output    string
		ciFormats bool
		wantErr   string
	}{
		{"sarif", true, ""},
		{"text", false, ""},
		{"sarif", false, "--output must be text or json, not \"sarif\""},
		{"yaml", true, "--output must be text, json, sarif, github or gitlab"},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			o := checkOptions{output: tt.output, ciFormats: tt.ciFormats, concurrency: 1, sizeLimit: "1Gi"}
			_, err := o.validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestCheckSARIFOfManifestsWithoutPodSpecs: a clean run writes a SARIF log
// with no results; --path-root must name a directory.
func TestCheckSARIFOfManifestsWithoutPodSpecs(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "svc.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCommand(t, "check", "-o", "sarif", "--path-root", dir, manifest)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []any `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 0 {
		t.Errorf("want a SARIF 2.1.0 log with one run and no results (%v):\n%s", err, out)
	}
	if _, err := runCommand(t, "check", "-o", "sarif", "--path-root", manifest, manifest); err == nil || !strings.Contains(err.Error(), "--path-root") {
		t.Errorf("--path-root naming a file: err = %v, want one naming --path-root", err)
	}
}

// TestCheckGitHubAppendsTheStepSummary: -o github appends its summary to
// the file GITHUB_STEP_SUMMARY names, after what earlier steps wrote.
func TestCheckGitHubAppendsTheStepSummary(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := checkOptions{output: "github", ciFormats: true, ci: ciOutputOptions{pathRoot: dir}}
	var out strings.Builder
	env := func(k string) string {
		if k == "GITHUB_STEP_SUMMARY" {
			return summary
		}
		return ""
	}
	w, done, err := o.checkWriter(&out, resource.MustParse("1Gi"), env)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := done(true); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "earlier step\n## volumeguard check\n") || out.String() != "0 findings in 0 objects, 0 errors\n" {
		t.Errorf("summary file:\n%s\nstdout: %q", got, out.String())
	}
}
