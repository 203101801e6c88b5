package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/volumeguard/volumeguard/policy"
)

type gitlabReport []struct {
	Description string `json:"description"`
	CheckName   string `json:"check_name"`
	Fingerprint string `json:"fingerprint"`
	Severity    string `json:"severity"`
	Location    struct {
		Path  string `json:"path"`
		Lines struct {
			Begin int `json:"begin"`
		} `json:"lines"`
	} `json:"location"`
}

func TestGitLabWriter(t *testing.T) {
	var buf bytes.Buffer
	writeCI(t, NewGitLabWriter[ciRow, ciProblem](&buf, WithRoot("/repo")))
	golden(t, "report.gitlab.json", buf.Bytes())
	var got gitlabReport
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	type where struct {
		check, severity, path string
		line                  int
	}
	want := []where{
		{"VG001 uncovered-image-volume", "major", "deploy/zk.yaml", 14},
		{"VG004 uncoverable-image-volume", "major", "deploy/zk.yaml", 14},
		{"VG002 near-miss-mount", "major", "rendered out,v1.yaml", 30},
		{"VG001 uncovered-image-volume", "major", "<stdin>", 9},
		{"VG001 uncovered-image-volume", "major", "/elsewhere/job.yaml", 12},
		{"VG003 image-unreadable", "critical", "deploy/ghost.yaml", 7},
		{"VG005 manifest-unreadable", "critical", "deploy/bad.yaml", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("%d issues, want %d:\n%s", len(got), len(want), buf.String())
	}
	seen := map[string]bool{}
	for i, issue := range got {
		if w := (where{issue.CheckName, issue.Severity, issue.Location.Path, issue.Location.Lines.Begin}); w != want[i] {
			t.Errorf("issue %d = %+v, want %+v", i, w, want[i])
		}
		if issue.Description == "" || len(issue.Fingerprint) != 64 || seen[issue.Fingerprint] {
			t.Errorf("issue %d: empty description, or a fingerprint that is not a unique hash: %+v", i, issue)
		}
		seen[issue.Fingerprint] = true
	}
}

// TestGitLabFingerprint: the fingerprint follows rule, file, object,
// container and path, and not the line, so that a finding moved by an
// edit above it stays the same issue in merge requests.
func TestGitLabFingerprint(t *testing.T) {
	base := Subject{File: "/repo/zk.yaml", Kind: "Deployment", Namespace: "default", Name: "zk", Line: 14, Column: 16}
	row := func(at Subject, container, path string) ciRow {
		return ciRow{Finding: NewFinding(policy.Finding{Container: container, ContainerType: policy.Container, Image: "zk:1", Path: path}), at: at}
	}
	fingerprintOf := func(r ciRow, root string) string {
		var buf bytes.Buffer
		w := NewGitLabWriter[ciRow, ciProblem](&buf, WithRoot(root))
		if err := w.WriteObject([]ciRow{r}); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		var got gitlabReport
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		return got[0].Fingerprint
	}
	original := fingerprintOf(row(base, "zk", "/data"), "/repo")
	moved := base
	moved.Line, moved.Column = 40, 12
	otherFile, otherName := base, base
	otherFile.File, otherName.Name = "/repo/zk2.yaml", "zk2"
	tests := []struct {
		name string
		row  ciRow
		root string
		same bool
	}{
		{"another line and column", row(moved, "zk", "/data"), "/repo", true},
		{"the same repository checked out elsewhere", row(Subject{File: "/ci/build/zk.yaml", Kind: "Deployment", Namespace: "default", Name: "zk"}, "zk", "/data"), "/ci/build", true},
		{"another file", row(otherFile, "zk", "/data"), "/repo", false},
		{"another object", row(otherName, "zk", "/data"), "/repo", false},
		{"another container", row(base, "sidecar", "/data"), "/repo", false},
		{"another path", row(base, "zk", "/logs"), "/repo", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fingerprintOf(tt.row, tt.root); (got == original) != tt.same {
				t.Errorf("fingerprint %s, original %s: want same = %v", got, original, tt.same)
			}
		})
	}
}

// TestGitLabWriterEmpty: a clean run is an empty array.
func TestGitLabWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := NewGitLabWriter[ciRow, ciProblem](&buf).Finish(); err != nil {
		t.Fatal(err)
	}
	var got []any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || got == nil || len(got) != 0 {
		t.Errorf("want an empty JSON array, got %q (%v)", buf.String(), err)
	}
}
