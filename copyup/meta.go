package copyup

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// notPermitted: the copier lacks the privilege (not root, no CAP_CHOWN, an
// ID outside its user namespace, a filesystem that refuses).
func notPermitted(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// owner gives dirfd/name the owner and group of st. Not being permitted is
// counted, not an error: a copier that is not root cannot keep them.
func (c *copier) owner(dirfd int, name string, st *unix.Stat_t, rel string) error {
	err := c.opts.chown(dirfd, name, int(st.Uid), int(st.Gid))
	if err == nil {
		return nil
	}
	if !notPermitted(err) && !errors.Is(err, unix.EINVAL) { // EINVAL: an ID the user namespace does not map
		return fmt.Errorf("setting the owner of /%s: %w", rel, err)
	}
	var now unix.Stat_t
	if unix.Fstatat(dirfd, name, &now, unix.AT_SYMLINK_NOFOLLOW) == nil && now.Uid == st.Uid && now.Gid == st.Gid {
		return nil // already so: some filesystems refuse even a no-op
	}
	c.stats.OwnersNotKept++
	return nil
}

// mode gives dirfd/name (not a link) the permission bits of st, setuid,
// setgid and sticky included, and checks them when special bits are asked
// for: the kernel drops setgid, silently, for a group the copier is not in.
func (c *copier) mode(dirfd int, name string, st *unix.Stat_t, rel string) error {
	want := st.Mode & 0o7777
	err := c.opts.chmod(dirfd, name, want)
	if err != nil && !notPermitted(err) {
		return fmt.Errorf("setting the mode of /%s: %w", rel, err)
	}
	if err == nil && want&0o7000 == 0 {
		return nil
	}
	var now unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &now, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("reading the mode of /%s: %w", rel, err)
	}
	if got := now.Mode & 0o7777; got != want {
		c.stats.ModesNotKept++
		c.stats.note(rel, "mode %04o not permitted, left %04o", want, got)
	}
	return nil
}

// times gives dirfd/name (a link itself, not its target) the access and
// modification times of st.
func (c *copier) times(dirfd int, name string, st *unix.Stat_t, rel string) error {
	err := unix.UtimesNanoAt(dirfd, name, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil && !notPermitted(err) {
		return fmt.Errorf("setting the times of /%s: %w", rel, err)
	}
	if err != nil {
		c.stats.TimesNotKept++
	}
	return nil
}

// xattrs copies the extended attributes of src to dst but
// security.selinux, which the destination's own label must keep (as the
// CRI plugin excludes it), and the copy's own marker.
func (c *copier) xattrs(src, dst *os.File, rel string) error {
	names, err := listXattrs(src)
	if err != nil {
		if unsupported(err) {
			return nil
		}
		return fmt.Errorf("listing the extended attributes of /%s: %w", rel, err)
	}
	for _, n := range names {
		if n == "security.selinux" || n == markerXattr {
			continue
		}
		v, err := getXattr(src, n)
		if err == nil {
			err = unix.Fsetxattr(int(dst.Fd()), n, v, 0)
		}
		if err != nil {
			if !notPermitted(err) && !unsupported(err) {
				return fmt.Errorf("copying the extended attribute %s of /%s: %w", n, rel, err)
			}
			c.stats.XattrsNotKept++
			c.stats.note(rel, "extended attribute %s not kept: %v", n, err)
		}
	}
	return nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODATA)
}

func listXattrs(f *os.File) ([]string, error) {
	buf, err := readSized(func(b []byte) (int, error) { return unix.Flistxattr(int(f.Fd()), b) })
	if err != nil {
		return nil, err
	}
	var names []string
	for start, i := 0, 0; i < len(buf); i++ {
		if buf[i] == 0 {
			if i > start {
				names = append(names, string(buf[start:i]))
			}
			start = i + 1
		}
	}
	return names, nil
}

func getXattr(f *os.File, name string) ([]byte, error) {
	return readSized(func(b []byte) (int, error) { return unix.Fgetxattr(int(f.Fd()), name, b) })
}

// readSized calls a list/get xattr call with a buffer as large as it says
// it needs; a value that grows in between is read again.
func readSized(call func([]byte) (int, error)) ([]byte, error) {
	for range 3 {
		n, err := call(nil)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, n)
		n, err = call(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, unix.ERANGE
}
