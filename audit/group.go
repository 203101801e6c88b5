package audit

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/analysis"
)

// group is the pods of one workload that share an analysed spec: they have
// the same findings, so the spec is analysed once for all of them.
type group struct {
	workload Workload
	spec     *corev1.PodSpec
	sig      string
	images   map[containerKey]string // as the spec writes them
	pods     int
	nodes    map[string]bool

	// result says, in CredentialsErr, why the pods' pull secrets could not
	// be read; the images were then read with the analyzer's own
	// credentials.
	result analysis.Result
}

type groupKey struct {
	workload Workload
	sig      string
}

// grouping sorts pods into groups as they are listed.
type grouping struct {
	owners *owners
	groups map[groupKey]*group
}

func newGrouping(o *owners) *grouping {
	return &grouping{owners: o, groups: map[groupKey]*group{}}
}

// add counts pod in its group. Pods that finished are skipped: their
// containers are gone, and the listing should not have returned them.
func (g *grouping) add(ctx context.Context, pod *corev1.Pod) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	w := g.owners.workloadOf(ctx, pod)
	spec, images := analysedSpec(pod)
	key := groupKey{workload: w, sig: signature(spec)}
	gr := g.groups[key]
	if gr == nil {
		gr = &group{workload: w, spec: spec, sig: key.sig, images: images, nodes: map[string]bool{}}
		g.groups[key] = gr
	}
	gr.pods++
	if pod.Spec.NodeName != "" {
		gr.nodes[pod.Spec.NodeName] = true
	}
}

// sorted returns the groups by workload, then spec: a deterministic order
// for the analysis and its report.
func (g *grouping) sorted() []*group {
	out := make([]*group, 0, len(g.groups))
	for _, gr := range g.groups {
		out = append(out, gr)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.workload != b.workload {
			return lessWorkload(a.workload, b.workload)
		}
		return a.sig < b.sig
	})
	return out
}

func lessWorkload(a, b Workload) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}
