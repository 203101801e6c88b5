package copyup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// markState is how far a copy into DST went.
type markState string

const (
	markNone    markState = ""
	markStarted markState = "started"
	markDone    markState = "done"
)

// markerXattr holds the state on DST itself: invisible to the application,
// which sees the volume as the runtime would have filled it.
const markerXattr = "user.volumeguard.copy-up"

// errNoMarker: the filesystem cannot hold a marker.
var errNoMarker = errors.New("no marker can be kept")

type marker interface {
	get() (markState, error)
	set(markState) error
}

func newMarker(dst *os.File, file string) marker {
	if file != "" {
		return fileMarker{path: file}
	}
	return xattrMarker{dir: dst}
}

type xattrMarker struct{ dir *os.File }

func (m xattrMarker) get() (markState, error) {
	buf := make([]byte, 16)
	n, err := unix.Fgetxattr(int(m.dir.Fd()), markerXattr, buf)
	if errors.Is(err, unix.ENODATA) || unsupported(err) {
		return markNone, nil
	}
	if err != nil {
		return markNone, err
	}
	return parseMark(string(buf[:n]))
}

func (m xattrMarker) set(s markState) error {
	fd := int(m.dir.Fd())
	err := unix.Fsetxattr(fd, markerXattr, []byte(s), 0)
	if errors.Is(err, unix.EACCES) {
		// DST now has the image's read-only mode and the copier owns it:
		// writable for as long as it takes to mark it.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && unix.Fchmod(fd, st.Mode&0o7777|0o200) == nil {
			err = unix.Fsetxattr(fd, markerXattr, []byte(s), 0)
			if rerr := unix.Fchmod(fd, st.Mode&0o7777); err == nil {
				err = rerr
			}
		}
	}
	if unsupported(err) || notPermitted(err) {
		return fmt.Errorf("%w: %v", errNoMarker, err)
	}
	return err
}

type fileMarker struct{ path string }

func (m fileMarker) get() (markState, error) {
	b, err := os.ReadFile(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return markNone, nil
	}
	if err != nil {
		return markNone, err
	}
	return parseMark(strings.TrimSpace(string(b)))
}

// set replaces the file whole (a rename), so a copier killed while writing
// it leaves the previous state.
func (m fileMarker) set(s markState) error {
	tmp, err := os.CreateTemp(filepath.Dir(m.path), ".copy-up-marker-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(string(s) + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), m.path)
}

func parseMark(v string) (markState, error) {
	switch s := markState(v); s {
	case markStarted, markDone:
		return s, nil
	}
	return markNone, fmt.Errorf("unknown copy marker %q", v)
}
