package copyup

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// emptyDirectory removes everything in dir, descending into directories by
// descriptor, never following a link: a link left in DST is removed, never
// what it points to.
func emptyDirectory(dir *os.File) error {
	for {
		if _, err := dir.Seek(0, io.SeekStart); err != nil {
			return err
		}
		names, err := dir.Readdirnames(-1)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		for _, n := range names {
			if err := removeAll(dir, n); err != nil {
				return err
			}
		}
	}
}

func removeAll(dir *os.File, name string) error {
	dfd := int(dir.Fd())
	err := unix.Unlinkat(dfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	// A directory this copier made read-only: its entries become removable
	// once it is writable again.
	_ = unix.Fchmodat(dfd, name, 0o700, unix.AT_SYMLINK_NOFOLLOW)
	sub, err := openAt(dir, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	err = emptyDirectory(sub)
	sub.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
}
