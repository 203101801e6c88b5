package fstree

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestListDescribesEveryEntry(t *testing.T) {
	root := t.TempDir()
	mustRun(t, os.Chmod(root, 0o750))
	mustRun(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	mustRun(t, syscall.Chmod(filepath.Join(root, "sub"), 0o2775)) // raw bits: os.Chmod spells setgid os.ModeSetgid
	mustRun(t, os.WriteFile(filepath.Join(root, "sub", "f"), []byte("hello"), 0o600))
	mustRun(t, os.Symlink("sub/f", filepath.Join(root, "link")))
	mustRun(t, syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())

	got, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	pipeMode := fmt.Sprintf("%04o", 0o644&^umask(t))
	want := []Entry{
		{Path: ".", Type: Dir, Mode: "0750", UID: uid, GID: gid},
		{Path: "link", Type: Symlink, Mode: "0777", UID: uid, GID: gid, Target: "sub/f"},
		{Path: "pipe", Type: Other, Mode: pipeMode, UID: uid, GID: gid},
		{Path: "sub", Type: Dir, Mode: "2775", UID: uid, GID: gid},
		{Path: "sub/f", Type: File, Mode: "0600", UID: uid, GID: gid, Size: 5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}
}

func TestListMissingRoot(t *testing.T) {
	if _, err := List(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("List of a missing directory = nil error")
	}
}

// umask reads the process's umask from /proc: syscall.Umask could only
// read it by changing it.
func umask(t *testing.T) uint32 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(m)
		}
	}
	t.Fatal("no Umask in /proc/self/status")
	return 0
}

func mustRun(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
