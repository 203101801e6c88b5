package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"yaml", true, "--output must be text, json"},
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
