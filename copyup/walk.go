package copyup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// maxDepth bounds how deep a tree is copied: each level holds two open
// descriptors, and no image nests its files anywhere near this deep.
const maxDepth = 512

type fileID struct{ dev, ino uint64 }

// copier copies one tree. Every name it reads or makes is one component
// relative to an open directory, and opened with O_NOFOLLOW.
type copier struct {
	ctx     context.Context
	opts    *options
	stats   *Stats
	srcDev  uint64      // directories elsewhere are mount points
	dst     unix.Stat_t // DST itself, never copied into itself
	dstRoot *os.File
	links   map[fileID]string // hard-linked files copied so far, by path in DST
	depth   int
}

// directory gives the directory dstParent/name (open as dst) the owner,
// times and mode of src, and copies src's entries into it. src is nil for
// a directory whose entries cannot be read.
func (c *copier) directory(src *os.File, st *unix.Stat_t, dstParent *os.File, name string, dst *os.File, rel string) error {
	pfd := int(dstParent.Fd())
	// Owner and times before the entries, as containerd sets them; the mode
	// after, so that a copier that is not root can fill a read-only one.
	if err := c.owner(pfd, name, st, rel); err != nil {
		return err
	}
	if err := c.times(pfd, name, st, rel); err != nil {
		return err
	}
	if src != nil {
		if err := c.entries(src, dst, rel); err != nil {
			return err
		}
	}
	if err := c.mode(pfd, name, st, rel); err != nil {
		return err
	}
	if src != nil {
		return c.xattrs(src, dst, rel)
	}
	return nil
}

func (c *copier) entries(src, dst *os.File, rel string) error {
	for {
		names, err := src.Readdirnames(256)
		for _, n := range names {
			if err := c.ctx.Err(); err != nil {
				return err
			}
			if err := c.entry(src, dst, n, path.Join(rel, n)); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing /%s: %w", rel, err)
		}
	}
}

func (c *copier) entry(srcDir, dstDir *os.File, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(srcDir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("reading /%s: %w", rel, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.subdirectory(srcDir, dstDir, name, rel, &st)
	case unix.S_IFREG:
		return c.file(srcDir, dstDir, name, rel, &st)
	case unix.S_IFLNK:
		return c.symlink(srcDir, dstDir, name, rel, &st)
	case unix.S_IFIFO, unix.S_IFSOCK:
		return c.special(dstDir, name, rel, &st)
	}
	c.stats.DevicesSkipped++
	c.stats.note(rel, "device node not made")
	return nil
}

func (c *copier) subdirectory(srcDir, dstDir *os.File, name, rel string, st *unix.Stat_t) error {
	if st.Dev == c.dst.Dev && st.Ino == c.dst.Ino {
		c.stats.note(rel, "the destination itself, not copied into itself")
		return nil
	}
	if c.depth >= maxDepth {
		return fmt.Errorf("copying /%s: more than %d directories deep", rel, maxDepth)
	}
	if err := unix.Mkdirat(int(dstDir.Fd()), name, 0o700); err != nil {
		return fmt.Errorf("making /%s: %w", rel, err)
	}
	dst, err := openAt(dstDir, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("opening /%s in the destination: %w", rel, err)
	}
	defer dst.Close()
	c.stats.Directories++

	var src *os.File
	switch {
	case st.Dev != c.srcDev:
		c.stats.MountPoints++
		c.stats.note(rel, "a mount point: made empty, the image's entries beneath it are hidden")
	default:
		src, err = openAt(srcDir, name, unix.O_RDONLY|unix.O_DIRECTORY)
		switch {
		case errors.Is(err, unix.EACCES):
			c.stats.Unreadable++
			c.stats.note(rel, "directory not readable: made empty")
		case err != nil:
			return fmt.Errorf("opening /%s: %w", rel, err)
		default:
			defer src.Close()
			if err := sameFile(src, st); err != nil {
				return fmt.Errorf("opening /%s: %w", rel, err)
			}
		}
	}
	c.depth++
	defer func() { c.depth-- }()
	return c.directory(src, st, dstDir, name, dst, rel)
}

func (c *copier) file(srcDir, dstDir *os.File, name, rel string, st *unix.Stat_t) error {
	id := fileID{dev: st.Dev, ino: st.Ino}
	if first, ok := c.links[id]; ok && st.Nlink > 1 {
		err := unix.Linkat(int(c.dstRoot.Fd()), first, int(dstDir.Fd()), name, 0)
		if err == nil {
			c.stats.Hardlinks++
			return nil
		}
		if !notPermitted(err) {
			return fmt.Errorf("linking /%s to /%s: %w", rel, first, err)
		}
		// A directory on the way that the copier may not search: a copy of
		// its own is the next best thing.
		c.stats.note(rel, "hard link to /%s made a copy: %v", first, err)
	}
	src, err := openAt(srcDir, name, unix.O_RDONLY|unix.O_NOCTTY)
	if errors.Is(err, unix.EACCES) {
		c.stats.Unreadable++
		c.stats.note(rel, "file not readable: not copied")
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening /%s: %w", rel, err)
	}
	defer src.Close()
	if err := sameFile(src, st); err != nil {
		return fmt.Errorf("opening /%s: %w", rel, err)
	}
	dst, err := openAt(dstDir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
	if err != nil {
		return fmt.Errorf("making /%s: %w", rel, err)
	}
	defer dst.Close()
	n, err := copyData(dst, src, st.Size)
	c.stats.Bytes += n
	if err != nil {
		return fmt.Errorf("copying /%s: %w", rel, err)
	}
	c.stats.Files++
	dfd := int(dstDir.Fd())
	if err := c.owner(dfd, name, st, rel); err != nil {
		return err
	}
	if err := c.mode(dfd, name, st, rel); err != nil {
		return err
	}
	if err := c.xattrs(src, dst, rel); err != nil {
		return err
	}
	if err := c.times(dfd, name, st, rel); err != nil {
		return err
	}
	if st.Nlink > 1 {
		c.links[id] = rel
	}
	return nil
}

func (c *copier) symlink(srcDir, dstDir *os.File, name, rel string, st *unix.Stat_t) error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(srcDir.Fd()), name, buf)
	if err != nil {
		return fmt.Errorf("reading the link /%s: %w", rel, err)
	}
	if n >= len(buf) {
		return fmt.Errorf("reading the link /%s: longer than %d bytes", rel, len(buf))
	}
	dfd := int(dstDir.Fd())
	if err := unix.Symlinkat(string(buf[:n]), dfd, name); err != nil {
		return fmt.Errorf("making the link /%s: %w", rel, err)
	}
	c.stats.Symlinks++
	if err := c.owner(dfd, name, st, rel); err != nil {
		return err
	}
	return c.times(dfd, name, st, rel)
}

// special makes a fifo or socket, as containerd does; neither needs a
// privilege nor gives one.
func (c *copier) special(dstDir *os.File, name, rel string, st *unix.Stat_t) error {
	dfd := int(dstDir.Fd())
	if err := unix.Mknodat(dfd, name, st.Mode&unix.S_IFMT|0o600, 0); err != nil {
		return fmt.Errorf("making /%s: %w", rel, err)
	}
	c.stats.Specials++
	if err := c.owner(dfd, name, st, rel); err != nil {
		return err
	}
	if err := c.mode(dfd, name, st, rel); err != nil {
		return err
	}
	return c.times(dfd, name, st, rel)
}

// openAt opens the single name in dir, never following a link.
func openAt(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// sameFile checks that what was opened is what was stat'ed: the name was
// not replaced in between.
func sameFile(f *os.File, st *unix.Stat_t) error {
	var now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &now); err != nil {
		return err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return errors.New("replaced while copying")
	}
	return nil
}
