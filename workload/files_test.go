package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// writeTree creates files (path -> content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadPaths(t *testing.T) {
	root := writeTree(t, map[string]string{
		"a.yaml":               podYAML,
		"b.yml":                deploymentYAML,
		"c.json":               podJSON,
		"nested/deeper/d.YAML": strings.Replace(podYAML, "name: web,", "name: deep,", 1),
		"nested/e.yaml":        serviceYAML,
		"z-broken.yaml":        "kind: [\n",
		"README.md":            "# not a manifest: [\n",
		"notes.txt":            "kind: [\n",
		".git/config.yaml":     "kind: [\n",
		".hidden.yaml":         "kind: [\n",
		"kustomization.yaml":   "resources: [a.yaml]\n",
	})
	outside := writeTree(t, map[string]string{"pod.txt": podJSON})
	explicit := filepath.Join(outside, "pod.txt")
	missing := filepath.Join(outside, "missing.yaml")

	type file struct {
		File string
		Name string
	}
	tests := []struct {
		name     string
		paths    []string
		stdin    io.Reader
		want     []file
		wantErrs []string // Error.File of each error
	}{
		{
			name:  "directory tree",
			paths: []string{root},
			want: []file{
				{filepath.Join(root, "a.yaml"), "web"},
				{filepath.Join(root, "b.yml"), "zk"},
				{filepath.Join(root, "c.json"), "p1"},
				{filepath.Join(root, "nested", "deeper", "d.YAML"), "deep"},
			},
			wantErrs: []string{filepath.Join(root, "z-broken.yaml")},
		},
		{
			name:  "explicit file whatever its extension, missing path, stdin, duplicates",
			paths: []string{explicit, missing, "-", filepath.Join(root, "a.yaml"), filepath.Join(root, ".", "a.yaml"), "-"},
			stdin: strings.NewReader(deploymentYAML),
			want: []file{
				{explicit, "p1"},
				{"-", "zk"},
				{filepath.Join(root, "a.yaml"), "web"},
			},
			wantErrs: []string{missing},
		},
		{
			name:     "hidden file named explicitly",
			paths:    []string{filepath.Join(root, ".hidden.yaml")},
			wantErrs: []string{filepath.Join(root, ".hidden.yaml")},
		},
		{
			name:     "stdin without a reader",
			paths:    []string{"-"},
			wantErrs: []string{"-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ReadPaths(context.Background(), tt.paths, tt.stdin)
			objs, errs := in.Objects, in.Errors
			var got []file
			for _, o := range objs {
				got = append(got, file{o.File, o.Name})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			var gotErrs []string
			for _, err := range errs {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is %T, want *Error", err, err)
				}
				gotErrs = append(gotErrs, e.File)
			}
			if !reflect.DeepEqual(gotErrs, tt.wantErrs) {
				t.Errorf("errors = %q, want files %q", errs, tt.wantErrs)
			}
		})
	}
}

func TestReadPathsMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	errs := ReadPaths(context.Background(), []string{missing}, nil).Errors
	if len(errs) != 1 || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Fatalf("errors = %v, want one that is fs.ErrNotExist", errs)
	}
	if want := missing + ": no such file or directory"; errs[0].Error() != want {
		t.Errorf("error = %q, want %q", errs[0], want)
	}
}

func TestReadFilesKeepsContent(t *testing.T) {
	big := "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n---\n"
	root := writeTree(t, map[string]string{
		"a.yaml":      "# kept as written\r\n" + strings.ReplaceAll(podYAML, "\n", "\r\n"),
		"b/c.json":    podJSON,
		"b/svc.yaml":  serviceYAML,
		"huge.yaml":   strings.Repeat(big, 8*1024/len(big)+1),
		"nested/.x.y": "ignored",
	})
	stdin := "---\n" + deploymentYAML
	d := NewDecoder(WithMaxDocumentSize(1024))
	in := d.ReadFiles(context.Background(), []string{root, "-"}, strings.NewReader(stdin))

	want := map[string]string{
		filepath.Join(root, "a.yaml"):     "# kept as written\r\n" + strings.ReplaceAll(podYAML, "\n", "\r\n"),
		filepath.Join(root, "b/c.json"):   podJSON,
		filepath.Join(root, "b/svc.yaml"): serviceYAML,
		"-":                               stdin,
	}
	got := map[string]string{}
	for _, f := range in.Files {
		got[f.Name] = string(f.Data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files\n got  %q\n want %q", got, want)
	}
	if len(in.Objects) != 3 {
		t.Errorf("%d objects, want 3", len(in.Objects))
	}
	for _, o := range in.Objects {
		doc := got[o.File][o.DocumentRange.Start:o.DocumentRange.End]
		if !strings.Contains(doc, "kind: "+o.Kind) && !strings.Contains(doc, `"kind":"`+o.Kind+`"`) {
			t.Errorf("%s: document range %v holds %q", o.File, o.DocumentRange, doc)
		}
	}
	if len(in.Errors) != 1 || !errors.Is(in.Errors[0], ErrDocumentTooLarge) || !strings.Contains(in.Errors[0].Error(), "huge.yaml") {
		t.Errorf("errors %v, want huge.yaml too large", in.Errors)
	}
}

// TestStreamPathsHandsObjectsInInputOrder: many files read by several
// workers, a large one among them (streamed, not read whole) and stdin in
// the middle: the objects come in input order, each once, as ReadPaths
// returns them.
func TestStreamPathsHandsObjectsInInputOrder(t *testing.T) {
	files := map[string]string{}
	for i := range 60 {
		files[fmt.Sprintf("m%02d.yaml", i)] = strings.Replace(podYAML, "name: web,", fmt.Sprintf("name: pod-%02d,", i), 1)
	}
	filler := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: filler}\ndata: {a: b}\n---\n"
	files["m30.yaml"] = strings.Repeat(filler, smallFile/len(filler)+1) + files["m30.yaml"]
	root := writeTree(t, files)
	stdin := strings.Replace(podYAML, "name: web,", "name: from-stdin,", 1)

	var streamed []string
	in := NewDecoder().StreamPaths(context.Background(), []string{filepath.Join(root, "m00.yaml"), "-", root}, strings.NewReader(stdin),
		func(o Object) { streamed = append(streamed, o.Name) })
	var read []string
	for _, o := range in.Objects {
		read = append(read, o.Name)
	}
	if len(in.Errors) != 0 {
		t.Fatalf("errors %v", in.Errors)
	}
	want := []string{"pod-00", "from-stdin"}
	for i := 1; i < 60; i++ {
		want = append(want, fmt.Sprintf("pod-%02d", i))
	}
	if !reflect.DeepEqual(streamed, want) || !reflect.DeepEqual(read, want) {
		t.Errorf("streamed %v\nread %v\nwant %v", streamed, read, want)
	}
}

// countdownCtx is alive for its first n calls of Err, then cancelled: a
// context that ends at a chosen step of the walk.
type countdownCtx struct {
	context.Context
	n    atomic.Int64
	done chan struct{}
	once sync.Once
}

func newCountdownCtx(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background(), done: make(chan struct{})}
	c.n.Store(n)
	return c
}

func (c *countdownCtx) Err() error {
	if c.n.Add(-1) >= 0 {
		return nil
	}
	c.once.Do(func() { close(c.done) })
	return context.Canceled
}

func (c *countdownCtx) Done() <-chan struct{} { return c.done }

// TestReadPathsCutShortInAWalk: a walk that ctx cuts short is one error for
// the path given, whatever of it was planned or read.
func TestReadPathsCutShortInAWalk(t *testing.T) {
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("m%d.yaml", i)] = podYAML
	}
	root := writeTree(t, files)
	for _, alive := range []int64{2, 5, 9} {
		t.Run(fmt.Sprint(alive), func(t *testing.T) {
			in := ReadPaths(newCountdownCtx(alive), []string{root}, nil)
			if len(in.Errors) != 1 || !errors.Is(in.Errors[0], context.Canceled) || !strings.HasPrefix(in.Errors[0].Error(), root+": not read") {
				t.Errorf("errors %q, want one saying %s was not read", in.Errors, root)
			}
		})
	}
}
