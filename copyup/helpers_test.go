package copyup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var past = time.Date(2020, 2, 3, 4, 5, 6, 7000, time.UTC)

// imageTree makes what an image might ship at a VOLUME path, in dir:
// owners, special modes, links of every kind, a fifo, a sparse file, a
// read-only directory. asRoot adds what only root can make (owners).
func imageTree(t *testing.T, dir string, asRoot bool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	must(os.WriteFile(p("a"), []byte("hello"), 0o640))
	must(os.Link(p("a"), p("a-hard")))
	must(os.WriteFile(p("setuid"), []byte("#!/bin/true\n"), 0o755))
	must(os.Chmod(p("setuid"), 0o755|os.ModeSetuid|os.ModeSetgid))
	must(os.Mkdir(p("sticky"), 0o755))
	must(os.Chmod(p("sticky"), 0o777|os.ModeSticky))
	must(os.Mkdir(p("empty"), 0o700))
	must(os.Mkdir(p("sub"), 0o755))
	must(os.WriteFile(p("sub/x"), bytes.Repeat([]byte("x"), 10000), 0o600))
	must(os.Symlink("/etc", p("link-etc")))
	must(os.Symlink("../../x", p("sub/link-up")))
	must(os.Symlink("a", p("rel")))
	must(os.Symlink("sub", p("link-dir")))
	must(unix.Mkfifo(p("fifo"), 0o620))
	f, err := os.Create(p("sparse"))
	must(err)
	must(f.Truncate(4 << 20))
	_, err = f.WriteAt([]byte("data"), 1<<20)
	must(err)
	must(f.Close())
	must(os.Chmod(p("sub"), 0o555)) // read-only, filled before
	if asRoot {
		must(os.Lchown(p("a"), 1001, 1002))
		must(os.Lchown(p("empty"), 5, 6))
		must(os.Lchown(p("link-etc"), 7, 8))
	}
	for _, n := range []string{"a", "sparse", "empty", "setuid", "sub/x", "fifo"} {
		must(os.Chtimes(p(n), past, past))
	}
	must(unix.Lutimes(p("link-etc"), []unix.Timeval{unix.NsecToTimeval(past.UnixNano()), unix.NsecToTimeval(past.UnixNano())}))
}

// node is what a test compares of one entry.
type node struct {
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	link     string
	data     string // regular files up to 64 KiB
	mtime    time.Time
	ino      uint64
}

// tree reads dir without following links.
func tree(t *testing.T, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime(), ino: st.Ino}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			n.size = fi.Size()
			if n.size <= 64<<10 {
				b, _ := os.ReadFile(p)
				n.data = string(b)
			}
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTrees compares two trees as the runtime's copy would leave them.
// Directory times are the copy's (containerd sets them before making the
// entries), but those of empty directories; owners only when wantOwners.
func sameTrees(t *testing.T, src, dst map[string]node, wantOwners bool) {
	t.Helper()
	var names []string
	for n := range src {
		names = append(names, n)
	}
	for n := range dst {
		if _, ok := src[n]; !ok {
			t.Errorf("%s: in the copy, not in the source", n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s, d := src[n], dst[n]
		if _, ok := dst[n]; !ok {
			t.Errorf("%s: not copied", n)
			continue
		}
		if s.mode != d.mode || s.size != d.size || s.link != d.link || s.data != d.data {
			t.Errorf("%s: copied as %v %d bytes link %q, want %v %d bytes link %q (or other data)", n, d.mode, d.size, d.link, s.mode, s.size, s.link)
		}
		if wantOwners && (s.uid != d.uid || s.gid != d.gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", n, d.uid, d.gid, s.uid, s.gid)
		}
		if !s.mode.IsDir() && !s.mtime.Equal(d.mtime) {
			t.Errorf("%s: modified %v, want %v", n, d.mtime, s.mtime)
		}
	}
}

func allocated(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// outside makes a directory next to the test's trees that the copy must
// never touch, holding one file.
func outside(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func untouched(t *testing.T, d string) {
	t.Helper()
	entries, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "keep" {
		t.Errorf("%s holds %v, want only keep: the copy wrote outside its destination", d, names(entries))
	}
}

func names(entries []fs.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func errorIs(err, target error) error {
	if !errors.Is(err, target) {
		return fmt.Errorf("error %v, want %v", err, target)
	}
	return nil
}
