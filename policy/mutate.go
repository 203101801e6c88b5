package policy

import (
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// MaxAddedVolumes bounds the emptyDirs volumeguard adds to one pod spec.
// Real images declare a handful of VOLUMEs (zookeeper three), so even ten
// containers with a dozen each stay far below it; a hostile image declaring
// thousands would otherwise grow the pod, the JSON patch (about 250 bytes a
// volume and mount) and the kubelet's mounts without end. At 128 the patch
// stays near 32 KiB, far inside the API server's 3 MiB request limit, and
// the work of one admission is bounded whatever the image cap upstream is.
// Findings past the bound are Unfixable, with a reason that says so.
const MaxAddedVolumes = 128

// addedPrefix starts every name VolumeName makes. emptyDirs named so count
// against MaxAddedVolumes, so that a second pass (reinvocation) does not add
// another 128 and stays a no-op.
const addedPrefix = "vg-"

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
// applying the same findings twice changes the spec once. It runs in time
// linear in the findings and the spec, and adds at most MaxAddedVolumes.
func Mutate(spec *corev1.PodSpec, findings []Finding, sizeLimit resource.Quantity) Mutation {
	var m Mutation
	if len(findings) == 0 {
		return m
	}
	unfixable := func(f Finding, reason string) {
		m.Unfixable = append(m.Unfixable, Unfixable{Finding: f, Reason: reason})
	}
	names := newVolumeNames(spec.Volumes)
	containers := newContainerIndex(spec)
	budget := MaxAddedVolumes - addedBefore(spec.Volumes)
	overBudget := "volumeguard adds at most " + strconv.Itoa(MaxAddedVolumes) + " emptyDirs to a pod, and this pod needs more; mount a volume at this path yourself, or use an image with fewer VOLUMEs"
	for _, f := range findings {
		if reason := f.unfixableReason(); reason != "" {
			unfixable(f, reason)
			continue
		}
		c := containers.get(f.ContainerType, f.Container)
		if c == nil {
			unfixable(f, "the pod has no such container")
			continue
		}
		mountPath := path.Clean(f.Path)
		switch {
		case c.mounted[mountPath]:
			continue
		case c.devices[mountPath]:
			// The API server refuses a volumeMount at a volumeDevice's path.
			unfixable(f, "a volumeDevice of this container uses this path, and the API server refuses a volumeMount there; use an image without this VOLUME")
			continue
		case budget <= 0:
			unfixable(f, overBudget)
			continue
		}
		budget--
		name := names.claim(VolumeName(f.ContainerType, f.Container, mountPath))
		limit := sizeLimit.DeepCopy()
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}},
		})
		*c.mounts = append(*c.mounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
		c.mounted[mountPath] = true
		m.Added = append(m.Added, Added{Finding: f, VolumeName: name, MountPath: mountPath})
	}
	return m
}

// addedBefore counts the emptyDirs an earlier pass of Mutate added.
func addedBefore(volumes []corev1.Volume) int {
	n := 0
	for _, v := range volumes {
		if v.EmptyDir != nil && strings.HasPrefix(v.Name, addedPrefix) {
			n++
		}
	}
	return n
}

type containerKey struct {
	t    ContainerType
	name string
}

// indexedContainer is one container's mounts, to append to, with the
// cleaned paths of its mounts and devices, to look up in constant time.
type indexedContainer struct {
	mounts  *[]corev1.VolumeMount
	mounted map[string]bool
	devices map[string]bool
}

// containerIndex finds the containers Mutate may change by type and name,
// and indexes each one's paths the first time a finding names it, so that
// containers without findings cost nothing.
type containerIndex struct {
	containers map[containerKey]*corev1.Container
	indexed    map[containerKey]*indexedContainer
}

func newContainerIndex(spec *corev1.PodSpec) *containerIndex {
	x := &containerIndex{containers: map[containerKey]*corev1.Container{}, indexed: map[containerKey]*indexedContainer{}}
	x.add(InitContainer, spec.InitContainers)
	x.add(Container, spec.Containers)
	return x
}

func (x *containerIndex) add(t ContainerType, list []corev1.Container) {
	for i := range list {
		k := containerKey{t, list[i].Name}
		// The first of duplicate names wins, as it always did; the API
		// server refuses such a pod anyway.
		if _, dup := x.containers[k]; !dup {
			x.containers[k] = &list[i]
		}
	}
}

// get returns the named container, or nil when there is none (ephemeral
// containers are never here: their pod's volumes cannot change).
func (x *containerIndex) get(t ContainerType, name string) *indexedContainer {
	k := containerKey{t, name}
	if c, ok := x.indexed[k]; ok {
		return c
	}
	ctr := x.containers[k]
	if ctr == nil {
		return nil
	}
	c := &indexedContainer{mounts: &ctr.VolumeMounts, mounted: make(map[string]bool, len(ctr.VolumeMounts)), devices: map[string]bool{}}
	for _, vm := range ctr.VolumeMounts {
		c.mounted[MountTarget(vm.MountPath)] = true
	}
	for _, d := range ctr.VolumeDevices {
		c.devices[MountTarget(d.DevicePath)] = true
	}
	x.indexed[k] = c
	return c
}
