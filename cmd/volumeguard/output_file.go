package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// isFileOf reports whether path is the file out writes to (stdout
// redirected there with >, /dev/stdout): renamed over, it would lose out's
// report; written to, it would mix the two.
func isFileOf(out io.Writer, path string) bool {
	if c, ok := out.(*clearingWriter); ok {
		out = c.w
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// fileKey is the file path names, however it is spelt (relative, through
// a symbolic link): two reports renamed over one file would leave only
// the last.
func fileKey(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// reportFile is a report written to a temporary file next to its path and
// renamed over it once complete: an interrupted or failed run leaves the
// file as it was, never half a report (code scanning rejects a truncated
// SARIF log). A path that is not a regular file (a device, a named pipe)
// is written to as the report is made: it cannot be replaced.
type reportFile struct {
	*os.File
	path   string // as named
	target string // what is replaced: path, or the file its link names; "" when written to
	mode   os.FileMode
}

func createReportFile(path string) (*reportFile, error) {
	// A symbolic link stays: the file it names gets the report, as with a
	// shell's > or fix --write. A link to nothing yet is replaced.
	target := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		target = real
	}
	// CreateTemp's 0600 would hide a new report from a later step run as
	// another user; a file replaced keeps its own, as with >.
	mode := os.FileMode(0o644)
	if info, err := os.Stat(target); err == nil {
		mode = info.Mode().Perm()
		switch {
		case info.IsDir():
			return nil, fmt.Errorf("--output-file: %s is a directory", path)
		case !info.Mode().IsRegular():
			// /dev/stderr, a shell's >(...): renamed over, it would
			// become a regular file (as root, /dev/null too).
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("--output-file: %w", err)
			}
			return &reportFile{File: f, path: path}, nil
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		// Replacing PATH whole needs a file next to it: say so, for the
		// error names the temporary file, not PATH.
		return nil, fmt.Errorf("--output-file %s: creating the report next to it, to rename it over it once complete (its directory must be writable): %w", path, err)
	}
	return &reportFile{File: tmp, path: path, target: target, mode: mode}, nil
}

// close puts the report in place when it is complete, else drops it.
func (f *reportFile) close(complete bool) error {
	err := f.File.Close()
	if f.target == "" {
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		return nil
	}
	if complete && err == nil {
		if err = os.Chmod(f.Name(), f.mode); err == nil {
			err = os.Rename(f.Name(), f.target)
		}
	}
	if !complete || err != nil {
		_ = os.Remove(f.Name())
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	return nil
}
