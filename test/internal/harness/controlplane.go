// Package harness runs the real parts the reliability suites need: a
// kube-apiserver and etcd (envtest, from KUBEBUILDER_ASSETS), the built
// `volumeguard serve` binary behind webhook configurations, a registry on
// loopback that the test controls byte by byte, and what measures them
// (RSS, goroutines, answer times). test/adversarial, test/soak and
// test/chaos drive volumeguard only from outside, through these.
package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// WebhookLabel on a namespace sends its pods to the suite's webhooks; the
// namespaces the API server makes itself (default, kube-system) stay out.
const WebhookLabel = "harness.volumeguard.io/webhook"

// Webhooks are the webhook configurations a control plane installs, as
// manifests/overlays/enforce does: /mutate for pods (failurePolicy
// Ignore), /validate for pods and workloads (Validate).
type Webhooks struct {
	TimeoutSeconds int32
	Validate       admissionregistrationv1.FailurePolicyType
}

// ControlPlane is a kube-apiserver and etcd whose webhook configurations
// point at Webhook.LocalServingHost:LocalServingPort, with the serving
// certificate in Webhook.LocalServingCertDir.
type ControlPlane struct {
	Env     *envtest.Environment
	Config  *rest.Config
	Client  kubernetes.Interface
	Webhook *envtest.WebhookInstallOptions
	dir     string
}

// StartControlPlane starts kube-apiserver and etcd from the binaries in
// assets, with hooks installed. Its API server keeps its certificates in a
// directory of its own, so that RestartAPIServer keeps the clients valid.
func StartControlPlane(assets string, hooks Webhooks) (*ControlPlane, error) {
	// controller-runtime's client (webhook installation) logs through its
	// own logger, and prints a stack trace when none was set.
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "volumeguard-harness-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   "127.0.0.1",
			MutatingWebhooks:   []*admissionregistrationv1.MutatingWebhookConfiguration{mutating(hooks)},
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{validating(hooks)},
		},
	}
	env.ControlPlane.GetAPIServer().CertDir = filepath.Join(dir, "apiserver")
	if err := os.MkdirAll(env.ControlPlane.APIServer.CertDir, 0o700); err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	startReaper(env.ControlPlane.APIServer.CertDir, env.ControlPlane.Etcd.DataDir)
	quiet := rest.CopyConfig(cfg)
	quiet.WarningHandler = rest.NoWarnings{}
	quiet.QPS, quiet.Burst = -1, 0 // the suites measure volumeguard, not client-go's rate limiter
	client, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &ControlPlane{Env: env, Config: quiet, Client: client, Webhook: &env.WebhookInstallOptions, dir: dir}, nil
}

// Stop stops kube-apiserver and etcd and removes their files.
func (cp *ControlPlane) Stop() {
	_ = cp.Env.Stop()
	os.RemoveAll(cp.dir)
}

// RestartAPIServer stops kube-apiserver (SIGTERM; SIGKILL when it has not
// exited after 5 s, as it waits for its open watches), waits down, and
// starts it again on the same port, certificates and etcd: what a
// control-plane upgrade or crash does to the webhook's watches.
func (cp *ControlPlane) RestartAPIServer(down time.Duration) error {
	api := cp.Env.ControlPlane.APIServer
	api.StopTimeout = 5 * time.Second
	if err := api.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	time.Sleep(down)
	if err := api.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	startReaper(api.CertDir)
	return nil
}

// Namespace creates a namespace of mode (off, audit, mutate, enforce; ""
// leaves the label out) that the webhooks are called for.
func (cp *ControlPlane) Namespace(ctx context.Context, name, mode string) error {
	labels := map[string]string{WebhookLabel: "on"}
	if mode != "" {
		labels["volumeguard.io/mode"] = mode
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// ServingAddr is where the webhook configurations send admission requests.
func (cp *ControlPlane) ServingAddr() string {
	return fmt.Sprintf("%s:%d", cp.Webhook.LocalServingHost, cp.Webhook.LocalServingPort)
}

func ptr[T any](v T) *T { return &v }

func selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{WebhookLabel: "on"}}
}

func podRule(ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: ops,
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}
}

func mutating(h Webhooks) *admissionregistrationv1.MutatingWebhookConfiguration {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "mutate.volumeguard.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "volumeguard", Namespace: "volumeguard", Path: ptr("mutate")}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(admissionregistrationv1.Create)},
			FailurePolicy:           ptr(admissionregistrationv1.Ignore),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(h.TimeoutSeconds),
			ReinvocationPolicy:      ptr(admissionregistrationv1.IfNeededReinvocationPolicy),
			NamespaceSelector:       selector(),
		}},
	}
	cfg.Name = "volumeguard-harness"
	return cfg
}

func validating(h Webhooks) *admissionregistrationv1.ValidatingWebhookConfiguration {
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
			FailurePolicy:           ptr(h.Validate),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(h.TimeoutSeconds),
			NamespaceSelector:       selector(),
		}},
	}
	cfg.Name = "volumeguard-harness"
	return cfg
}

// SetValidateFailurePolicy changes the failurePolicy of the validating
// webhook, and waits until the API server applies it.
func (cp *ControlPlane) SetValidateFailurePolicy(ctx context.Context, p admissionregistrationv1.FailurePolicyType) error {
	hooks := cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cfg, err := hooks.Get(ctx, "volumeguard-harness", metav1.GetOptions{})
	if err != nil {
		return err
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].FailurePolicy = ptr(p)
	}
	if _, err := hooks.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
		return err
	}
	// The API server's webhook informer sees the change within a moment;
	// there is no way to ask it, so give it a generous one.
	time.Sleep(2 * time.Second)
	return nil
}

// startReaper stops kube-apiserver and etcd if the test binary dies
// without running its cleanup (a panic in a test goroutine exits the
// process past TestMain's defers). envtest starts them in process groups
// of their own, so nothing else would. It finds their process ids by the
// suite's own directories on their command lines, now, and kills those
// ids once this process is gone; after a normal stop they are gone too.
func startReaper(dirs ...string) {
	pids := processesWithArgs(dirs)
	if len(pids) == 0 {
		return
	}
	script := `while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill "$@" 2>/dev/null; exit 0`
	cmd := exec.Command("sh", append([]string{"-c", script, strconv.Itoa(os.Getpid())}, pids...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "harness: no reaper for kube-apiserver and etcd:", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}

// processesWithArgs lists the ids of the processes with an argument
// "--cert-dir=<dir>" or "--data-dir=<dir>" for one of dirs.
func processesWithArgs(dirs []string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			for _, d := range dirs {
				if d != "" && (arg == "--cert-dir="+d || arg == "--data-dir="+d) {
					pids = append(pids, e.Name())
				}
			}
		}
	}
	return pids
}
