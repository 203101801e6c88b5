package policy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// copyPlans gathers, during one Mutate, the paths to copy per container,
// and then adds the init containers that copy them.
type copyPlans struct {
	image    string // the copier image a new install container runs
	tools    string // the tools volume an earlier pass added, or ""
	insertAt int    // where new init containers go: after the earlier pass's
	plans    []*copyPlan
	byKey    map[containerKey]*copyPlan
	added    map[containerKey][]int // the Mutation.Added entries each plan fills
}

func newCopyPlans(spec *corev1.PodSpec, o options) *copyPlans {
	p := &copyPlans{image: o.copierImage, byKey: map[containerKey]*copyPlan{}, added: map[containerKey][]int{}}
	if o.populated != PopulatedCopy || o.copierImage == "" {
		return p
	}
	emptyDirs := map[string]bool{}
	for _, v := range spec.Volumes {
		emptyDirs[v.Name] = v.EmptyDir != nil
	}
	ours := injectedInitContainers(spec, o.copierImages)
	for i := range spec.InitContainers {
		if !ours[i] {
			continue
		}
		p.insertAt = i + 1
		if c := &spec.InitContainers[i]; p.tools == "" && isInstall(c, o.copierImages, emptyDirs) {
			p.tools = c.VolumeMounts[0].Name
		}
	}
	return p
}

// needTools reports whether the next copy needs the tools volume added.
func (p *copyPlans) needTools() bool {
	return p.tools == "" && len(p.plans) == 0
}

// add plans copying pair for the container ctr (of key), whose emptyDir is
// the Mutation.Added entry at index added.
func (p *copyPlans) add(key containerKey, ctr *corev1.Container, pair copyPair, added int) {
	plan := p.byKey[key]
	if plan == nil {
		plan = &copyPlan{key: key, image: ctr.Image, from: sourceOf(ctr)}
		p.byKey[key] = plan
		p.plans = append(p.plans, plan)
	}
	plan.pairs = append(plan.pairs, pair)
	p.added[key] = append(p.added[key], added)
}

// inject adds the tools volume and the install container unless an earlier
// pass did, then one copy container per planned container, in the order of
// the findings, and records their names in m.
func (p *copyPlans) inject(spec *corev1.PodSpec, volumes *volumeNames, m *Mutation) {
	if len(p.plans) == 0 {
		return
	}
	names := newContainerNames(spec)
	var added []corev1.Container
	tools := p.tools
	if tools == "" {
		tools = volumes.claim(toolsVolumeName)
		spec.Volumes = append(spec.Volumes, toolsVolume(tools))
		added = append(added, installContainer(names.claim(installPrefix), p.image, tools, p.plans[0].from))
	}
	for _, plan := range p.plans {
		c := copyContainer(names.claim(copyContainerName(plan.key)), *plan, tools)
		for _, i := range p.added[plan.key] {
			m.Added[i].CopiedBy = c.Name
		}
		added = append(added, c)
	}
	for _, c := range added {
		m.InitContainers = append(m.InitContainers, c.Name)
	}
	m.InitContainersAt = p.insertAt
	spec.InitContainers = slices.Insert(spec.InitContainers, p.insertAt, added...)
}
