package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Unfixable says why a finding cannot be covered by mutation.
type Unfixable struct {
	Finding Finding
	Reason  string
}

// Added is one emptyDir volume the mutation added and where it is mounted.
type Added struct {
	Finding    Finding
	VolumeName string
	MountPath  string
}

// Mutation is what Mutate did to a pod spec.
type Mutation struct {
	Added     []Added
	Unfixable []Unfixable
}

// Mutate covers every finding with its own emptyDir volume, bounded by
// sizeLimit, and a volumeMount in the finding's container, so the kubelet
// accounts for and limits what the container writes there. It is idempotent:
// a finding whose path is already mounted in its container is left alone, so
// applying the same findings twice changes the spec once.
func Mutate(spec *corev1.PodSpec, findings []Finding, sizeLimit resource.Quantity) Mutation {
	var m Mutation
	taken := map[string]bool{}
	for _, v := range spec.Volumes {
		taken[v.Name] = true
	}
	for _, f := range findings {
		if reason := unfixableReason(f); reason != "" {
			m.Unfixable = append(m.Unfixable, Unfixable{Finding: f, Reason: reason})
			continue
		}
		mounts := containerMounts(spec, f.ContainerType, f.Container)
		if mounts == nil {
			m.Unfixable = append(m.Unfixable, Unfixable{Finding: f, Reason: "the pod has no such container"})
			continue
		}
		mountPath := path.Clean(f.Path)
		if covered(*mounts, mountPath) {
			continue
		}
		name := uniqueName(VolumeName(f.ContainerType, f.Container, mountPath), taken)
		taken[name] = true
		limit := sizeLimit.DeepCopy()
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}},
		})
		*mounts = append(*mounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
		m.Added = append(m.Added, Added{Finding: f, VolumeName: name, MountPath: mountPath})
	}
	return m
}

func unfixableReason(f Finding) string {
	switch {
	case f.Relative:
		return "the image declares a relative VOLUME, which runtimes compare before making it absolute, so no mount can cover it; rebuild the image with an absolute VOLUME path"
	case f.ContainerType == EphemeralContainer:
		return "ephemeral containers are added to running pods, whose volumes cannot change; mount an existing pod volume at this path or use an image without the VOLUME"
	}
	return ""
}

// containerMounts returns a pointer to the mounts of the named container so
// the caller can append to them, or nil when there is no such container.
func containerMounts(spec *corev1.PodSpec, t ContainerType, name string) *[]corev1.VolumeMount {
	var list []corev1.Container
	switch t {
	case Container:
		list = spec.Containers
	case InitContainer:
		list = spec.InitContainers
	default:
		return nil
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i].VolumeMounts
		}
	}
	return nil
}

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

// uniqueName appends -2, -3, ... when a pod already uses the name for a
// volume of its own; the result depends only on the spec, so it is stable.
func uniqueName(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf("-%d", i)
		candidate := name[:min(len(name), maxVolumeName-len(suffix))] + suffix
		if !taken[candidate] {
			return candidate
		}
	}
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
