package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoObjects is wrapped by the error for a path, or stdin, that holds no
// document at all: an empty stdin is almost always a broken pipeline
// (`kustomize build | volumeguard check -` without pipefail), and a
// directory without manifests is a wrong path, so neither may pass as clean.
var ErrNoObjects = errors.New("no Kubernetes object in the input")

// Input is what ReadPaths read.
type Input struct {
	Objects []Object
	Errors  []error
	// Documents counts the documents that were not empty: objects of any
	// kind, with pod specs or not, and documents that could not be read.
	Documents int
	// Skipped are the files met in directories that were not read because
	// they are not regular files (named pipes, sockets, devices): reading
	// one could block forever.
	Skipped []string
	// Files holds the content of every file read, in the order read; only
	// ReadFiles fills it.
	Files []File
}

// File is one file (or stdin) as written.
type File struct {
	Name string // as Object.File
	Data []byte
}

// maxFileFactor bounds a file that ReadFiles keeps, as a multiple of the
// document size limit: room for a stream of many documents, while a file
// cannot take the process's memory.
const maxFileFactor = 8

// ReadPaths reads paths with the default options. See Decoder.ReadPaths.
func ReadPaths(ctx context.Context, paths []string, stdin io.Reader) Input {
	return NewDecoder().ReadPaths(ctx, paths, stdin)
}

// ReadPaths reads files and directories, and "-" for stdin, in the order
// given; each file and directory is read once, however many paths lead to
// it. Directories are read recursively in sorted order, following symbolic
// links (a loop is read once), taking only *.yaml, *.yml and *.json files
// and skipping hidden files and directories (.git), kustomization files,
// which are not objects, and anything that is not a regular file. A file
// named explicitly is read whatever its name and type (a named pipe,
// /dev/fd/N of a shell's process substitution).
//
// A path that cannot be read is an *Error for that path, the others are
// still read; so is a path that holds no document at all (ErrNoObjects).
// Reads return when ctx is done, even one blocked on a pipe: the path being
// read gets an *Error with ctx's cause, and so does each path not read yet.
func (d *Decoder) ReadPaths(ctx context.Context, paths []string, stdin io.Reader) Input {
	return d.readPaths(ctx, paths, stdin, false, nil)
}

// StreamPaths is ReadPaths that also hands each object to each, in input
// order, as soon as it and everything before it is read: a caller can work
// on the first objects while the rest are still being read.
func (d *Decoder) StreamPaths(ctx context.Context, paths []string, stdin io.Reader, each func(Object)) Input {
	return d.readPaths(ctx, paths, stdin, false, each)
}

// ReadFiles is ReadPaths for callers that edit what they read (volumeguard
// fix): it also keeps each file's content in Input.Files. A file larger
// than eight times the document size limit is an *Error for that file.
func (d *Decoder) ReadFiles(ctx context.Context, paths []string, stdin io.Reader) Input {
	return d.readPaths(ctx, paths, stdin, true, nil)
}

func (d *Decoder) readPaths(ctx context.Context, paths []string, stdin io.Reader, keep bool, each func(Object)) Input {
	r := &pathReader{ctx: ctx, d: d, stdin: stdin, seen: map[fileID]bool{}}
	for _, p := range paths {
		if ctx.Err() != nil {
			r.fail(p, fmt.Errorf("not read: %w", context.Cause(ctx)))
			continue
		}
		from := len(r.plan)
		r.root = p
		if again := r.readPath(p); again {
			continue
		}
		r.plan = append(r.plan, step{kind: stepPathEnd, path: p, noObjectsFrom: from})
	}
	return d.readPlan(ctx, r.plan, keep, each)
}

// pathReader walks the paths of one ReadPaths call into the plan of what
// to read, in order; readPlan reads it.
type pathReader struct {
	ctx      context.Context
	d        *Decoder
	stdin    io.Reader
	plan     []step
	root     string          // the path given being walked
	seen     map[fileID]bool // files and directories read: nothing is read twice, a symlink loop ends
	seenDash bool
	// stopReported is set once a directory walk cut short by ctx has said
	// so; the directories above it then stop without repeating it.
	stopReported bool
}

func (r *pathReader) stopped() bool { return r.ctx.Err() != nil }

// readPath reads one path given to ReadPaths. It reports whether something
// under it had been read already, in which case finding no document there
// is no surprise.
func (r *pathReader) readPath(p string) (again bool) {
	if p == "-" {
		if r.seenDash {
			return true
		}
		r.seenDash = true
		stdin := r.stdin
		r.read(p, nil, func() (io.ReadCloser, error) {
			if stdin == nil {
				return nil, errors.New("reading stdin: no standard input")
			}
			return io.NopCloser(stdin), nil
		})
		return false
	}
	info, err := os.Stat(p)
	if err != nil {
		r.fail(p, err)
		return false
	}
	if info.IsDir() {
		return r.walk(p, info)
	}
	if r.once(p, info) {
		return true
	}
	r.read(p, info, openFile(p))
	return false
}

// walk reads the manifest files under dir, in lexical order. It reports
// whether it met a file or directory that had been read already.
func (r *pathReader) walk(dir string, info fs.FileInfo) (again bool) {
	if r.once(dir, info) {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		// ReadDir returns the entries it could read before the error.
		r.fail(dir, err)
	}
	for _, entry := range entries {
		if r.stopped() {
			if !r.stopReported {
				r.stopReported = true
				r.plan = append(r.plan, step{kind: stepStopped, root: r.root, cause: context.Cause(r.ctx)})
			}
			return again
		}
		name := entry.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := r.target(path, entry)
		switch {
		case err != nil:
			// A dangling link named like a manifest was meant to be read.
			if isManifestName(name) {
				r.fail(path, err)
			}
		case info.IsDir():
			again = r.walk(path, info) || again
		case !isManifestName(name):
		case !info.Mode().IsRegular():
			r.plan = append(r.plan, step{kind: stepSkipped, skipped: path})
		case r.once(path, info):
			again = true
		default:
			r.read(path, info, openFile(path))
		}
	}
	return again
}

// target describes what entry is, following a symbolic link.
func (r *pathReader) target(path string, entry fs.DirEntry) (fs.FileInfo, error) {
	if entry.Type()&fs.ModeSymlink != 0 {
		return os.Stat(path)
	}
	return entry.Info()
}

// once reports whether the file or directory of info was read already, and
// marks it read.
func (r *pathReader) once(path string, info fs.FileInfo) bool {
	id := idOf(path, info)
	if r.seen[id] {
		return true
	}
	r.seen[id] = true
	return false
}

// read plans to read one file, or stdin (info nil).
func (r *pathReader) read(name string, info fs.FileInfo, open func() (io.ReadCloser, error)) {
	st := step{kind: stepFile, file: name, root: r.root, open: open}
	if info != nil && info.Mode().IsRegular() {
		st.regular, st.size = true, info.Size()
	}
	r.plan = append(r.plan, st)
}

func (r *pathReader) fail(path string, err error) {
	r.plan = append(r.plan, step{kind: stepError, err: pathError(path, err)})
}

func openFile(name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(name) }
}

func isManifestName(name string) bool {
	switch strings.ToLower(name) {
	case "kustomization.yaml", "kustomization.yml":
		// kustomize's own file; it often has no kind or apiVersion.
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// pathError reports a path that cannot be read. The path is the Error's
// File, so fs.PathError's copy of it is dropped.
func pathError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return &Error{File: path, Err: err}
}
