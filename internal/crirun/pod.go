package crirun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/volumeguard/volumeguard/internal/crirun/fstree"
)

// Pod is a running pod sandbox on the host network.
type Pod struct {
	ID     string
	rt     *Runtime
	config *runtimeapi.PodSandboxConfig
}

// RunPod starts a pod sandbox on the host network (no CNI), stopped and
// removed when the test ends, before containerd stops.
func (r *Runtime) RunPod(t testing.TB, name string) *Pod {
	t.Helper()
	uid := randomHex(8)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "crirun", Uid: uid},
		LogDirectory: filepath.Join(r.layout.logs(), uid),
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: r.cgroupParent,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := r.RuntimeService.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("running pod %s: %v", name, err)
	}
	p := &Pod{ID: resp.GetPodSandboxId(), rt: r, config: cfg}
	t.Cleanup(func() { p.remove(t) })
	return p
}

func (p *Pod) remove(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := p.rt.RuntimeService.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.ID}); err != nil {
		t.Errorf("stopping pod %s: %v", p.ID, err)
	}
	if _, err := p.rt.RuntimeService.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.ID}); err != nil {
		t.Errorf("removing pod %s: %v", p.ID, err)
	}
}

// Container is a container of a Pod.
type Container struct {
	ID   string
	name string
	pod  *Pod
}

// ContainerSpec is a container to run: a name unique in the pod, an image
// reference and the CRI mounts; Command, when set, replaces the image's
// entrypoint, and Security (user, capabilities, seccomp, ...) is what the
// kubelet makes of a securityContext.
type ContainerSpec struct {
	Name     string
	Image    string
	Mounts   []*runtimeapi.Mount
	Command  []string
	Security *runtimeapi.LinuxContainerSecurityContext
}

// RunContainer pulls image, creates a container of it with mounts and starts
// it; name must be unique in the pod. Errors of the runtime are returned, not
// reported: what containerd refuses is a result. A created container is
// stopped and removed when the test ends, before its pod.
func (p *Pod) RunContainer(t testing.TB, name, image string, mounts ...*runtimeapi.Mount) (*Container, error) {
	t.Helper()
	cs, errs := p.RunContainers(t, ContainerSpec{Name: name, Image: image, Mounts: mounts})
	return cs[0], errs[0]
}

// RunContainers is RunContainer for several containers at once: most of
// starting and removing one is waiting for runc and the shim, so they are
// started, and removed when the test ends, concurrently. The results are in
// the order of specs.
func (p *Pod) RunContainers(t testing.TB, specs ...ContainerSpec) ([]*Container, []error) {
	t.Helper()
	cs, errs := make([]*Container, len(specs)), make([]error, len(specs))
	slots := make(chan struct{}, concurrentStarts)
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			cs[i], errs[i] = p.runContainer(t, spec)
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, c := range cs {
			if c != nil {
				wg.Go(func() { c.remove(t) })
			}
		}
		wg.Wait()
	})
	return cs, errs
}

// concurrentStarts bounds RunContainers: each start asks the sandbox's shim
// for its state, and a busy shim makes containerd 1.6 fail (sandboxPidBug).
const concurrentStarts = 4

// startAttempts is how often runContainer tries to get past sandboxPidBug.
const startAttempts = 3

// sandboxPidBug is in the error of starting a container that containerd 1.6
// created while its sandbox's shim did not answer a state request within 2s:
// the tasks service then reports pid 0, and the spec joins the namespaces of
// /proc/0 (containerd/containerd#9160). Under load on a shared machine it
// happens; the kubelet would retry too, so runContainer does, with a new
// container.
const sandboxPidBug = "/proc/0/ns/"

// runContainer returns the container once it is created, with the error of
// starting it, if any.
func (p *Pod) runContainer(t testing.TB, spec ContainerSpec) (*Container, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := p.rt.ImageService.PullImage(ctx, &runtimeapi.PullImageRequest{
		Image: &runtimeapi.ImageSpec{Image: spec.Image}, SandboxConfig: p.config,
	}); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", spec.Image, err)
	}
	for attempt := 1; ; attempt++ {
		c, err := p.createAndStart(ctx, spec)
		if err == nil || c == nil || attempt == startAttempts || !strings.Contains(err.Error(), sandboxPidBug) {
			return c, err
		}
		t.Logf("containerd#9160 (sandbox pid 0), trying again: %v", err)
		if err := c.delete(ctx); err != nil {
			return c, err
		}
	}
}

// createAndStart returns the container once it is created, with the error of
// starting it, if any.
func (p *Pod) createAndStart(ctx context.Context, spec ContainerSpec) (*Container, error) {
	rs := p.rt.RuntimeService
	security := &runtimeapi.LinuxContainerSecurityContext{}
	if spec.Security != nil {
		security = proto.Clone(spec.Security).(*runtimeapi.LinuxContainerSecurityContext)
	}
	// A container of a host-network pod says so too, as the kubelet's do.
	security.NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: spec.Name},
		Image:    &runtimeapi.ImageSpec{Image: spec.Image},
		Command:  spec.Command,
		Mounts:   spec.Mounts,
		LogPath:  spec.Name + ".log",
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: security},
	}
	created, err := rs.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.ID, Config: cfg, SandboxConfig: p.config,
	})
	if err != nil {
		return nil, fmt.Errorf("creating container %s: %w", spec.Name, err)
	}
	c := &Container{ID: created.GetContainerId(), name: spec.Name, pod: p}
	if _, err := rs.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ID}); err != nil {
		return c, fmt.Errorf("starting container %s: %w", spec.Name, err)
	}
	return c, nil
}

func (c *Container) remove(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := c.delete(ctx); err != nil {
		t.Error(err)
	}
}

// delete stops and removes the container; the app exits on SIGTERM at once,
// so the grace period only matters when something is wrong.
func (c *Container) delete(ctx context.Context) error {
	rs := c.pod.rt.RuntimeService
	if _, err := rs.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.ID, Timeout: 10}); err != nil {
		return fmt.Errorf("stopping container %s: %w", c.ID, err)
	}
	if _, err := rs.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.ID}); err != nil {
		return fmt.Errorf("removing container %s: %w", c.ID, err)
	}
	return nil
}

// Mount is one mount of the container's runtime spec.
type Mount struct {
	Destination string   `json:"destination"`
	Source      string   `json:"source"`
	Type        string   `json:"type"`
	Options     []string `json:"options"`
}

// containerInfo is the part of containerd's verbose container status
// (pkg/cri/server/container_status.go, ContainerInfo) read here.
type containerInfo struct {
	RuntimeSpec struct {
		Mounts []Mount `json:"mounts"`
	} `json:"runtimeSpec"`
}

// SpecMounts are the mounts of the container's runtime spec, from the
// verbose container status.
func (c *Container) SpecMounts(ctx context.Context) ([]Mount, error) {
	resp, err := c.pod.rt.RuntimeService.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ID, Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("reading the status of container %s: %w", c.ID, err)
	}
	var info containerInfo
	if err := json.Unmarshal([]byte(resp.GetInfo()["info"]), &info); err != nil {
		return nil, fmt.Errorf("decoding the verbose status of container %s: %w", c.ID, err)
	}
	return info.RuntimeSpec.Mounts, nil
}

// VolumesDir is where containerd keeps the container's anonymous volumes.
func (c *Container) VolumesDir() string {
	return filepath.Join(c.pod.rt.layout.criRoot(), "containers", c.ID, "volumes")
}

// AnonymousVolumes maps each container path that got an anonymous volume to
// its host directory. It takes them from the runtime spec's bind mounts whose
// source lies in VolumesDir, and checks that they are exactly the
// directories there.
func (c *Container) AnonymousVolumes(ctx context.Context) (map[string]string, error) {
	mounts, err := c.SpecMounts(ctx)
	if err != nil {
		return nil, err
	}
	dir := c.VolumesDir()
	volumes := map[string]string{}
	var fromSpec []string
	for _, m := range mounts {
		if filepath.Dir(m.Source) == dir {
			volumes[m.Destination] = m.Source
			fromSpec = append(fromSpec, filepath.Base(m.Source))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	sort.Strings(fromSpec)
	sort.Strings(onDisk)
	if strings.Join(fromSpec, ",") != strings.Join(onDisk, ",") {
		return nil, fmt.Errorf("container %s: the spec mounts volumes %v, %s holds %v", c.ID, fromSpec, dir, onDisk)
	}
	return volumes, nil
}

// Trees lists each dir as the container sees it (the app's `tree` inside
// it), in one exec.
func (c *Container) Trees(ctx context.Context, dirs ...string) (map[string][]fstree.Entry, error) {
	resp, err := c.pod.rt.RuntimeService.ExecSync(ctx, &runtimeapi.ExecSyncRequest{
		ContainerId: c.ID, Cmd: append([]string{AppPath, "tree"}, dirs...), Timeout: 30,
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q in container %s: %w", dirs, c.ID, err)
	}
	if resp.GetExitCode() != 0 {
		return nil, fmt.Errorf("listing %q in container %s: exit %d: %s", dirs, c.ID, resp.GetExitCode(), resp.GetStderr())
	}
	var trees map[string][]fstree.Entry
	if err := json.Unmarshal(resp.GetStdout(), &trees); err != nil {
		return nil, fmt.Errorf("decoding the listing of %q in container %s: %w", dirs, c.ID, err)
	}
	return trees, nil
}
