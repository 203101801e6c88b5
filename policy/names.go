package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxVolumeName is the DNS-1123 label limit that pod volume names obey.
const maxVolumeName = 63

// VolumeName is the deterministic name of the emptyDir covering path in a
// container: readable ("vg-zk-data-"), then a hash of container type, name
// and path so that two findings never share a name.
func VolumeName(t ContainerType, container, mountPath string) string {
	sum := sha256.Sum256([]byte(string(t) + "\x00" + container + "\x00" + mountPath))
	hash := hex.EncodeToString(sum[:])[:8]
	readable := "vg-" + slug(container) + "-" + slug(mountPath)
	if max := maxVolumeName - len(hash) - 1; len(readable) > max {
		readable = readable[:max]
	}
	return strings.TrimRight(readable, "-") + "-" + hash
}

// volumeNames hands out the volume names of one mutation: the taken names
// as a set, and for each base name the next suffix to try, so that a pod
// holding name-2 ... name-k costs those k lookups once, not once per
// finding.
type volumeNames struct {
	taken map[string]bool
	next  map[string]int
}

func newVolumeNames(volumes []corev1.Volume) *volumeNames {
	n := &volumeNames{taken: make(map[string]bool, len(volumes)), next: map[string]int{}}
	for _, v := range volumes {
		n.taken[v.Name] = true
	}
	return n
}

// newContainerNames holds the names of every container of the pod: init,
// regular and ephemeral containers share one namespace.
func newContainerNames(spec *corev1.PodSpec) *volumeNames {
	n := &volumeNames{taken: map[string]bool{}, next: map[string]int{}}
	for _, c := range spec.InitContainers {
		n.taken[c.Name] = true
	}
	for _, c := range spec.Containers {
		n.taken[c.Name] = true
	}
	for _, c := range spec.EphemeralContainers {
		n.taken[c.Name] = true
	}
	return n
}

// claim returns base, or base with -2, -3, ... when the pod already uses
// it; the result depends only on the spec and the findings, so it is stable.
func (n *volumeNames) claim(base string) string {
	name := base
	if n.taken[name] {
		i := max(n.next[base], 2)
		for ; ; i++ {
			suffix := "-" + strconv.Itoa(i)
			name = base[:min(len(base), maxVolumeName-len(suffix))] + suffix
			if !n.taken[name] {
				break
			}
		}
		n.next[base] = i + 1
	}
	n.taken[name] = true
	return name
}

// slug keeps lower-case letters and digits and turns every other run of
// characters into a single dash.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
