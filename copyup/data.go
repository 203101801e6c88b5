package copyup

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyData copies a file's data, leaving its holes holes, as containerd
// does since continuity keeps them: an image's sparse file (a preallocated
// database file) must not fill the emptyDir's sizeLimit with zeros. It
// returns the bytes written.
func copyData(dst, src *os.File, size int64) (int64, error) {
	sfd := int(src.Fd())
	var written int64
	for off := int64(0); off < size; {
		data, err := unix.Seek(sfd, off, unix.SEEK_DATA)
		switch {
		case errors.Is(err, unix.ENXIO):
			off = size // a hole to the end
			continue
		case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP):
			// No hole reporting here: all of the rest is data.
			data = off
		case err != nil:
			return written, err
		}
		hole, err := unix.Seek(sfd, data, unix.SEEK_HOLE)
		if err != nil {
			hole = size
		}
		n, err := copyRange(dst, src, data, min(hole, size)-data)
		written += n
		if err != nil {
			return written, err
		}
		off = hole
	}
	// The file's length, and its trailing hole.
	return written, dst.Truncate(size)
}

// copyRange copies n bytes at off; *os.File's ReadFrom uses
// copy_file_range where both files allow it.
func copyRange(dst, src *os.File, off, n int64) (int64, error) {
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := dst.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	w, err := io.CopyN(dst, src, n)
	if errors.Is(err, io.EOF) {
		err = nil // the file shrank while copying: what was there is copied
	}
	return w, err
}
