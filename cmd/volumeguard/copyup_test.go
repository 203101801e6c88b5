package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runWith runs the CLI in-process with its output captured.
func runWith(t *testing.T, args ...string) (stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return errOut.String(), err
}

func TestCopyUpCopiesEachPair(t *testing.T) {
	dir := t.TempDir()
	src1, src2 := filepath.Join(dir, "src1"), filepath.Join(dir, "src2")
	dst1, dst2 := filepath.Join(dir, "dst1"), filepath.Join(dir, "dst2")
	for _, d := range []string{src1, filepath.Join(src1, "sub"), src2, dst1, dst2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src1, "sub", "f"), []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(src1, "link")); err != nil {
		t.Fatal(err)
	}

	stderr, err := runWith(t, "copy-up", src1, dst1, src2, dst2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(filepath.Join(dst1, "link")); err != nil || got != "sub/f" {
		t.Errorf("link copied as %q, %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst1, "sub", "f")); err != nil || string(b) != "hello" {
		t.Errorf("file copied as %q, %v", b, err)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "copy-up "+src1+" -> "+dst1+": 1 directories, 1 files, 1 symlinks, 0 hard links, 0 fifos and sockets, 5 B") {
		t.Errorf("stderr =\n%s\nwant one summary line per pair", stderr)
	}

	// Run again (the init container restarted): the marker says done.
	stderr, err = runWith(t, "copy-up", src1, dst1)
	if err != nil || !strings.Contains(stderr, "already copied") {
		t.Errorf("second run: %v, %q", err, stderr)
	}
}

func TestCopyUpFails(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "someone's data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no pairs":                {"copy-up"},
		"an odd count":            {"copy-up", dir},
		"install with pairs":      {"copy-up", "--install", dir, dir, full},
		"a destination not empty": {"copy-up", dir, full},
		"a missing destination":   {"copy-up", dir, filepath.Join(dir, "missing")},
	} {
		t.Run(name, func(t *testing.T) {
			code, err := run(context.Background(), args)
			if code != usageExitCode || err == nil {
				t.Errorf("run(%q) = %d, %v; want %d and an error", args, code, err, usageExitCode)
			}
		})
	}
}

func TestCopyUpInstall(t *testing.T) {
	dir := t.TempDir()
	for range 2 { // a second run replaces the first
		if _, err := runWith(t, "copy-up", "--install", dir); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "volumeguard")
	got, err := os.ReadFile(installed)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("installed binary differs from %s (%v)", exe, err)
	}
	if fi, err := os.Stat(installed); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("installed mode %v, %v; want 0555", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d entries, want only the binary", dir, len(entries))
	}
}
