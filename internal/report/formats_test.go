package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/volumeguard/volumeguard/policy"
)

// update rewrites the golden files: go test ./internal/report -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// ciRow and ciProblem are a command's rows that say where they are.
type ciRow struct {
	Finding
	at Subject
}

func (r ciRow) Subject() Subject { return r.at }

type ciProblem struct {
	Problem
	at Subject
}

func (p ciProblem) Subject() Subject { return p.at }

// ciReport is one report with each kind of row: a plain finding and a
// relative VOLUME in a file under the root, a near miss in a Helm-rendered
// file whose name needs escaping, a finding read from stdin, one outside
// the root, an image that cannot be read, and a file that cannot be.
func ciReport() (objects [][]ciRow, problems []ciProblem) {
	zk := Subject{File: "/repo/deploy/zk.yaml", Kind: "Deployment", Namespace: "default", Name: "zk", Line: 14, Column: 16}
	finding := func(at Subject, f policy.Finding) ciRow {
		f.ContainerType, f.Digest = policy.Container, "sha256:0123"
		return ciRow{Finding: NewFinding(f), at: at}
	}
	pg := Subject{File: "/repo/rendered out,v1.yaml", Kind: "StatefulSet", Namespace: "db", Name: "pg", Line: 30, Column: 18, Template: "pg/templates/sts.yaml"}
	stdin := Subject{File: "-", Kind: "Pod", Name: "web", Line: 9, Column: 12}
	outside := Subject{File: "/elsewhere/job.yaml", Kind: "Job", Namespace: "batch", Name: "once", Line: 12, Column: 16}
	objects = [][]ciRow{
		{
			finding(zk, policy.Finding{Container: "zk", Image: "zookeeper:3.4.13", Path: "/data"}),
			finding(zk, policy.Finding{Container: "zk", Image: "zookeeper:3.4.13", Path: "logs", Relative: true}),
		},
		{finding(pg, policy.Finding{Container: "postgres", Image: "postgres:18", Path: "/var/lib/postgresql", NearMounts: []string{"/var/lib/postgresql/data"}})},
		{finding(stdin, policy.Finding{Container: "web", Image: "web:1", Path: "/cache%1,a:b\r\nX"})},
		{finding(outside, policy.Finding{Container: "once", Image: "tool:2", Path: "/tmp"})},
	}
	problems = []ciProblem{
		{Problem: Problem{Kind: "Pod", Name: "ghost", Container: "ghost", Image: "registry.local/ghost:1", Message: `container "ghost": reading manifest: not found`},
			at: Subject{File: "/repo/deploy/ghost.yaml", Kind: "Pod", Name: "ghost", Line: 7, Column: 12}},
		{Problem: Problem{Message: "/repo/deploy/bad.yaml (document 2): yaml: line 3: did not find expected ','"},
			at: Subject{File: "/repo/deploy/bad.yaml"}},
	}
	return objects, problems
}

// writeCI writes ciReport through w.
func writeCI(t *testing.T, w Writer[ciRow, ciProblem]) {
	t.Helper()
	objects, problems := ciReport()
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

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (go test -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
