package copyup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Stats says what Copy did, and what it could not keep as the image has it.
type Stats struct {
	Directories, Files, Symlinks, Hardlinks int
	// Specials counts the fifos and sockets made.
	Specials int
	// Bytes counts the file data written (holes are not written).
	Bytes int64

	// DevicesSkipped counts device nodes not made.
	DevicesSkipped int
	// MountPoints counts directories on another filesystem beneath SRC,
	// made empty: what the image holds beneath them is hidden by the mount.
	MountPoints int
	// Unreadable counts files and directories the copier may not read
	// (the image's owner-only files, for a copier that is not root).
	Unreadable int
	// OwnersNotKept counts entries left with the copier's owner or group:
	// changing them was not permitted (the copier is not root).
	OwnersNotKept int
	// ModesNotKept counts entries whose mode (or setuid, setgid) could not
	// be set; TimesNotKept and XattrsNotKept likewise.
	ModesNotKept, TimesNotKept, XattrsNotKept int

	// AlreadyCopied: DST holds a completed copy; nothing was done.
	AlreadyCopied bool
	// Resumed: DST held a copy that was cut short; it was emptied first.
	Resumed bool
	// SourceMissing: SRC does not exist, so there is nothing to copy, as
	// containerd skips a volume path the image does not have.
	SourceMissing bool
	// Unmarked: the filesystem keeps no marker, so a later run on this DST
	// will refuse it rather than tell a finished copy from a cut one.
	Unmarked bool

	// Notes names the first entries not copied as the image has them.
	Notes []string
}

// maxNotes bounds Stats.Notes: enough to see what kind of thing was lost.
const maxNotes = 20

func (s *Stats) note(rel, format string, args ...any) {
	if len(s.Notes) < maxNotes {
		s.Notes = append(s.Notes, "/"+rel+": "+fmt.Sprintf(format, args...))
	}
}

// Option configures Copy.
type Option func(*options)

type options struct {
	sourceRoot string
	markerFile string
	// chown and chmod are the calls that need privileges; tests replace
	// them to see what a copier that is not root does.
	chown func(dirfd int, name string, uid, gid int) error
	chmod func(dirfd int, name string, mode uint32) error
}

// WithSourceRoot resolves SRC inside root, symbolic links included, as the
// runtime resolves a volume path inside the image's rootfs: for an image
// mounted at root (an `image` volume) rather than being the copier's own
// root filesystem.
func WithSourceRoot(root string) Option {
	return func(o *options) { o.sourceRoot = root }
}

// WithMarkerFile keeps the copy's progress in file instead of an extended
// attribute on DST: for a DST on a filesystem without user extended
// attributes (tmpfs before Linux 6.6). file must outlive the container as
// DST does (another emptyDir of the pod).
func WithMarkerFile(file string) Option {
	return func(o *options) { o.markerFile = file }
}

// ErrNotEmpty: DST holds entries and no marker says Copy made them.
var ErrNotEmpty = errors.New("destination is not empty")

// Copy copies the directory src into the existing directory dst, as the
// runtime copies an image's content into a new volume. See the package
// documentation for what is kept, and what a second run does.
func Copy(ctx context.Context, src, dst string, opts ...Option) (Stats, error) {
	o := options{
		chown: func(dirfd int, name string, uid, gid int) error {
			return unix.Fchownat(dirfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
		},
		chmod: func(dirfd int, name string, mode uint32) error { return unix.Fchmodat(dirfd, name, mode, 0) },
	}
	for _, opt := range opts {
		opt(&o)
	}
	var stats Stats
	srcDir, err := openSource(src, o.sourceRoot)
	if errors.Is(err, unix.ENOENT) {
		stats.SourceMissing = true
		return stats, nil
	}
	if err != nil {
		return stats, err
	}
	defer srcDir.Close()
	dstParent, dstName, dstDir, err := openDestination(dst)
	if err != nil {
		return stats, err
	}
	defer dstParent.Close()
	defer dstDir.Close()

	var srcSt, dstSt unix.Stat_t
	if err := unix.Fstat(int(srcDir.Fd()), &srcSt); err != nil {
		return stats, fmt.Errorf("reading %s: %w", src, err)
	}
	if err := unix.Fstat(int(dstDir.Fd()), &dstSt); err != nil {
		return stats, fmt.Errorf("reading %s: %w", dst, err)
	}
	if srcSt.Dev == dstSt.Dev && srcSt.Ino == dstSt.Ino {
		return stats, fmt.Errorf("copying %s into itself", src)
	}

	mark := newMarker(dstDir, o.markerFile)
	proceed, err := prepare(dstDir, dst, mark, &stats)
	if err != nil || !proceed {
		return stats, err
	}
	c := &copier{ctx: ctx, opts: &o, stats: &stats, srcDev: srcSt.Dev, dst: dstSt, dstRoot: dstDir,
		links: map[fileID]string{}}
	if err := c.directory(srcDir, &srcSt, dstParent, dstName, dstDir, ""); err != nil {
		return stats, err
	}
	if !stats.Unmarked {
		if err := mark.set(markDone); err != nil {
			return stats, fmt.Errorf("marking %s copied: %w", dst, err)
		}
	}
	return stats, nil
}

// prepare reads DST's marker and decides: copy, nothing to do, or refuse.
func prepare(dstDir *os.File, dst string, mark marker, stats *Stats) (bool, error) {
	state, err := mark.get()
	if err != nil {
		return false, fmt.Errorf("reading the copy marker of %s: %w", dst, err)
	}
	switch state {
	case markDone:
		stats.AlreadyCopied = true
		return false, nil
	case markStarted:
		// The application starts only once this copy succeeds: what is in
		// DST is what a copy cut short left.
		if err := emptyDirectory(dstDir); err != nil {
			return false, fmt.Errorf("emptying %s after a copy cut short: %w", dst, err)
		}
		stats.Resumed = true
	default:
		names, err := dstDir.Readdirnames(1)
		if len(names) > 0 {
			return false, fmt.Errorf("%w: %s holds %q and no marker says a copy made it; refusing to write over it", ErrNotEmpty, dst, names[0])
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("listing %s: %w", dst, err)
		}
	}
	if err := mark.set(markStarted); err != nil {
		if !errors.Is(err, errNoMarker) {
			return false, fmt.Errorf("marking %s: %w", dst, err)
		}
		stats.Unmarked = true
	}
	return true, nil
}

// openSource opens the directory src, following symbolic links in its own
// path (inside root when given), as the runtime finds the volume path.
func openSource(src, root string) (*os.File, error) {
	flags := uint64(unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC)
	var fd int
	var err error
	if root == "" {
		fd, err = unix.Open(src, int(flags), 0)
	} else {
		rootFd, rerr := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if rerr != nil {
			return nil, fmt.Errorf("opening source root %s: %w", root, rerr)
		}
		defer unix.Close(rootFd)
		fd, err = unix.Openat2(rootFd, src, &unix.OpenHow{Flags: flags,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	}
	switch {
	case errors.Is(err, unix.ENOTDIR):
		// containerd fails the container the same way ("source is not directory").
		return nil, fmt.Errorf("copying %s: not a directory", src)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", src, err)
	}
	return os.NewFile(uintptr(fd), src), nil
}

// openDestination opens dst, which must be a directory and not a link,
// with its parent (whose descriptor names dst for the calls that take a
// name).
func openDestination(dst string) (parent *os.File, name string, dir *os.File, err error) {
	dst = filepath.Clean(dst)
	pfd, err := unix.Open(filepath.Dir(dst), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", nil, fmt.Errorf("opening the parent of %s: %w", dst, err)
	}
	parent, name = os.NewFile(uintptr(pfd), filepath.Dir(dst)), filepath.Base(dst)
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		parent.Close()
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, "", nil, fmt.Errorf("opening %s: not a directory (a symbolic link is not followed)", dst)
		}
		return nil, "", nil, fmt.Errorf("opening %s: %w", dst, err)
	}
	return parent, name, os.NewFile(uintptr(fd), dst), nil
}
