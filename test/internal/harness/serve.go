package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Build compiles the volumeguard binary into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "volumeguard")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/volumeguard/volumeguard/cmd/volumeguard")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building volumeguard: %v\n%s", err, out)
	}
	return bin, nil
}

// Serve is a running `volumeguard serve` process.
type Serve struct {
	Cmd *exec.Cmd
	// Addr is its admission listener, Metrics its /metrics, /healthz and
	// /readyz listener (host:port).
	Addr, Metrics string
	logFile       string

	exited chan struct{}
	mu     sync.Mutex
	err    error
}

// StartServe runs `volumeguard serve` on listen (host:port), with the
// serving certificate cp's webhook configurations trust, a kubeconfig of
// cp, a free metrics port, --log-level error and args (which may override
// these), and waits until /readyz answers 200. It is stopped when t ends.
func StartServe(t testing.TB, bin string, cp *ControlPlane, listen string, args ...string) *Serve {
	t.Helper()
	s := Launch(t, bin, cp, listen, args...)
	if err := s.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// Launch is StartServe without waiting for readiness.
func Launch(t testing.TB, bin string, cp *ControlPlane, listen string, args ...string) *Serve {
	t.Helper()
	dir := t.TempDir()
	kubeconfig, err := WriteKubeconfig(cp.Config, dir)
	if err != nil {
		t.Fatal(err)
	}
	metrics := FreeAddr(t)
	certDir := cp.Webhook.LocalServingCertDir
	args = append([]string{"serve",
		"--listen", listen,
		"--metrics-listen", metrics,
		"--tls-cert-file", filepath.Join(certDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(certDir, "tls.key"),
		"--kubeconfig", kubeconfig,
		"--log-level", "error",
	}, args...)
	s := &Serve{Addr: listen, Metrics: metrics, logFile: filepath.Join(dir, "serve.log"), exited: make(chan struct{})}
	logs, err := os.Create(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	s.Cmd = exec.Command(bin, args...)
	s.Cmd.Stdout, s.Cmd.Stderr = logs, logs
	// An empty docker config keeps the user's credentials out.
	s.Cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
	if err := s.Cmd.Start(); err != nil {
		t.Fatalf("starting volumeguard serve: %v", err)
	}
	go func() {
		err := s.Cmd.Wait()
		logs.Close()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.exited)
	}()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// WaitReady waits until /readyz answers 200.
func (s *Serve) WaitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if s.Ready() {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("volumeguard serve exited (%v) before it was ready; logs:\n%s", s.ExitErr(), s.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("volumeguard serve not ready after %s; logs:\n%s", limit, s.Logs())
}

// Ready reports whether /readyz answers 200.
func (s *Serve) Ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + s.Metrics + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop sends SIGINT and waits for the exit, killing after 30 s; a process
// that has exited already is left alone.
func (s *Serve) Stop(t testing.TB) {
	if s.Exited() {
		return
	}
	_ = s.Cmd.Process.Signal(os.Interrupt)
	if !s.WaitExit(30 * time.Second) {
		_ = s.Cmd.Process.Kill()
		<-s.exited
		t.Errorf("volumeguard serve did not stop within 30s of SIGINT")
	}
}

// Signal sends sig to the process.
func (s *Serve) Signal(sig os.Signal) error { return s.Cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the exit.
func (s *Serve) Kill() {
	_ = s.Cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// WaitExit waits at most limit for the process to exit, reporting whether
// it did.
func (s *Serve) WaitExit(limit time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(limit):
		return false
	}
}

// Exited reports whether the process has exited.
func (s *Serve) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// ExitErr is the error of the process's exit (nil: exit status 0).
func (s *Serve) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Logs returns the last 16 KiB of what the process wrote.
func (s *Serve) Logs() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return err.Error()
	}
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	return string(b)
}

// Sample is what the process holds at one moment.
type Sample struct {
	RSS        int64 // bytes resident (VmRSS)
	Goroutines int   // go_goroutines of its /metrics
}

func (m Sample) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d goroutines", float64(m.RSS)/(1<<20), m.Goroutines)
}

// Sample reads the process's RSS from /proc and its goroutines from
// /metrics.
func (s *Serve) Sample() (Sample, error) {
	rss, err := rssOf(s.Cmd.Process.Pid)
	if err != nil {
		return Sample{}, err
	}
	g, err := goroutinesOf(s.Metrics)
	if err != nil {
		return Sample{}, err
	}
	return Sample{RSS: rss, Goroutines: g}, nil
}

func rssOf(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func goroutinesOf(metrics string) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(body) {
		if v, ok := bytes.CutPrefix(line, []byte("go_goroutines ")); ok {
			f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in %s/metrics", metrics)
}

// WriteKubeconfig writes a kubeconfig for cfg into dir.
func WriteKubeconfig(cfg *rest.Config, dir string) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["harness"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["harness"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["harness"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: "harness"}
	kc.CurrentContext = "harness"
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// FreeAddr is a free 127.0.0.1 port, as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Histogram reads the histogram name from the process's /metrics, summed
// over its labels: the count of observations up to each bucket bound
// ("+Inf" included), as Prometheus exposes them.
func (s *Serve) Histogram(name string) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.Metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	buckets := map[string]float64{}
	prefix := []byte(name + "_bucket{")
	for line := range bytes.Lines(body) {
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		_, rest, _ := bytes.Cut(line, []byte(`le="`))
		le, value, _ := bytes.Cut(rest, []byte(`"} `))
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(value)), 64)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", line, err)
		}
		buckets[string(le)] += v
	}
	return buckets, nil
}
