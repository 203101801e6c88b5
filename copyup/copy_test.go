package copyup

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make an image's owners")
	}
}

func TestCopyKeepsWhatTheImageHas(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	imageTree(t, src, true)
	if err := os.Lchown(src, 999, 998); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o750); err != nil {
		t.Fatal(err)
	}
	stats, err := Copy(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	sameTrees(t, tree(t, src), tree(t, dst), true)

	if least := int64(5 + 12 + 10000 + 4); stats.Bytes < least || stats.Bytes >= 1<<20 {
		t.Errorf("wrote %d bytes, want the data (%d, and the sparse file's block) without its holes", stats.Bytes, least)
	}
	want := Stats{Directories: 3, Files: 4, Symlinks: 4, Hardlinks: 1, Specials: 1}
	got := stats
	got.Bytes, got.Notes = 0, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	var a, hard unix.Stat_t
	if unix.Lstat(filepath.Join(dst, "a"), &a) != nil || unix.Lstat(filepath.Join(dst, "a-hard"), &hard) != nil || a.Ino != hard.Ino {
		t.Errorf("a and a-hard are inodes %d and %d, want one hard-linked file", a.Ino, hard.Ino)
	}
	if got, limit := allocated(t, filepath.Join(dst, "sparse")), int64(1<<20); got >= limit {
		t.Errorf("the sparse file takes %d bytes, want its holes kept (under %d)", got, limit)
	}
}

func TestCopyNeverFollowsLinks(t *testing.T) {
	src, dst, away := t.TempDir(), t.TempDir(), outside(t)
	for name, target := range map[string]string{"etc": "/etc", "up": "../../x", "away": away, "away-file": filepath.Join(away, "keep")} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Copy(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dst)
	if len(got) != 5 {
		t.Errorf("copy holds %d entries, want the root and 4 links: %v", len(got), got)
	}
	for name, want := range map[string]string{"etc": "/etc", "up": "../../x", "away": away} {
		if n := got[name]; n.link != want {
			t.Errorf("%s: %+v, want a link to %s", name, n, want)
		}
	}
	untouched(t, away)
}

func TestCopyRefusesADestinationItCannotTrust(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, dst, away string) string // returns the DST to pass
		check   func(err error) bool
	}{
		{
			name: "not empty: a link planted pointing outside",
			prepare: func(t *testing.T, dst, away string) string {
				if err := os.Symlink(away, filepath.Join(dst, "a")); err != nil {
					t.Fatal(err)
				}
				return dst
			},
			check: func(err error) bool { return errorIs(err, ErrNotEmpty) == nil },
		},
		{
			name: "a link itself",
			prepare: func(t *testing.T, dst, away string) string {
				l := filepath.Join(t.TempDir(), "dst")
				if err := os.Symlink(away, l); err != nil {
					t.Fatal(err)
				}
				return l
			},
			check: func(err error) bool { return err != nil },
		},
		{
			name:    "missing",
			prepare: func(t *testing.T, dst, away string) string { return filepath.Join(dst, "nope") },
			check:   func(err error) bool { return err != nil },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, away := t.TempDir(), outside(t)
			imageTree(t, src, false)
			dst := tc.prepare(t, t.TempDir(), away)
			_, err := Copy(context.Background(), src, dst)
			if !tc.check(err) {
				t.Errorf("Copy = %v, want it refused", err)
			}
			t.Logf("refused: %v", err)
			untouched(t, away)
		})
	}
}

func TestCopyAgainLeavesACompletedCopyAlone(t *testing.T) {
	for _, markerFile := range []bool{false, true} {
		t.Run(map[bool]string{false: "marker on the destination", true: "marker file"}[markerFile], func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			imageTree(t, src, false)
			var opts []Option
			if markerFile {
				opts = append(opts, WithMarkerFile(filepath.Join(t.TempDir(), "marker")))
			}
			if _, err := Copy(context.Background(), src, dst, opts...); err != nil {
				t.Fatal(err)
			}
			// The application writes, then the pod's sandbox is recreated.
			if err := os.WriteFile(filepath.Join(dst, "app-data"), []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dst, "a")); err != nil {
				t.Fatal(err)
			}
			stats, err := Copy(context.Background(), src, dst, opts...)
			if err != nil || !stats.AlreadyCopied || stats.Files != 0 {
				t.Fatalf("second Copy = %+v, %v; want nothing done", stats, err)
			}
			if b, err := os.ReadFile(filepath.Join(dst, "app-data")); err != nil || string(b) != "precious" {
				t.Errorf("the application's file: %q, %v", b, err)
			}
			if _, err := os.Lstat(filepath.Join(dst, "a")); !os.IsNotExist(err) {
				t.Errorf("a file the application removed came back: %v", err)
			}
		})
	}
}

func TestCopyRedoesACopyCutShort(t *testing.T) {
	src, dst, away := t.TempDir(), t.TempDir(), outside(t)
	imageTree(t, src, false)
	// What a copier killed half way leaves: its marker, some entries, a
	// read-only directory, and (were anything else to write there) a link
	// out.
	if err := unix.Setxattr(dst, markerXattr, []byte(markStarted), 0); err != nil {
		t.Skipf("no user extended attributes here: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dst, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dst, "sub"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(away, filepath.Join(dst, "a")); err != nil {
		t.Fatal(err)
	}
	stats, err := Copy(context.Background(), src, dst)
	if err != nil || !stats.Resumed {
		t.Fatalf("Copy = %+v, %v; want the copy redone", stats, err)
	}
	sameTrees(t, tree(t, src), tree(t, dst), true)
	untouched(t, away)
}

func TestCopySource(t *testing.T) {
	t.Run("missing: nothing to copy, as containerd skips it", func(t *testing.T) {
		stats, err := Copy(context.Background(), filepath.Join(t.TempDir(), "nope"), t.TempDir())
		if err != nil || !stats.SourceMissing {
			t.Errorf("Copy = %+v, %v; want SourceMissing", stats, err)
		}
	})
	t.Run("a file: refused, as containerd fails the container", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Copy(context.Background(), f, t.TempDir()); err == nil {
			t.Error("Copy of a file succeeded")
		}
	})
	t.Run("a link in its own path is followed, inside the source root", func(t *testing.T) {
		root, dst := t.TempDir(), t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "srv", "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "srv", "data", "in-image"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Absolute, and climbing: both mean the image's root, not the host's.
		if err := os.Symlink("/srv/data", filepath.Join(root, "data")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../../../srv/data", filepath.Join(root, "climb")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/data", "climb"} {
			d := filepath.Join(dst, filepath.Base(p))
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := Copy(context.Background(), p, d, WithSourceRoot(root)); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if _, err := os.Stat(filepath.Join(d, "in-image")); err != nil {
				t.Errorf("%s: %v, want the image's /srv/data copied", p, err)
			}
		}
	})
	t.Run("the destination inside the source is not copied into itself", func(t *testing.T) {
		src := t.TempDir()
		imageTree(t, src, false)
		dst := filepath.Join(src, "zz-dst")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Copy(context.Background(), src, dst); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dst, "zz-dst")); !os.IsNotExist(err) {
			t.Errorf("the destination holds itself: %v", err)
		}
	})
	t.Run("stops when ctx ends", func(t *testing.T) {
		src := t.TempDir()
		imageTree(t, src, false)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Copy(ctx, src, t.TempDir()); err == nil {
			t.Error("Copy after cancel succeeded")
		}
	})
}
