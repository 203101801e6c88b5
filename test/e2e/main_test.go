// Package e2e runs the real `volumeguard serve` binary behind a real
// kube-apiserver and etcd (started by envtest from the binaries
// hack/build-tools.sh builds), with images in go-containerregistry's
// in-process registry. Objects are created through the API server, exactly as
// kubectl would, and read back.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/google/go-containerregistry/pkg/registry"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// suite is what every test shares; it is built once in TestMain.
type suite struct {
	env      *envtest.Environment
	cfg      *rest.Config
	client   kubernetes.Interface
	bin      string
	registry string // host:port of the in-process registry
	images   map[string]string
	workDir  string
}

var s *suite // set once by TestMain, read-only afterwards

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// controller-runtime's client (install tests) logs through its own
	// logger, and prints a stack trace when none was set.
	ctrllog.SetLogger(logr.Discard())
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if os.Getenv("VOLUMEGUARD_REQUIRE_TOOLS") != "" {
			fmt.Fprintln(os.Stderr, "e2e: KUBEBUILDER_ASSETS is not set; run `make e2e` (hack/build-tools.sh envtest-dir)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped: KUBEBUILDER_ASSETS is not set (make e2e sets it)")
		return 0
	}
	work, err := os.MkdirTemp("", "volumeguard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)

	st, cleanup, err := setup(assets, work)
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	s = st
	return m.Run()
}

func setup(assets, work string) (*suite, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	st := &suite{workDir: work}

	st.bin = filepath.Join(work, "volumeguard")
	build := exec.Command("go", "build", "-o", st.bin, "github.com/volumeguard/volumeguard/cmd/volumeguard")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, cleanup, fmt.Errorf("building volumeguard: %v\n%s", err, out)
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	cleanups = append(cleanups, reg.Close)
	st.registry = strings.TrimPrefix(reg.URL, "http://")
	images, err := pushImages(st.registry)
	if err != nil {
		return nil, cleanup, err
	}
	st.images = images

	st.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		// cert-manager's Certificate and Issuer, for overlays/cert-manager.
		CRDDirectoryPaths:     []string{filepath.Join("testdata", "crds")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   "127.0.0.1",
			MutatingWebhooks:   []*admissionregistrationv1.MutatingWebhookConfiguration{mutatingWebhook()},
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{validatingWebhook()},
		},
	}
	cfg, err := st.env.Start()
	if err != nil {
		return nil, cleanup, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	cleanups = append(cleanups, func() { _ = st.env.Stop() })
	startReaper(st.env.ControlPlane.APIServer.CertDir, st.env.ControlPlane.Etcd.DataDir)
	st.cfg = cfg
	// The suite's own client: warnings are asserted through
	// clientWithWarnings, not printed by klog into the test output.
	quiet := rest.CopyConfig(cfg)
	quiet.WarningHandler = rest.NoWarnings{}
	if st.client, err = kubernetes.NewForConfig(quiet); err != nil {
		return nil, cleanup, err
	}
	for mode := range modes {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vg-" + mode, Labels: map[string]string{"volumeguard.io/mode": mode}}}
		if _, err := st.client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
			return nil, cleanup, fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	return st, cleanup, nil
}

// modes are the namespaces the suite creates, one per mode: vg-<mode>.
var modes = map[string]bool{"off": true, "audit": true, "mutate": true, "enforce": true}

// startReaper stops this suite's kube-apiserver and etcd if the test binary
// dies without running its cleanup (a panicking test exits the process from
// its own goroutine, past TestMain's defers). envtest starts them in their
// own process groups, so nothing else would. The reaper waits for this
// process to end, then kills the processes whose command line names the
// suite's own directories; after a normal Stop it finds none.
func startReaper(dirs ...string) {
	// The pattern is "-dir=<dir>" (--cert-dir=, --data-dir=), which the
	// reaper's own command line, holding the bare directories, never matches.
	script := `while kill -0 "$0" 2>/dev/null; do sleep 1; done; for d in "$@"; do [ -n "$d" ] && pkill -f -- "-dir=$d"; done; exit 0`
	cmd := exec.Command("sh", append([]string{"-c", script, strconv.Itoa(os.Getpid())}, dirs...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: no reaper for kube-apiserver and etcd:", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}
