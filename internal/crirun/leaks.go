package crirun

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An instance's directory holds lockFile, locked by the test process for
// the instance's life, and cgroupFile, its pods' cgroup parent, written once
// the lock is held. A directory with cgroupFile whose lock is free belongs to
// a test process that died without its cleanups (interrupted, timed out):
// sweepStale removes what it left.
const (
	lockFile   = "lock"
	cgroupFile = "cgroup-parent"
)

// claim locks a new instance directory and records its cgroup parent. The
// returned file holds the lock until it is closed, or the process ends.
func claim(dir, cgroupParent string) (*os.File, error) {
	lock, err := os.Create(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("creating the instance lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, cgroupFile), []byte(cgroupParent), 0o600); err != nil {
		lock.Close()
		return nil, fmt.Errorf("recording the cgroup parent: %w", err)
	}
	return lock, nil
}

// sweepStale removes the leftovers of instances whose test process died.
func sweepStale(t testing.TB) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "crirun-*"))
	for _, dir := range dirs {
		parent, err := os.ReadFile(filepath.Join(dir, cgroupFile))
		if err != nil {
			continue // not claimed yet, or not ours
		}
		lock, err := os.Open(filepath.Join(dir, lockFile))
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			found := sweep(dir, string(parent))
			t.Logf("removed the leftovers of an interrupted run in %s: %s", dir, strings.Join(found, "; "))
		}
		lock.Close()
	}
}

// checkAndRemove runs after containerd stopped. Whatever of this instance is
// still there is a leak: a test error, then removed so the machine stays
// clean.
func (r *Runtime) checkAndRemove(t testing.TB) {
	for _, leak := range sweep(r.layout.dir, r.cgroupParent) {
		t.Errorf("leak: %s", leak)
	}
}

// sweep kills the processes of one instance (containerd, shims and the
// containers' processes, by pid), detaches its mounts, removes its cgroups
// and its directory, and says what it found besides the directory.
func sweep(dir, cgroupParent string) []string {
	var found []string
	note := func(format string, args ...any) { found = append(found, fmt.Sprintf(format, args...)) }
	cgroups := cgroupDirs(cgroupParent)
	pids := processesUsing(dir)
	for _, c := range cgroups {
		pids = append(pids, cgroupProcs(c.path)...)
	}
	slices.Sort(pids) // a process is in one cgroup of each hierarchy
	pids = slices.Compact(pids)
	for _, pid := range pids {
		note("process %d still runs; killed", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(pids) > 0 {
		// Let the kernel reap them before their mounts and cgroups go.
		time.Sleep(500 * time.Millisecond)
	}
	mounts, err := mountsUnder(dir)
	if err != nil {
		note("%v", err)
	}
	for _, m := range mounts {
		note("%s is still mounted; detached", m)
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			note("detaching %s: %v", m, err)
		}
	}
	for _, sock := range shimSockets(layout{dir: dir}) {
		note("shim socket %s is still there; removed", sock)
		_ = os.Remove(sock)
	}
	for _, c := range cgroups {
		if c.leaf {
			note("cgroup %s is still there; removed", c.path)
		}
		if err := os.Remove(c.path); err != nil {
			note("removing cgroup %s: %v", c.path, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		note("removing %s: %v", dir, err)
	}
	return found
}

// processesUsing are the processes with an argument inside dir: the
// instance's containerd (--config) and shims (-address).
func processesUsing(dir string) []int {
	procs, _ := os.ReadDir("/proc")
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if strings.HasPrefix(string(arg), dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// shimSockets are the sockets of the instance's shims that are still there.
// containerd 1.6 puts them in /run/containerd/s whatever its state directory,
// named by a hash of its socket, the namespace and the shim's id
// (runtime/v2/shim SocketAddress); a shim removes its own when it exits,
// unless it was killed. Every task has a directory named by its id in the
// task state; a shim serves a pod's tasks under the sandbox's id.
func shimSockets(l layout) []string {
	const ns = "k8s.io" // the CRI plugin's namespace
	tasks, _ := os.ReadDir(filepath.Join(l.state(), "io.containerd.runtime.v2.task", ns))
	var socks []string
	for _, task := range tasks {
		sock := fmt.Sprintf("/run/containerd/s/%x", sha256.Sum256([]byte(filepath.Join(l.socket(), ns, task.Name()))))
		if _, err := os.Lstat(sock); err == nil {
			socks = append(socks, sock)
		}
	}
	return socks
}

// mountsUnder lists the mount points at or below dir, deepest first, from
// /proc/self/mountinfo.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	return mounts, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDir is a directory at or below the pods' cgroup parent, in one hierarchy.
type cgroupDir struct {
	path string
	leaf bool // a container's or pod's cgroup, not the parent runc created on the way
}

// cgroupDirs lists the pods' cgroup parent and what is below it, in every
// mounted hierarchy (v1 controllers and the unified one), deepest first so
// that they can be removed in order. runc removes a container's own cgroup
// but not the parent it created, which a kubelet would own.
func cgroupDirs(parent string) []cgroupDir {
	if !strings.HasPrefix(parent, "/crirun-") {
		return nil // only ever ours
	}
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	var dirs []cgroupDir
	for _, h := range hierarchies {
		top := filepath.Join(h, parent)
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, cgroupDir{path: p, leaf: p != top})
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i].path) > len(dirs[j].path) })
	return dirs
}

// cgroupProcs are the processes in one cgroup.
func cgroupProcs(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
