// Package release tests what a release ships: the binary as a kubectl
// plugin (always), .goreleaser.yaml (goreleaser check, with
// VOLUMEGUARD_GORELEASER_BIN) and a snapshot build's archives, checksums
// and krew manifest (make release-snapshot sets VOLUMEGUARD_RELEASE_DIST).
package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the repository's top directory, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestKubectlPlugin runs the binary as krew installs it, a link named
// kubectl-volumeguard, which kubectl runs for `kubectl volumeguard ...`:
// the commands work and their help says what the user types.
func TestKubectlPlugin(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "volumeguard")
	build := exec.Command("go", "build", "-o", bin, "./cmd/volumeguard")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building volumeguard: %v\n%s", err, out)
	}
	plugin := filepath.Join(dir, "kubectl-volumeguard")
	if err := os.Symlink(bin, plugin); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // the usage line
	}{
		{[]string{"--help"}, "kubectl volumeguard [command]"},
		{[]string{"check", "--help"}, "kubectl volumeguard check [PATH...|-]"},
		{[]string{"audit", "--help"}, "kubectl volumeguard audit"},
		{[]string{"inspect", "--help"}, "kubectl volumeguard inspect IMAGE"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := exec.Command(plugin, tc.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Usage:\n  "+tc.want) {
				t.Errorf("kubectl-volumeguard %s does not show usage %q:\n%s", strings.Join(tc.args, " "), tc.want, out)
			}
			if strings.Contains(string(out), "kubectl-volumeguard") {
				t.Errorf("help names the file, not the command:\n%s", out)
			}
		})
	}
	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(plugin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "volumeguard ") {
			t.Errorf("kubectl-volumeguard version: %v\n%s", err, out)
		}
	})
	t.Run("a bad flag exits 2, as check documents", func(t *testing.T) {
		out, err := exec.Command(plugin, "check", "--no-such-flag").CombinedOutput()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), "no-such-flag") {
			t.Errorf("kubectl-volumeguard check --no-such-flag: %v\n%s", err, out)
		}
	})
}
