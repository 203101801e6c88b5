package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// server is a running `volumeguard serve`.
type server struct {
	cmd    *exec.Cmd
	listen string
	log    *syncbuffer.Buffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // its exit status, once exited is closed
}

// startServe runs the volumeguard binary as the webhook the cluster calls,
// and waits until it is ready (namespaces synced, certificate loaded). A
// server is returned with any error once the process started: stop it.
func startServe(ctx context.Context, bin string, c *cluster, work string, verbose bool, errOut io.Writer) (*server, error) {
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := writeKubeconfig(c.cfg, kubeconfig); err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	srv := &server{listen: c.webhookAddr, log: &syncbuffer.Buffer{}, exited: make(chan struct{})}
	srv.cmd = exec.Command(bin, "serve",
		"--listen", c.webhookAddr,
		"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(c.certDir, "tls.key"),
		"--metrics-listen", metrics,
		"--kubeconfig", kubeconfig,
		"--mode", "audit", // namespaces without the label; the demo's all have one
	)
	var logOut io.Writer = srv.log
	if verbose {
		logOut = io.MultiWriter(srv.log, errOut)
	}
	srv.cmd.Stdout, srv.cmd.Stderr = logOut, logOut
	// No credentials from the user's docker config: the registry is local.
	srv.cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+work)
	srv.cmd.SysProcAttr = sysProcAttr()
	if err := srv.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s serve: %w", bin, err)
	}
	go func() {
		srv.err = srv.cmd.Wait()
		close(srv.exited)
	}()

	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return srv, nil
			}
		}
		select {
		case <-ctx.Done():
			return srv, ctx.Err()
		case <-srv.exited:
			return srv, fmt.Errorf("volumeguard serve exited (%v):\n%s", srv.err, srv.logTail(20))
		case <-deadline.C:
			return srv, fmt.Errorf("volumeguard serve not ready after 30s:\n%s", srv.logTail(20))
		case <-tick.C:
		}
	}
}

// stop asks for a graceful shutdown (SIGTERM, as the kubelet does) and
// kills the process if it takes longer than 10 seconds.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("volumeguard serve did not stop within 10s of SIGTERM; killed")
	}
}

func (s *server) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(s.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["demo"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["demo"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["demo"] = &clientcmdapi.Context{Cluster: "demo", AuthInfo: "demo"}
	kc.CurrentContext = "demo"
	return clientcmd.WriteToFile(*kc, path)
}
