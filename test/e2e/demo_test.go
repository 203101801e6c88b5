package e2e

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// TestDemo runs `make demo`'s program (hack/demo) as `make demo` does, so
// that the first thing a newcomer runs cannot rot unnoticed: it must show
// the three outcomes, exit 0, and leave nothing listening; and stop
// everything as well when interrupted.
func TestDemo(t *testing.T) {
	demo := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", demo, "./hack/demo")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hack/demo: %v\n%s", err, out)
	}
	command := func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, demo, "-volumeguard", s.bin, "-examples", filepath.Join("..", "..", "examples"), "-timeout", "2m")
		cmd.Env = append(os.Environ(), "KUBEBUILDER_ASSETS="+s.env.BinaryAssetsDirectory, "NO_COLOR=1")
		return cmd
	}

	t.Run("shows warnings, mutations and denials, then stops everything", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := command(ctx).CombinedOutput()
		t.Logf("output:\n%s", out)
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
		// Long lines are wrapped where the registry's port puts them; the
		// assertions read them unwrapped.
		text := string(out)
		unwrapped := regexp.MustCompile(`\n +(\| +)?`).ReplaceAllString(text, " ")
		wantAll(t, "demo output", unwrapped,
			// audit: admitted with the webhook's warnings
			"WARNED   Pod zookeeper", `would create an anonymous volume at /datalog`,
			// mutate: the emptyDirs, read back from the API server
			"MUTATED  Pod zookeeper", `+ container "zk": emptyDir vg-zk-datalog-`, "(sizeLimit 1Gi) at /datalog",
			"MUTATED  Pod mysql", "at /var/lib/mysql",
			// enforce: the denial, with the fix
			"DENIED   Pod zookeeper", "volumeguard (mode enforce) denies this pod", "DENIED   Deployment cache",
			"mountPath: /datalog",
			// the covered pod and the image without VOLUME pass everywhere
			"Pod zookeeper-fixed         admitted          admitted          admitted",
			"Pod web                     admitted          admitted          admitted",
			"Pod zookeeper               3 warnings        +3 emptyDirs      denied",
		)
		assertStopped(t, text)
	})

	t.Run("Ctrl-C stops everything", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := command(ctx)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncbuffer.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
			// The cluster is up and the webhook is starting: the most to stop.
			if strings.HasPrefix(lines.Text(), "  cluster ") {
				_ = cmd.Process.Signal(os.Interrupt)
			}
		}
		err = cmd.Wait()
		t.Logf("output:\n%s%s", out.String(), stderr.String())
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).ExitStatus() != 130 {
			t.Fatalf("demo after SIGINT: %v, want exit status 130", err)
		}
		wantAll(t, "demo stderr", stderr.String(), "interrupted; everything it started is stopped")
		assertStopped(t, out.String())
	})
}

// assertStopped: nothing listens any more where the demo said its
// kube-apiserver and its webhook were, and no `volumeguard serve` of the
// demo's runs (its kubeconfig is in the demo's work directory).
func assertStopped(t *testing.T, out string) {
	t.Helper()
	if procs, err := filepath.Glob("/proc/[0-9]*/cmdline"); err == nil {
		for _, p := range procs {
			cmdline, _ := os.ReadFile(p)
			if strings.Contains(string(cmdline), "volumeguard-demo-") {
				t.Errorf("still running after the demo exited: %s", strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
	}
	addrs := regexp.MustCompile(`(?m)(?:etcd at https://|volumeguard serve on )(127\.0\.0\.1:\d+)`).FindAllStringSubmatch(out, -1)
	if len(addrs) == 0 {
		t.Fatal("the demo did not say where kube-apiserver listened")
	}
	for _, m := range addrs {
		if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo exited", m[1])
		}
	}
}
