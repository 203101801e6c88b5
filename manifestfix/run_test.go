package manifestfix

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volumeguard/volumeguard/workload"
)

func TestRunStdinAndAnnotations(t *testing.T) {
	analyzer, host := startRegistry(t)
	zk := host + "/library/zookeeper:3.4.13"
	stdin := `apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  template:
    metadata:
      annotations: {volumeguard.io/size-limit: 5Gi}
    spec:
      containers: [{name: zk, image: "` + zk + `"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: odd
  annotations: {volumeguard.io/size-limit: lots}
spec:
  containers: [{name: zk, image: "` + zk + `"}, {name: gone, image: "` + host + `/library/missing:1"}]
`
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin), SizeLimit: gi(t, "1Gi"), Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Name != "-" {
		t.Fatalf("files %+v, want stdin", res.Files)
	}
	limits := map[string]string{}
	for _, a := range res.Files[0].Added {
		limits[a.Object.Name] = a.SizeLimit.String()
	}
	if want := map[string]string{"big": "5Gi", "odd": "1Gi"}; limits["big"] != want["big"] || limits["odd"] != want["odd"] {
		t.Errorf("size limits %v, want %v (the annotation wins; a bad one falls back)", limits, want)
	}
	if !strings.Contains(string(res.Files[0].Fixed), "sizeLimit: 5Gi") {
		t.Errorf("fixed manifest lacks the annotation's sizeLimit:\n%s", res.Files[0].Fixed)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `volumeguard.io/size-limit="lots"`) {
		t.Errorf("notes %q, want one about the bad annotation", res.Notes)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "missing:1") || res.Errors[0].At.Line != 17 {
		t.Errorf("errors %+v, want the unreadable image, on line 17", res.Errors)
	}
	if res.ExitCode() != ExitErrors {
		t.Errorf("exit code %d, want %d", res.ExitCode(), ExitErrors)
	}
}

func TestRunEmptyStdin(t *testing.T) {
	analyzer, _ := startRegistry(t)
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader(""), SizeLimit: gi(t, "1Gi")})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != ExitErrors || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "pipefail") {
		t.Errorf("exit code %d, notes %q: want 2 and a note about the pipeline", res.ExitCode(), res.Notes)
	}
}

func TestRunInterrupted(t *testing.T) {
	analyzer, _ := startRegistry(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped")
	cancel(stop)
	if _, err := Run(ctx, analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader("kind: Pod\n"), SizeLimit: gi(t, "1Gi")}); !errors.Is(err, stop) {
		t.Errorf("error %v, want the context's cause", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(file, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("pod.yaml", link); err != nil {
		t.Fatal(err)
	}

	if err := WriteFile(link, []byte("old\n"), []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	info, _ := os.Stat(file)
	if string(got) != "new\n" || info.Mode().Perm() != 0o640 {
		t.Errorf("file holds %q with mode %v, want the new content and mode 0640", got, info.Mode())
	}
	if l, err := os.Lstat(link); err != nil || l.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v %v", l, err)
	}

	// The file changed since it was read: writing would lose the change.
	if err := WriteFile(file, []byte("old\n"), []byte("newer\n")); !errors.Is(err, ErrChanged) {
		t.Errorf("error %v, want ErrChanged", err)
	}
	if got, _ := os.ReadFile(file); string(got) != "new\n" {
		t.Errorf("file holds %q after a refused write", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want the file and the link: a temporary file was left", len(entries))
	}
}

func TestWriteFixed(t *testing.T) {
	var b bytes.Buffer
	files := []File{{Fixed: []byte("a: 1")}, {Fixed: []byte("b: 2\n")}, {Fixed: []byte("{}")}}
	if err := WriteFixed(&b, files); err != nil {
		t.Fatal(err)
	}
	if want := "a: 1\n---\nb: 2\n---\n{}"; b.String() != want {
		t.Errorf("output %q, want %q", b.String(), want)
	}
}

// TestRunJSONStreams fixes the items of a JSON array and concatenated
// JSON values in place, each value's bytes around the edits kept.
func TestRunJSONStreams(t *testing.T) {
	analyzer, host := startRegistry(t)
	pod := func(name string) string {
		return `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "` + name + `"}, "spec": {"containers": [{"name": "db", "image": "` + host + `/library/mysql:8"}]}}`
	}
	in := "[\n  " + pod("a") + ",\n  " + pod("b") + "\n]\n" + pod("c") + " " + pod("d") + "\n"
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader(in), SizeLimit: gi(t, "1Gi")})
	if err != nil {
		t.Fatal(err)
	}
	fixed := string(res.Files[0].Fixed)
	if n := strings.Count(fixed, `"volumeMounts": [{"name": "vg-db-var-lib-mysql-1878d9d4", "mountPath": "/var/lib/mysql"}]`); n != 4 || res.ExitCode() != ExitFixed {
		t.Errorf("%d pods fixed, exit code %d, want 4 and 0:\n%s", n, res.ExitCode(), fixed)
	}
	checkOnlyAdded(t, []byte(in), []byte(fixed))
	if objs, errs := workload.Decode("-", strings.NewReader(fixed)); len(objs) != 4 || len(errs) != 0 {
		t.Errorf("the fixed stream holds %d objects, errors %v", len(objs), errs)
	}
}

// TestRunNotesIgnoredFindings: what exceptions drop is left as it is, and
// said in a note, as check says it.
func TestRunNotesIgnoredFindings(t *testing.T) {
	analyzer, host := startRegistry(t)
	stdin := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: zk
  annotations: {volumeguard.io/ignore: "/logs,/datalog/"}
spec:
  template:
    spec:
      containers: [{name: zk, image: "` + host + `/library/zookeeper:3.4.13"}]
`
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin), SizeLimit: gi(t, "1Gi"), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, a := range res.Files[0].Added {
		paths = append(paths, a.Added.MountPath)
	}
	if len(paths) != 1 || paths[0] != "/data" {
		t.Errorf("added at %v, want /data alone", paths)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "2 findings ignored by exceptions") {
		t.Errorf("notes %q, want one counting the 2 ignored findings", res.Notes)
	}
}

// TestRunSaysAnIgnoreThatIgnoresNothing: a path of the ignore annotation
// that drops no finding (a typo) gets a note; one that drops a finding
// does not.
func TestRunSaysAnIgnoreThatIgnoresNothing(t *testing.T) {
	analyzer, host := startRegistry(t)
	stdin := `apiVersion: v1
kind: Pod
metadata:
  name: zk
  annotations: {volumeguard.io/ignore: "/dta,/logs"}
spec:
  containers: [{name: zk, image: "` + host + `/library/zookeeper:3.4.13"}]
`
	res, err := Run(context.Background(), analyzer, Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin), SizeLimit: gi(t, "1Gi"), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "<stdin>:7:3: Pod zk: volumeguard.io/ignore names /dta, but no image") || strings.Contains(notes, "names /logs") {
		t.Errorf("notes %q, want one naming /dta alone", res.Notes)
	}
}
