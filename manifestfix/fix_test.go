package manifestfix

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// TestFixRoundTrips fixes each manifest of testdata and compares the fixed
// file and the report with their golden files. Whatever the golden files
// say, the fixed file must hold the original bytes with text added, parse
// as before, be left alone by a second fix, and hold no finding a mount
// could cover but those fix printed the YAML for.
func TestFixRoundTrips(t *testing.T) {
	analyzer, host := startRegistry(t)
	goldenDir, err := filepath.Abs(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file      string
		exit      int
		unchanged bool
	}{
		{file: "comments.yaml"},
		{file: "anchors.yaml", exit: ExitSuggested},
		{file: "flow.yaml"},
		{file: "crlf.yaml"},
		{file: "helm.yaml", exit: ExitSuggested, unchanged: true},
		{file: "kustomize.yaml"},
		{file: "list.yaml"},
		{file: "list.json"},
		{file: "pod.json"},
		{file: "cronjob.yaml"},
		{file: "volumes.yaml"},
		{file: "parse-error.yaml", exit: ExitErrors},
		{file: "unfixable.yaml", unchanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			orig := bytes.ReplaceAll(src, []byte(registryPlaceholder), []byte(host))
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), orig, 0o644); err != nil {
				t.Fatal(err)
			}
			// Relative paths keep the temporary directory out of the report.
			t.Chdir(dir)

			res := runFix(t, analyzer, tt.file)
			if got := res.ExitCode(); got != tt.exit {
				t.Errorf("exit code %d, want %d", got, tt.exit)
			}
			if len(res.Files) != 1 {
				t.Fatalf("%d files, want 1", len(res.Files))
			}
			fixed := res.Files[0].Fixed
			var report bytes.Buffer
			if err := WriteReport(&report, res); err != nil {
				t.Fatal(err)
			}
			placeholders := strings.NewReplacer(host, registryPlaceholder)
			golden(t, goldenDir, tt.file+".fixed", placeholders.Replace(string(fixed)))
			golden(t, goldenDir, tt.file+".report", placeholders.Replace(report.String()))

			if changed := !bytes.Equal(fixed, orig); changed == tt.unchanged || res.Files[0].Changed() != changed {
				t.Errorf("changed %v (Changed() %v), want %v", changed, res.Files[0].Changed(), !tt.unchanged)
			}
			checkOnlyAdded(t, orig, fixed)
			checkParsesAsBefore(t, tt.file, orig, fixed)

			// Fixing the output again changes nothing.
			if err := os.WriteFile(tt.file, fixed, 0o644); err != nil {
				t.Fatal(err)
			}
			again := runFix(t, analyzer, tt.file)
			if f := again.Files[0]; f.Changed() || !bytes.Equal(f.Fixed, fixed) {
				t.Errorf("a second fix changed the file again:\n%s", UnifiedDiff(tt.file, fixed, f.Fixed))
			}

			// What is left for check is what fix printed the YAML for.
			suggested := 0
			for _, s := range res.Files[0].Suggestions {
				suggested += len(s.Mounts)
			}
			if left := fixableLeft(t, analyzer, tt.file, fixed); left != suggested {
				t.Errorf("%d findings a mount could cover are left, want the %d fix suggested", left, suggested)
			}
		})
	}
}

func runFix(t *testing.T, analyzer *analysis.Analyzer, path string) Result {
	t.Helper()
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{path}, SizeLimit: gi(t, "1Gi"), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkParsesAsBefore checks that the fixed file holds the same objects,
// and fails to parse where the original did.
func checkParsesAsBefore(t *testing.T, name string, orig, fixed []byte) {
	t.Helper()
	before, beforeErrs := workload.Decode(name, bytes.NewReader(orig))
	after, afterErrs := workload.Decode(name, bytes.NewReader(fixed))
	if len(after) != len(before) || len(afterErrs) != len(beforeErrs) {
		t.Errorf("fixed file: %d objects and errors %v; the original: %d objects and errors %v", len(after), afterErrs, len(before), beforeErrs)
	}
}

// golden compares got with the golden file dir/name, or writes it there
// with -update.
func golden(t *testing.T, dir, name, got string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", name, UnifiedDiff(name, want, []byte(got)))
	}
}
