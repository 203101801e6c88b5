package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/volumeguard/volumeguard/internal/crirun"
)

// podRun is a pod spec run as the kubelet runs it, for what volumeguard's
// mutation relies on: each emptyDir a host directory made 0777 root:root
// (pkg/volume/emptydir: setupDir), each volumeMount a CRI mount of it at the
// mountPath, init containers one after the other, each to a successful
// exit, then the containers.
type podRun struct {
	pod       *crirun.Pod
	hostDirs  map[string]string // volume name -> host directory
	imageUIDs map[string]int64  // image -> the uid its USER runs as
}

func newPodRun(t *testing.T, pod *crirun.Pod, spec *corev1.PodSpec, imageUIDs map[string]int64) *podRun {
	t.Helper()
	r := &podRun{pod: pod, hostDirs: map[string]string{}, imageUIDs: imageUIDs}
	base := t.TempDir()
	for _, v := range spec.Volumes {
		if v.EmptyDir == nil {
			t.Fatalf("volume %q is not an emptyDir: the test runs only those", v.Name)
		}
		dir := filepath.Join(base, v.Name)
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil { // past the umask, as setupDir does
			t.Fatal(err)
		}
		r.hostDirs[v.Name] = dir
	}
	return r
}

// runInit runs an init container to its exit and returns its log; a
// failure fails the test, as it would hold the pod in Init.
func (r *podRun) runInit(t *testing.T, c corev1.Container) (*crirun.Container, string) {
	t.Helper()
	ctr := r.start(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code, err := ctr.Wait(ctx)
	log, lerr := ctr.Log()
	if err != nil || lerr != nil || code != 0 {
		t.Fatalf("init container %s: exit %d, %v, %v\n%s", c.Name, code, err, lerr, log)
	}
	return ctr, log
}

// start creates and starts a container of the spec.
func (r *podRun) start(t *testing.T, c corev1.Container) *crirun.Container {
	t.Helper()
	security, err := criSecurity(c.SecurityContext, r.imageUIDs[c.Image])
	if err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
	var mounts []*runtimeapi.Mount
	for _, m := range c.VolumeMounts {
		dir, ok := r.hostDirs[m.Name]
		if !ok {
			t.Fatalf("container %s mounts %q, which is not a volume of the pod", c.Name, m.Name)
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: kubeletContainerPath(m.MountPath), HostPath: dir, Readonly: m.ReadOnly})
	}
	cs, errs := r.pod.RunContainers(t, crirun.ContainerSpec{Name: c.Name, Image: c.Image, Command: c.Command, Mounts: mounts, Security: security})
	if errs[0] != nil {
		t.Fatalf("container %s: %v", c.Name, errs[0])
	}
	return cs[0]
}

// criSecurity is what the kubelet sends the runtime for a container's
// securityContext (pkg/kubelet/kuberuntime/security_context.go), for the
// fields PodSecurity restricted sets; like the kubelet's verifyRunAsNonRoot
// it refuses runAsNonRoot for a container that would run as uid 0.
func criSecurity(sc *corev1.SecurityContext, imageUID int64) (*runtimeapi.LinuxContainerSecurityContext, error) {
	out := &runtimeapi.LinuxContainerSecurityContext{}
	if sc == nil {
		return out, nil
	}
	uid := imageUID
	if sc.RunAsUser != nil {
		uid = *sc.RunAsUser
		out.RunAsUser = &runtimeapi.Int64Value{Value: uid}
	}
	if sc.RunAsGroup != nil {
		out.RunAsGroup = &runtimeapi.Int64Value{Value: *sc.RunAsGroup}
	}
	if sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && uid == 0 {
		return nil, fmt.Errorf("runAsNonRoot and the container would run as root")
	}
	if sc.AllowPrivilegeEscalation != nil {
		out.NoNewPrivs = !*sc.AllowPrivilegeEscalation
	}
	if sc.Capabilities != nil {
		out.Capabilities = &runtimeapi.Capability{}
		for _, c := range sc.Capabilities.Drop {
			out.Capabilities.DropCapabilities = append(out.Capabilities.DropCapabilities, string(c))
		}
		for _, c := range sc.Capabilities.Add {
			out.Capabilities.AddCapabilities = append(out.Capabilities.AddCapabilities, string(c))
		}
	}
	if sc.ReadOnlyRootFilesystem != nil {
		out.ReadonlyRootfs = *sc.ReadOnlyRootFilesystem
	}
	if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault {
		out.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	}
	if sc.Privileged != nil {
		out.Privileged = *sc.Privileged
	}
	return out, nil
}
