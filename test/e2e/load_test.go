package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// TestLoad drives the real `volumeguard serve` and a do-nothing webhook over
// TLS with the same AdmissionReviews, one after the other in the same run, so
// their ratio says what volumeguard costs. It only runs when asked
// (make bench-webhook): it takes minutes and its figures go to
// docs/benchmarks.md, never into an assertion.
func TestLoad(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_LOAD") == "" {
		t.Skip("set VOLUMEGUARD_LOAD=1 (make bench-webhook) to run the load test")
	}
	duration := envOr("VOLUMEGUARD_LOAD_DURATION", "10s")
	levels := envOr("VOLUMEGUARD_LOAD_CONCURRENCY", "2,8,32")
	// Targets measured in turn, duration/rounds each: the load of other
	// processes on shared cores then falls on both alike.
	rounds := envOr("VOLUMEGUARD_LOAD_ROUNDS", "5")
	// error: no log line at all; info (serve's default) writes one per
	// answer with a finding.
	logLevel := envOr("VOLUMEGUARD_LOAD_LOG_LEVEL", "error")

	dir := t.TempDir()
	loadgen, noop := filepath.Join(dir, "loadgen"), filepath.Join(dir, "noopwebhook")
	for bin, pkg := range map[string]string{loadgen: "./hack/bench/loadgen", noop: "./hack/bench/noopwebhook"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}

	opts := s.env.WebhookInstallOptions
	certDir := opts.LocalServingCertDir
	srv := startServer(t, "--log-level", logLevel)
	// VOLUMEGUARD_LOAD_PERF_DIR: record the server's CPU with perf(1)
	// during each load, for docs/benchmarks.md (serve has no pprof
	// endpoint, and should not get one for this).
	perfDir := os.Getenv("VOLUMEGUARD_LOAD_PERF_DIR")

	startNoop := func(args ...string) string {
		addr := freeAddr(t)
		cmd := exec.Command(noop, append([]string{"-listen", addr,
			"-tls-cert-file", filepath.Join(certDir, "tls.crt"), "-tls-private-key-file", filepath.Join(certDir, "tls.key")}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitListening(t, addr)
		return addr
	}
	noopAddr := startNoop()

	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, opts.LocalServingCAData, 0o600); err != nil {
		t.Fatal(err)
	}
	vgURL := "https://" + net.JoinHostPort(opts.LocalServingHost, strconv.Itoa(opts.LocalServingPort)) + "/mutate"
	loads := []struct{ title, image string }{
		{"pods whose images declare no VOLUME (the common case)", s.images["nginx"]},
		{"pods whose image declares 3 uncovered VOLUMEs (mutated: patch, warnings, audit annotations)", s.images["zookeeper"]},
	}
	if os.Getenv("VOLUMEGUARD_LOAD_COMMON_ONLY") != "" {
		loads = loads[:1]
	}
	if os.Getenv("VOLUMEGUARD_LOAD_MUTATED_ONLY") != "" {
		loads = loads[1:]
	}
	targets := []string{"volumeguard=" + vgURL, "noop=https://" + noopAddr + "/"}
	// VOLUMEGUARD_LOAD_BASELINE_BIN: another build of volumeguard (the
	// commit before a change) as a third target, measured in the same
	// rounds: on shared cores, the only fair before/after.
	if bin := os.Getenv("VOLUMEGUARD_LOAD_BASELINE_BIN"); bin != "" {
		targets = append(targets, "baseline=https://"+startBaseline(t, bin, logLevel)+"/mutate")
	}
	// VOLUMEGUARD_LOAD_NOOP_ANSWER_BYTES: a second do-nothing webhook whose
	// answers are this long (a mutated answer's size, about 4000), so that
	// what sending and reading such an answer costs on these cores is
	// measured apart from building it.
	if n := os.Getenv("VOLUMEGUARD_LOAD_NOOP_ANSWER_BYTES"); n != "" {
		targets = append(targets, "noop-"+n+"B=https://"+startNoop("-answer-bytes", n)+"/")
	}
	for n, load := range loads {
		var perf *exec.Cmd
		if perfDir != "" {
			perf = exec.Command("perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(srv.cmd.Process.Pid), "-o", filepath.Join(perfDir, fmt.Sprintf("load%d.data", n)))
			if err := perf.Start(); err != nil {
				t.Fatalf("perf: %v", err)
			}
		}
		args := append([]string{"-ca", ca, "-c", levels, "-d", duration, "-rounds", rounds, "-image", load.image, "-namespace", "vg-mutate"}, targets...)
		cmd := exec.Command(loadgen, args...)
		out, err := cmd.CombinedOutput()
		if perf != nil {
			_ = perf.Process.Signal(os.Interrupt)
			_ = perf.Wait()
		}
		if err != nil {
			t.Fatalf("loadgen: %v\n%s", err, out)
		}
		fmt.Printf("/mutate in mode mutate, %s:\n%s\n", load.title, out)
	}
}

// startBaseline runs bin's serve as startServer runs the suite's build, on
// a free port, and returns its address.
func startBaseline(t *testing.T, bin, logLevel string) string {
	opts := s.env.WebhookInstallOptions
	addr, metrics := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--metrics-listen", metrics,
		"--kubeconfig", writeKubeconfig(t, s.cfg), "--mode", "audit", "--log-level", logLevel,
		"--tls-cert-file", filepath.Join(opts.LocalServingCertDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(opts.LocalServingCertDir, "tls.key"))
	logs := &syncbuffer.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the baseline: %v", err)
	}
	srv := &server{cmd: cmd, metrics: metrics, logs: logs}
	t.Cleanup(func() { srv.stop(t) })
	srv.waitReady(t)
	return addr
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
