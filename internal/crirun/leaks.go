package crirun

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// checkAndRemove runs after containerd stopped. Whatever of this instance is
// still there is a leak: a test error, then removed so the machine stays
// clean (shims killed by pid, mounts detached, cgroups removed).
func (r *Runtime) checkAndRemove(t testing.TB) {
	for _, pid := range r.leftoverShims() {
		t.Errorf("leak: shim process %d still runs; killing it", pid)
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	mounts, err := mountsUnder(r.layout.dir)
	if err != nil {
		t.Error(err)
	}
	for _, m := range mounts {
		t.Errorf("leak: %s is still mounted; detaching it", m)
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("detaching %s: %v", m, err)
		}
	}
	for _, dir := range r.cgroupDirs() {
		if dir.leaf {
			t.Errorf("leak: cgroup %s is still there; removing it", dir.path)
		}
		if err := os.Remove(dir.path); err != nil {
			t.Errorf("removing cgroup %s: %v", dir.path, err)
		}
	}
	if err := os.RemoveAll(r.layout.dir); err != nil {
		t.Errorf("removing containerd's directory: %v", err)
	}
}

// leftoverShims are the processes started for this containerd (shims carry
// `-address <socket>`) that still run.
func (r *Runtime) leftoverShims() []int {
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
			if string(arg) == r.layout.socket() {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
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

// cgroupDir is a directory below the pods' cgroup parent, in one hierarchy.
type cgroupDir struct {
	path string
	leaf bool // a container's or pod's cgroup, not the parent runc created on the way
}

// cgroupDirs lists the pods' cgroup parent and what is below it, in every
// mounted hierarchy (v1 controllers and the unified one), deepest first so
// that they can be removed in order. runc removes a container's own cgroup
// but not the parent it created, which a kubelet would own.
func (r *Runtime) cgroupDirs() []cgroupDir {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	var dirs []cgroupDir
	for _, h := range hierarchies {
		parent := filepath.Join(h, r.cgroupParent)
		_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, cgroupDir{path: p, leaf: p != parent})
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i].path) > len(dirs[j].path) })
	return dirs
}
