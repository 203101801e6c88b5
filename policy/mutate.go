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
	// CopiedBy names the init container that copies what the image ships
	// at the path into the emptyDir before the container starts
	// (PopulatedCopy); "" for a plain emptyDir, which starts empty.
	CopiedBy string
}

// Skipped is a finding the options leave to the runtime: a populated path
// under PopulatedSkip, or one of unknown content under UnknownSkip. Reason
// says what the image ships there and why no emptyDir was added.
type Skipped struct {
	Finding Finding
	Reason  string
}

// Denied is a populated path under PopulatedDeny: the pod must be refused.
// Reason names the path, what the image ships there, and the fixes.
type Denied struct {
	Finding Finding
	Reason  string
}

// Mutation is what Mutate did to a pod spec.
type Mutation struct {
	Added     []Added
	Skipped   []Skipped
	Denied    []Denied
	Unfixable []Unfixable
	// InitContainers names the init containers added (PopulatedCopy), in
	// their order. They are placed first in spec.InitContainers, after any
	// that an earlier pass added, so that they run before every container
	// they copy for, init containers included: at index InitContainersAt
	// (0 unless an earlier pass added some), consecutively. A JSON patch
	// inserts them there ("add" at /spec/initContainers/<i>), after the
	// mount appends of the init containers that were already there.
	InitContainers   []string
	InitContainersAt int
}

// Mutate covers every finding with its own emptyDir volume, bounded by
// sizeLimit, and a volumeMount in the finding's container, so the kubelet
// accounts for and limits what the container writes there.
//
// What the image ships at the path (Finding.Content) decides how, per opts:
//   - nil (not scanned), empty or absent: a plain emptyDir, as always;
//   - populated: WithPopulated: skip (default, a Skipped entry), copy (an
//     emptyDir and the init containers that fill it with the image's content
//     first, as the runtime's copy-up would) or deny (a Denied entry);
//   - unknown: WithUnknown: skip (default, a Skipped entry) or mutate (a
//     plain emptyDir);
//   - a non-directory: Unfixable, as no runtime can start the container.
//
// Denied findings leave the pod's other paths mutated: the caller denies
// the whole pod. Mutate is idempotent: a finding whose path is already
// mounted in its container is left alone, so applying the same findings
// twice changes the spec once, and Findings with the same opts does not
// report the init containers Mutate added. It runs in time linear in the
// findings and the spec, and adds at most MaxAddedVolumes emptyDirs.
func Mutate(spec *corev1.PodSpec, findings []Finding, sizeLimit resource.Quantity, opts ...Option) Mutation {
	var m Mutation
	if len(findings) == 0 {
		return m
	}
	o := makeOptions(opts)
	unfixable := func(f Finding, reason string) {
		m.Unfixable = append(m.Unfixable, Unfixable{Finding: f, Reason: reason})
	}
	names := newVolumeNames(spec.Volumes)
	containers := newContainerIndex(spec)
	budget := MaxAddedVolumes - addedBefore(spec.Volumes)
	overBudget := "volumeguard adds at most " + strconv.Itoa(MaxAddedVolumes) + " emptyDirs to a pod, and this pod needs more; mount a volume at this path yourself, or use an image with fewer VOLUMEs"
	copies := newCopyPlans(spec, o)
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
		}
		act, reason := o.decide(f)
		switch act {
		case actSkip:
			m.Skipped = append(m.Skipped, Skipped{Finding: f, Reason: reason})
			continue
		case actDeny:
			m.Denied = append(m.Denied, Denied{Finding: f, Reason: reason})
			continue
		}
		need := 1
		if act == actCopy && copies.needTools() {
			need = 2 // the tools volume too
		}
		if budget < need {
			unfixable(f, overBudget)
			continue
		}
		budget -= need
		name := names.claim(VolumeName(f.ContainerType, f.Container, mountPath))
		limit := sizeLimit.DeepCopy()
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}},
		})
		*c.mounts = append(*c.mounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
		c.mounted[mountPath] = true
		if act == actCopy {
			copies.add(containerKey{f.ContainerType, f.Container}, c.ctr, copyPair{src: mountPath, volume: name}, len(m.Added))
		}
		m.Added = append(m.Added, Added{Finding: f, VolumeName: name, MountPath: mountPath})
	}
	copies.inject(spec, names, &m)
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
	ctr     *corev1.Container
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
	c := &indexedContainer{ctr: ctr, mounts: &ctr.VolumeMounts, mounted: make(map[string]bool, len(ctr.VolumeMounts)), devices: map[string]bool{}}
	for _, vm := range ctr.VolumeMounts {
		c.mounted[MountTarget(vm.MountPath)] = true
	}
	for _, d := range ctr.VolumeDevices {
		c.devices[MountTarget(d.DevicePath)] = true
	}
	x.indexed[k] = c
	return c
}
