package workload

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadPaths reads paths with the default options. See Decoder.ReadPaths.
func ReadPaths(paths []string, stdin io.Reader) ([]Object, []error) {
	return NewDecoder().ReadPaths(paths, stdin)
}

// ReadPaths reads files and directories, and "-" for stdin, in the order
// given; each path is read once. Directories are read recursively in sorted
// order, taking only *.yaml, *.yml and *.json files and skipping hidden
// files and directories (.git) and kustomization files, which are not
// objects; a file named explicitly is read whatever its name. A path that
// cannot be read is an *Error for that path, the others are still read.
func (d *Decoder) ReadPaths(paths []string, stdin io.Reader) ([]Object, []error) {
	var objs []Object
	var errs []error
	seen := map[string]bool{}
	read := func(name string, open func() (io.ReadCloser, error)) {
		key := name
		if name != "-" {
			key = filepath.Clean(name)
		}
		if seen[key] {
			return
		}
		seen[key] = true
		rc, err := open()
		if err != nil {
			errs = append(errs, pathError(name, err))
			return
		}
		o, e := d.Decode(name, rc)
		objs = append(objs, o...)
		errs = append(errs, e...)
		if err := rc.Close(); err != nil {
			errs = append(errs, pathError(name, err))
		}
	}
	openFile := func(name string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return os.Open(name) }
	}

	for _, p := range paths {
		if p == "-" {
			read(p, func() (io.ReadCloser, error) {
				if stdin == nil {
					return nil, errors.New("reading stdin: no standard input")
				}
				return io.NopCloser(stdin), nil
			})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, pathError(p, err))
			continue
		}
		if !info.IsDir() {
			read(p, openFile(p))
			continue
		}
		files, walkErrs := manifestFiles(p)
		errs = append(errs, walkErrs...)
		for _, f := range files {
			read(f, openFile(f))
		}
	}
	return objs, errs
}

// manifestFiles lists the manifest files under root, in lexical order.
func manifestFiles(root string) ([]string, []error) {
	var files []string
	var errs []error
	// WalkDir visits in lexical order and does not follow symbolic links to
	// directories, so there are no loops.
	_ = filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, pathError(path, err))
			if entry != nil && entry.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		hidden := strings.HasPrefix(entry.Name(), ".") && path != root
		if entry.IsDir() {
			if hidden {
				return fs.SkipDir
			}
			return nil
		}
		if !hidden && isManifestName(entry.Name()) {
			files = append(files, path)
		}
		return nil
	})
	return files, errs
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
