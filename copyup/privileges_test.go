package copyup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// asChildEnv, when set to "SRC DST", makes the test binary copy SRC to DST
// and print the Stats as JSON instead of running tests: the same binary,
// started as another user.
const asChildEnv = "VOLUMEGUARD_COPYUP_CHILD"

func TestMain(m *testing.M) {
	if args := os.Getenv(asChildEnv); args != "" {
		src, dst, _ := strings.Cut(args, " ")
		stats, err := Copy(context.Background(), src, dst)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		_ = json.NewEncoder(os.Stdout).Encode(stats)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func withChown(f func(dirfd int, name string, uid, gid int) error) Option {
	return func(o *options) { o.chown = f }
}

func withChmod(f func(dirfd int, name string, mode uint32) error) Option {
	return func(o *options) { o.chmod = f }
}

// Without CAP_CHOWN, and with the kernel dropping setgid for a group the
// copier is not in: the copy goes on, and says what it could not keep.
func TestCopyWithoutPrivilegesCountsWhatItCannotKeep(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	imageTree(t, src, true)
	refuse := func(int, string, int, int) error { return unix.EPERM }
	dropSetgid := func(dirfd int, name string, mode uint32) error {
		return unix.Fchmodat(dirfd, name, mode&^unix.S_ISGID, 0)
	}
	stats, err := Copy(context.Background(), src, dst, withChown(refuse), withChmod(dropSetgid))
	if err != nil {
		t.Fatal(err)
	}
	// Owned by others in the image: a (1001:1002), empty (5:6), link-etc (7:8).
	if stats.OwnersNotKept != 3 {
		t.Errorf("OwnersNotKept = %d, want 3", stats.OwnersNotKept)
	}
	if stats.ModesNotKept != 1 || len(stats.Notes) != 1 || !strings.Contains(stats.Notes[0], "/setuid: mode 6755 not permitted") {
		t.Errorf("ModesNotKept = %d, notes %q; want the setgid of /setuid reported", stats.ModesNotKept, stats.Notes)
	}
	srcTree, dstTree := tree(t, src), tree(t, dst)
	delete(srcTree, "setuid")
	delete(dstTree, "setuid")
	sameTrees(t, srcTree, dstTree, false)
}

// The copier as the application's own user, as the init container of
// mutate's copy policy runs under PodSecurity restricted: the test binary
// again, as nobody, into an emptyDir-like 0777 root-owned DST.
func TestCopyAsAnotherUser(t *testing.T) {
	requireRoot(t)
	const nobody = 65534
	top, err := os.MkdirTemp("", "copyup-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	src, dst, bin := filepath.Join(top, "src"), filepath.Join(top, "dst"), filepath.Join(top, "copyup.test")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	imageTree(t, src, true)
	for _, p := range []string{top, dst} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, os.Args[0], bin)

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), asChildEnv+"="+src+" "+dst)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("copy as nobody: %v: %s", err, exitText(err))
	}
	var stats Stats
	if err := json.Unmarshal(out, &stats); err != nil {
		t.Fatalf("reading %q: %v", out, err)
	}
	// Not readable by others: a (0640 1001:1002, and its hard link), sub/x
	// (0600 root), the directory empty (0700 5:6, made empty all the same).
	if stats.Unreadable != 4 || stats.OwnersNotKept == 0 || stats.TimesNotKept != 1 || stats.ModesNotKept != 1 {
		t.Errorf("stats %+v: want 4 unreadable, owners not kept, DST's own times and mode not kept (root's)", stats)
	}
	got := tree(t, dst)
	for name, n := range got {
		if name != "." && n.uid != nobody {
			t.Errorf("%s: owned by %d, want the copier's %d", name, n.uid, nobody)
		}
	}
	want := tree(t, src)
	for _, gone := range []string{"a", "a-hard", "sub/x"} {
		delete(want, gone)
	}
	if n := got["setuid"]; n.mode != want["setuid"].mode {
		t.Errorf("setuid: mode %v, want %v: the owner may set it", n.mode, want["setuid"].mode)
	}
	if len(got) != len(want) {
		t.Errorf("copy holds %d entries, want %d", len(got), len(want))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
