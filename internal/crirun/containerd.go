package crirun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is a private containerd with its CRI plugin, its loopback registry
// and its clients. Start makes one; it stops when the test ends.
type Runtime struct {
	RuntimeService runtimeapi.RuntimeServiceClient
	ImageService   runtimeapi.ImageServiceClient

	layout       layout
	lock         *os.File // claim's: held while the instance lives
	registry     string   // host:port
	base         v1.Layer
	cgroupParent string // every pod's, so that cleanup knows what to check
	snapshotter  string
}

// Option configures Start.
type Option func(*settings)

type settings struct {
	snapshotter string
	app         string
}

// WithSnapshotter picks containerd's snapshotter. The default, overlayfs, is
// what nodes run; native copies every layer and works on any file system.
func WithSnapshotter(name string) Option {
	return func(s *settings) { s.snapshotter = name }
}

// WithApp runs the app binary BuildApp made instead of building it again:
// for tests that start several runtimes.
func WithApp(path string) Option {
	return func(s *settings) { s.app = path }
}

// callTimeout bounds each CRI call: a wedged runtime fails the test instead
// of hanging it until go test's own timeout.
const callTimeout = time.Minute

// Start builds the app (unless WithApp), pushes the sandbox image to a new
// loopback registry, starts containerd and waits until its CRI runtime is
// ready. Everything is stopped and checked for leaks when the test ends
// (Cleanup), pods first. A test process that dies before its cleanups run
// (interrupted, timed out) leaves containerd, shims, containers, mounts and
// cgroups behind: the next Start on the machine removes them (sweepStale).
func Start(t testing.TB, opts ...Option) *Runtime {
	t.Helper()
	s := settings{snapshotter: "overlayfs"}
	for _, o := range opts {
		o(&s)
	}
	bins := requireTools(t)
	sweepStale(t)
	dir, err := os.MkdirTemp("", "crirun-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runtime{layout: layout{dir: dir}, snapshotter: s.snapshotter, cgroupParent: "/crirun-" + randomHex(6)}
	if r.lock, err = claim(dir, r.cgroupParent); err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	// Registered first so that it runs last: after containerd stopped.
	t.Cleanup(func() {
		r.checkAndRemove(t)
		r.lock.Close()
	})

	if s.app == "" {
		s.app = buildApp(t, bins.goBin, r.layout.dir)
	}
	if r.base, err = baseLayer(s.app); err != nil {
		t.Fatal(err)
	}
	r.registry = startRegistry(t)
	sandboxImage := r.registry + "/crirun/pause:1"
	if err := pushImage(sandboxImage, r.base, Image{}); err != nil {
		t.Fatal(err)
	}
	cfg := configSettings{registry: r.registry, sandboxImage: sandboxImage, snapshotter: s.snapshotter, runc: bins.runc}
	if err := writeConfig(r.layout, cfg); err != nil {
		t.Fatal(err)
	}
	proc, err := r.startProcess(bins.containerd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stopProcess(t, proc) })
	conn, err := grpc.NewClient("unix://"+r.layout.socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("connecting to containerd: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	r.RuntimeService, r.ImageService = runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := r.waitReady(ctx, proc); err != nil {
		t.Fatalf("%v\ncontainerd's log:\n%s", err, r.logTail())
	}
	return r
}

// BuildApp builds the app (app/main.go) static into a temporary directory
// of t, for WithApp. It skips or fails as Start does without the tools.
func BuildApp(t testing.TB) string {
	t.Helper()
	return buildApp(t, requireTools(t).goBin, t.TempDir())
}

// tools are the binaries Start runs.
type tools struct {
	containerd, runc, goBin string
}

// requireTools skips the test unless it runs as root with containerd, its
// runc shim, runc and go at hand; VOLUMEGUARD_REQUIRE_TOOLS=1 fails it instead.
func requireTools(t testing.TB) tools {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("VOLUMEGUARD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (hack/install-runtime.sh installs containerd and runc)", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		missing("containerd needs root")
	}
	var b tools
	for _, tool := range []struct {
		name string
		path *string
	}{{"containerd", &b.containerd}, {"containerd-shim-runc-v2", new(string)}, {"runc", &b.runc}, {"go", &b.goBin}} {
		p, err := exec.LookPath(tool.name)
		if err != nil {
			missing(fmt.Sprintf("no %s in PATH", tool.name))
		}
		*tool.path = p
	}
	return b
}

// Registry is the loopback registry's host:port.
func (r *Runtime) Registry() string { return r.registry }

// Root is containerd's root directory.
func (r *Runtime) Root() string { return r.layout.root() }

// Snapshotter is the snapshotter containerd runs with.
func (r *Runtime) Snapshotter() string { return r.snapshotter }

// PushImage writes img to the loopback registry as crirun/<repo>:1 and
// returns its reference.
func (r *Runtime) PushImage(t testing.TB, repo string, img Image) string {
	t.Helper()
	ref := r.registry + "/crirun/" + repo + ":1"
	if err := pushImage(ref, r.base, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// process is the running containerd; exited closes when it has been reaped.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func (r *Runtime) startProcess(bin string) (*process, error) {
	logFile, err := os.Create(r.layout.log())
	if err != nil {
		return nil, fmt.Errorf("creating containerd's log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, "--config", r.layout.config(), "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// TMPDIR: WithVolumes mounts the container's rootfs under os.MkdirTemp
	// to copy the image's content into anonymous volumes; there, a leftover
	// mount is one the leak check sees.
	cmd.Env = append(os.Environ(), "TMPDIR="+r.layout.tmp())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting containerd: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls CRI Status until the runtime is ready (not the network:
// there is no CNI, pods use the host network).
func (r *Runtime) waitReady(ctx context.Context, p *process) error {
	var last error
	for {
		resp, err := r.RuntimeService.Status(ctx, &runtimeapi.StatusRequest{})
		if err == nil {
			for _, c := range resp.GetStatus().GetConditions() {
				if c.GetType() == runtimeapi.RuntimeReady && c.GetStatus() {
					return nil
				}
			}
			err = errors.New("runtime not ready")
		}
		last = err
		select {
		case <-p.exited:
			return fmt.Errorf("containerd exited (%v): %w", p.cmd.ProcessState, last)
		case <-ctx.Done():
			return fmt.Errorf("waiting for containerd's CRI: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopGrace is how long containerd may take to stop on SIGTERM.
const stopGrace = 15 * time.Second

// stopProcess ends containerd: SIGTERM, then SIGKILL after stopGrace.
func (r *Runtime) stopProcess(t testing.TB, p *process) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		t.Errorf("containerd ignored SIGTERM for %s; killing it", stopGrace)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	if t.Failed() {
		t.Logf("containerd's log (tail):\n%s", r.logTail())
	}
}

// logTail is the end of containerd's log, for failure messages.
func (r *Runtime) logTail() string {
	b, err := os.ReadFile(r.layout.log())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
