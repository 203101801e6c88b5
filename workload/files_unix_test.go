//go:build unix

package workload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree is a directory to build under a temporary root: files, symbolic
// links (path -> target, as written) and named pipes.
type tree struct {
	files map[string]string
	links map[string]string
	fifos []string
}

func (tr tree) build(t *testing.T) string {
	t.Helper()
	root := writeTree(t, tr.files)
	for link, target := range tr.links {
		p := filepath.Join(root, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range tr.fifos {
		if err := syscall.Mkfifo(filepath.Join(root, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadPathsLinksPipesAndEmptyInput(t *testing.T) {
	type file struct{ File, Name string } // File relative to the root
	type wantErr struct {
		File string // relative to the root, or "-"
		Is   error  // nil: any error
	}
	webPod := strings.Replace(podYAML, "name: web,", "name: other,", 1)
	tests := []struct {
		name        string
		tree        tree
		paths       []string // relative to the root, or "-"
		stdin       string
		want        []file
		wantErrs    []wantErr
		wantSkipped []string
		wantDocs    int
	}{
		{
			name:     "a symbolic link to a directory, given as the root",
			tree:     tree{files: map[string]string{"real/a.yaml": podYAML}, links: map[string]string{"link": "real"}},
			paths:    []string{"link"},
			want:     []file{{"link/a.yaml", "web"}},
			wantDocs: 1,
		},
		{
			name: "a symbolic link to a directory inside the tree",
			tree: tree{
				files: map[string]string{"root/a.yaml": podYAML, "elsewhere/b.yaml": deploymentYAML},
				links: map[string]string{"root/sub": "../elsewhere"},
			},
			paths:    []string{"root"},
			want:     []file{{"root/a.yaml", "web"}, {"root/sub/b.yaml", "zk"}},
			wantDocs: 2,
		},
		{
			name:     "a loop of links is read once",
			tree:     tree{files: map[string]string{"root/a.yaml": podYAML}, links: map[string]string{"root/loop": ".", "root/up/again": "../.."}},
			paths:    []string{"root"},
			want:     []file{{"root/a.yaml", "web"}},
			wantDocs: 1,
		},
		{
			name: "two links to one directory: read once, under the first",
			tree: tree{
				files: map[string]string{"d/a.yaml": podYAML},
				links: map[string]string{"root/l1": "../d", "root/l2": "../d"},
			},
			paths:    []string{"root"},
			want:     []file{{"root/l1/a.yaml", "web"}},
			wantDocs: 1,
		},
		{
			name:     "a directory and a link to it, both given: read once, no complaint about the second",
			tree:     tree{files: map[string]string{"real/a.yaml": podYAML}, links: map[string]string{"link": "real", "file.yaml": "real/a.yaml"}},
			paths:    []string{"real", "link", "file.yaml"},
			want:     []file{{"real/a.yaml", "web"}},
			wantDocs: 1,
		},
		{
			name:     "a link to a file, named like a manifest",
			tree:     tree{files: map[string]string{"pod.txt": webPod}, links: map[string]string{"root/x.yaml": "../pod.txt", "root/ignored.txt": "../pod.txt"}},
			paths:    []string{"root"},
			want:     []file{{"root/x.yaml", "other"}},
			wantDocs: 1,
		},
		{
			name:     "a dangling link named like a manifest is an error, another name is ignored",
			tree:     tree{files: map[string]string{"root/a.yaml": podYAML}, links: map[string]string{"root/gone.yaml": "nowhere", "root/gone.txt": "nowhere"}},
			paths:    []string{"root"},
			want:     []file{{"root/a.yaml", "web"}},
			wantErrs: []wantErr{{"root/gone.yaml", os.ErrNotExist}},
			wantDocs: 1,
		},
		{
			name:        "a named pipe in a directory is skipped, not read",
			tree:        tree{files: map[string]string{"root/a.yaml": podYAML}, fifos: []string{"root/x.yaml", "root/y.txt"}},
			paths:       []string{"root"},
			want:        []file{{"root/a.yaml", "web"}},
			wantSkipped: []string{"root/x.yaml"},
			wantDocs:    1,
		},
		{
			name:     "a directory of other kinds: documents, no pod spec, no error",
			tree:     tree{files: map[string]string{"root/svc.yaml": serviceYAML}},
			paths:    []string{"root"},
			wantDocs: 1,
		},
		{
			name:     "a directory without manifests holds no object",
			tree:     tree{files: map[string]string{"root/main.go": "package main\n", "root/kustomization.yaml": "resources: []\n"}},
			paths:    []string{"root"},
			wantErrs: []wantErr{{"root", ErrNoObjects}},
		},
		{
			name:        "a directory of nothing but a named pipe holds no object",
			tree:        tree{fifos: []string{"x.yaml"}},
			paths:       []string{"."},
			wantErrs:    []wantErr{{".", ErrNoObjects}},
			wantSkipped: []string{"x.yaml"},
		},
		{
			name:     "an empty file named explicitly holds no object",
			tree:     tree{files: map[string]string{"empty.yaml": "", "a.yaml": podYAML}},
			paths:    []string{"a.yaml", "empty.yaml"},
			want:     []file{{"a.yaml", "web"}},
			wantErrs: []wantErr{{"empty.yaml", ErrNoObjects}},
			wantDocs: 1,
		},
		{
			name:     "an empty file in a directory is not an error",
			tree:     tree{files: map[string]string{"root/empty.yaml": "", "root/a.yaml": podYAML}},
			paths:    []string{"root"},
			want:     []file{{"root/a.yaml", "web"}},
			wantDocs: 1,
		},
		{
			name:     "empty stdin holds no object",
			paths:    []string{"-"},
			wantErrs: []wantErr{{"-", ErrNoObjects}},
		},
		{
			name:     "stdin of comments and markers only holds no object",
			paths:    []string{"-", "-"},
			stdin:    "# kustomize build failed\n---\n---\n",
			wantErrs: []wantErr{{"-", ErrNoObjects}},
		},
		{
			name:     "a bad document is not an empty input",
			paths:    []string{"-"},
			stdin:    "kind: [\n",
			wantErrs: []wantErr{{"-", nil}},
			wantDocs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.tree.build(t)
			rel := func(p string) string {
				if p == "-" {
					return p
				}
				r, err := filepath.Rel(root, p)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			var paths []string
			for _, p := range tt.paths {
				if p != "-" {
					p = filepath.Join(root, p)
				}
				paths = append(paths, p)
			}
			in := ReadPaths(context.Background(), paths, strings.NewReader(tt.stdin))

			var got []file
			for _, o := range in.Objects {
				got = append(got, file{rel(o.File), o.Name})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			if len(in.Errors) != len(tt.wantErrs) {
				t.Fatalf("errors = %q, want %d: %v", in.Errors, len(tt.wantErrs), tt.wantErrs)
			}
			for i, err := range in.Errors {
				var e *Error
				if !errors.As(err, &e) || rel(e.File) != tt.wantErrs[i].File {
					t.Errorf("error %d = %q, want one about %s", i, err, tt.wantErrs[i].File)
				}
				if tt.wantErrs[i].Is != nil && !errors.Is(err, tt.wantErrs[i].Is) {
					t.Errorf("error %d = %q, want it to be %v", i, err, tt.wantErrs[i].Is)
				}
			}
			var skipped []string
			for _, s := range in.Skipped {
				skipped = append(skipped, rel(s))
			}
			if !reflect.DeepEqual(skipped, tt.wantSkipped) {
				t.Errorf("skipped = %q, want %q", skipped, tt.wantSkipped)
			}
			if in.Documents != tt.wantDocs {
				t.Errorf("documents = %d, want %d", in.Documents, tt.wantDocs)
			}
		})
	}
}

func TestReadPathsReadsANamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "manifests")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		// Opening a pipe for writing waits for its reader.
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			writeErr <- err
			return
		}
		_, err = f.WriteString(deploymentYAML)
		writeErr <- errors.Join(err, f.Close())
	}()
	in := ReadPaths(context.Background(), []string{fifo}, nil)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if len(in.Errors) != 0 || len(in.Objects) != 1 || in.Objects[0].Name != "zk" {
		t.Errorf("objects %v, errors %q; want the Deployment zk", in.Objects, in.Errors)
	}
}

// blockedReader is a stdin whose writer never writes nor closes it.
type blockedReader struct {
	reading chan struct{} // closed on the first Read
	release chan struct{}
}

func (r *blockedReader) Read([]byte) (int, error) {
	select {
	case <-r.reading:
	default:
		close(r.reading)
	}
	<-r.release
	return 0, errors.New("released")
}

func TestReadPathsStopsWhenCancelled(t *testing.T) {
	interrupted := errors.New("interrupted")
	later := writeTree(t, map[string]string{"a.yaml": podYAML})
	fifo := filepath.Join(t.TempDir(), "nobody-writes.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Ends an open still waiting for a writer, if there is one.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})

	tests := []struct {
		name  string
		paths []string
		// cancelWhen returns when the context is to be cancelled.
		cancelWhen func(stdin *blockedReader)
		wantErrs   []string // files of the errors, each wrapping the cause
	}{
		{
			name:       "stdin that never ends, then the paths after it",
			paths:      []string{"-", later},
			cancelWhen: func(stdin *blockedReader) { <-stdin.reading },
			wantErrs:   []string{"-", later},
		},
		{
			name:       "a named pipe that no one opens for writing",
			paths:      []string{fifo},
			cancelWhen: func(*blockedReader) {},
			wantErrs:   []string{fifo},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := &blockedReader{reading: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(func() { close(stdin.release) })
			ctx, cancel := context.WithCancelCause(context.Background())
			go func() {
				tt.cancelWhen(stdin)
				cancel(interrupted)
			}()
			in := ReadPaths(ctx, tt.paths, stdin)
			if len(in.Objects) != 0 {
				t.Errorf("objects %v, want none", in.Objects)
			}
			var files []string
			for _, err := range in.Errors {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, interrupted) {
					t.Errorf("error %q does not carry the cause", err)
					continue
				}
				files = append(files, e.File)
			}
			if !reflect.DeepEqual(files, tt.wantErrs) {
				t.Errorf("errors %q, want one for each of %q", in.Errors, tt.wantErrs)
			}
		})
	}
}

// swappingStdin replaces file with a named pipe that no one writes when it
// is first read, then reads as data: the file was regular when the paths
// were walked and is a pipe when it is opened.
type swappingStdin struct {
	t       *testing.T
	file    string
	data    *strings.Reader
	swapped chan struct{}
}

func (s *swappingStdin) Read(p []byte) (int, error) {
	select {
	case <-s.swapped:
	default:
		if err := os.Remove(s.file); err != nil {
			s.t.Error(err)
		}
		if err := syscall.Mkfifo(s.file, 0o644); err != nil {
			s.t.Error(err)
		}
		close(s.swapped)
	}
	return s.data.Read(p)
}

// TestReadPathsStopsWhenARegularFileBecomesAPipe: a file walked as regular
// is read without a goroutine of its own; if it has become a named pipe by
// the time it is read (or sits on a file system whose reads hang), ctx must
// still end the read, as it does for stdin and named pipes.
func TestReadPathsStopsWhenARegularFileBecomesAPipe(t *testing.T) {
	interrupted := errors.New("interrupted")
	file := filepath.Join(writeTree(t, map[string]string{"b.yaml": podYAML}), "b.yaml")
	stdin := &swappingStdin{t: t, file: file, data: strings.NewReader(deploymentYAML), swapped: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(context.Background())

	writerOpen := make(chan *os.File, 1)
	go func() {
		<-stdin.swapped
		// Opening the pipe for writing without blocking succeeds only once
		// its reader is there; the writer then keeps it open, writing
		// nothing, so that the reader's read hangs until ctx ends.
		for {
			if f, err := os.OpenFile(file, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				writerOpen <- f
				return
			}
			select {
			case <-ctx.Done():
				writerOpen <- nil
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	t.Cleanup(func() {
		if f := <-writerOpen; f != nil {
			f.Close()
		}
	})
	go func() {
		// Cancelled once the pipe's reader is blocked.
		f := <-writerOpen
		writerOpen <- f
		cancel(interrupted)
	}()

	result := make(chan Input, 1)
	go func() { result <- ReadPaths(ctx, []string{"-", file}, stdin) }()
	select {
	case in := <-result:
		var files []string
		for _, err := range in.Errors {
			var e *Error
			if errors.As(err, &e) && errors.Is(err, interrupted) {
				files = append(files, e.File)
			}
		}
		if !reflect.DeepEqual(files, []string{file}) {
			t.Errorf("errors %q, want one for %s carrying the cause", in.Errors, file)
		}
		if len(in.Objects) != 1 || in.Objects[0].File != "-" {
			t.Errorf("objects %v, want stdin's Deployment", in.Objects)
		}
	case <-time.After(30 * time.Second): // a hang guard: the pipe never ends by itself
		t.Fatal("ReadPaths did not return once its context was cancelled: the read of a file walked as regular hangs")
	}
}
