package manifestfix

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrChanged is wrapped by WriteFile's error for a file that changed after
// it was read: writing would lose that change.
var ErrChanged = errors.New("the file changed after it was read")

// WriteFile replaces the file name, read as original, with fixed. It never
// leaves a half-written file: it writes a temporary file in the same
// directory with the same permissions, syncs it, and renames it over the
// file (the file behind name, when name is a symbolic link, so the link
// stays). It refuses when the file no longer holds original.
func WriteFile(name string, original, fixed []byte) error {
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("writing %s: not a regular file", name)
	}
	current, err := os.ReadFile(target)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if !bytes.Equal(current, original) {
		return fmt.Errorf("writing %s: %w; run fix again", name, ErrChanged)
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".volumeguard-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(fixed); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: keeping its permissions: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	done = true
	// The rename is durable once the directory is synced; a file system
	// that cannot sync directories has nothing to sync.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
