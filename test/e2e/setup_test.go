package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// pushImages writes the suite's test images and returns their references.
func pushImages(host string) (map[string]string, error) {
	images := map[string][]string{
		"zookeeper": {"/data", "/datalog", "/logs"},
		"nginx":     nil,
	}
	refs := map[string]string{}
	for repo, volumes := range images {
		ref := fmt.Sprintf("%s/library/%s:e2e", host, repo)
		if _, err := testimage.Push(ref, volumes); err != nil {
			return nil, err
		}
		refs[repo] = ref
	}
	return refs, nil
}

func ptr[T any](v T) *T { return &v }

// suiteWebhooks names the suite's webhook configurations: not "volumeguard",
// which the manifests' overlays create (install_test.go).
const suiteWebhooks = "volumeguard-e2e"

// isolatedLabel on a namespace keeps the suite's webhooks out of it, for
// tests that install webhooks of their own there (install_test.go).
const isolatedLabel = "e2e.volumeguard.io/isolated"

// notIsolated selects the namespaces the suite's webhooks are called for:
// not the isolated ones, and, as in the manifests, not volumeguard's own
// (install_test.go creates the manifests' objects there).
func notIsolated() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: isolatedLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
		{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"volumeguard"}},
	}}
}

// mutatingWebhook registers /mutate twice: the second sees what the first
// produced, as a reinvocation does, and must change nothing.
func mutatingWebhook() *admissionregistrationv1.MutatingWebhookConfiguration {
	hook := func(name string) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name:                    name,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "volumeguard", Namespace: "volumeguard", Path: ptr("mutate")}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(admissionregistrationv1.Create)},
			FailurePolicy:           ptr(admissionregistrationv1.Ignore),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(int32(10)),
			ReinvocationPolicy:      ptr(admissionregistrationv1.IfNeededReinvocationPolicy),
			NamespaceSelector:       notIsolated(),
		}
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		Webhooks: []admissionregistrationv1.MutatingWebhook{hook("mutate.volumeguard.io"), hook("again.mutate.volumeguard.io")},
	}
	cfg.Name = suiteWebhooks
	return cfg
}

func validatingWebhook() *admissionregistrationv1.ValidatingWebhookConfiguration {
	workloads := admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"apps", "batch"}, APIVersions: []string{"v1"},
			Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"},
		},
	}
	pods := podRule(admissionregistrationv1.Create, admissionregistrationv1.Update)
	pods.Resources = append(pods.Resources, "pods/ephemeralcontainers")
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.volumeguard.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "volumeguard", Namespace: "volumeguard", Path: ptr("validate")}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{pods, workloads},
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(int32(10)),
			NamespaceSelector:       notIsolated(),
		}},
	}
	cfg.Name = suiteWebhooks
	return cfg
}

func podRule(ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: ops,
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}
}

// server is a running `volumeguard serve` process.
type server struct {
	cmd     *exec.Cmd
	metrics string
	logs    *syncbuffer.Buffer
}

// startServer runs the real binary on the port envtest pointed the webhook
// configurations at, with the serving certificate envtest generated.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	opts := s.env.WebhookInstallOptions
	return startServe(t, append([]string{
		"--listen", net.JoinHostPort(opts.LocalServingHost, fmt.Sprint(opts.LocalServingPort)),
		"--tls-cert-file", filepath.Join(opts.LocalServingCertDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(opts.LocalServingCertDir, "tls.key"),
	}, extraArgs...)...)
}

// startServe runs `volumeguard serve` with args, a kubeconfig for the
// suite's API server, a free metrics port and mode audit (args may
// override it), and waits until it is ready. It is stopped when t ends.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	kubeconfig := writeKubeconfig(t, s.cfg)
	metrics := freeAddr(t)
	args = append([]string{"serve",
		"--metrics-listen", metrics,
		"--kubeconfig", kubeconfig,
		"--mode", "audit",
	}, args...)
	cmd := exec.Command(s.bin, args...)
	logs := &syncbuffer.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting volumeguard serve: %v", err)
	}
	srv := &server{cmd: cmd, metrics: metrics, logs: logs}
	t.Cleanup(func() { srv.stop(t) })
	srv.waitReady(t)
	return srv
}

func (srv *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + srv.metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("volumeguard serve never became ready; logs:\n%s", srv.logs.String())
}

func (srv *server) stop(t *testing.T) {
	if srv.cmd.ProcessState != nil {
		return
	}
	_ = srv.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("volumeguard serve exited with %v after SIGINT; logs:\n%s", err, srv.logs.String())
		}
	case <-time.After(15 * time.Second):
		_ = srv.cmd.Process.Kill()
		t.Errorf("volumeguard serve did not stop within 15s of SIGINT")
	}
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// warnings collects the admission warnings the API server relays.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

// clientWithWarnings is a clientset whose warnings the test can read.
func clientWithWarnings(t *testing.T) (kubernetes.Interface, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(s.cfg)
	cfg.WarningHandler = w
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// uniqueName appends a per-call suffix to base, for objects (namespaces
// above all) that a second run on the same API server must not collide with.
func uniqueName(base string) string {
	return fmt.Sprintf("%s-%x", base, time.Now().UnixNano()&0xffffff)
}
