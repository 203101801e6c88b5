package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
)

// analyse analyses the groups' specs, opts.Concurrency at a time; once ctx
// is done, the groups not started are errors, never clean.
func analyse(ctx context.Context, analyzer *analysis.Analyzer, groups []*group, opts Options) {
	started := analysis.ForEach(ctx, len(groups), opts.Concurrency, opts.Progress, func(i int) {
		g := groups[i]
		g.result = analyzer.AnalyzePod(ctx, g.workload.Namespace, g.spec, opts.Keychains,
			analysis.WithPolicy(opts.Settings.PolicyOptions(g.spec)...))
	})
	for _, g := range groups[started:] {
		g.result = analysis.Skipped(g.spec, context.Cause(ctx))
	}
}

type findingKey struct {
	workload                     Workload
	typ                          policy.ContainerType
	container, image, digest, at string
}

// findings merges the findings of every group of a workload: pods count
// and nodes join for the same container, image, digest and path.
func findings(groups []*group) []Finding {
	merged := map[findingKey]*Finding{}
	nodes := map[findingKey]map[string]bool{}
	for _, g := range groups {
		for _, f := range g.result.Findings {
			f.Image = g.images[containerKey{f.ContainerType, f.Container}]
			key := findingKey{g.workload, f.ContainerType, f.Container, f.Image, f.Digest, f.Path}
			m := merged[key]
			if m == nil {
				m = newFinding(g.workload, f)
				merged[key] = m
				nodes[key] = map[string]bool{}
			}
			m.Pods += g.pods
			for n := range g.nodes {
				nodes[key][n] = true
			}
		}
	}
	out := make([]Finding, 0, len(merged))
	for key, f := range merged {
		for n := range nodes[key] {
			f.Nodes = append(f.Nodes, n)
		}
		sort.Strings(f.Nodes)
		out = append(out, *f)
	}
	slices.SortFunc(out, compareFindings)
	return out
}

func newFinding(w Workload, f policy.Finding) *Finding {
	return &Finding{Workload: w, Finding: report.NewFinding(f), Nodes: []string{}, finding: f}
}

// compareFindings orders by workload, then container as a pod spec lists
// them (init containers first), then image, digest and path.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(typeRank(a.ContainerType), typeRank(b.ContainerType)),
		cmp.Compare(a.Container, b.Container),
		cmp.Compare(a.Image, b.Image),
		cmp.Compare(a.Digest, b.Digest),
		cmp.Compare(a.Path, b.Path),
	)
}

func typeRank(t string) int {
	switch policy.ContainerType(t) {
	case policy.InitContainer:
		return 0
	case policy.Container:
		return 1
	}
	return 2
}

// imageProblems lists the images that could not be read, once per
// workload, container, image and reason.
func imageProblems(groups []*group) []Problem {
	seen := map[Problem]bool{}
	out := []Problem{}
	for _, g := range groups {
		for _, e := range g.result.Errors {
			msg := e.Error()
			if g.result.CredentialsErr != nil {
				msg += fmt.Sprintf(" (read without the pod's pull secrets: %v)", g.result.CredentialsErr)
			}
			out = appendOnce(out, seen, Problem{Namespace: g.workload.Namespace, Problem: report.Problem{
				Kind: g.workload.Kind, Name: g.workload.Name,
				Container: e.Container, Image: g.images[containerKey{e.ContainerType, e.Container}],
				Message: msg,
			}})
		}
	}
	return out
}

// ignoredCount counts the findings the settings file's exceptions dropped,
// merged per workload as findings are: a workload's two revisions that
// ignore the same path count once.
func ignoredCount(groups []*group) int {
	seen := map[findingKey]bool{}
	for _, g := range groups {
		for _, f := range g.result.Ignored {
			image := g.images[containerKey{f.ContainerType, f.Container}]
			seen[findingKey{g.workload, f.ContainerType, f.Container, image, f.Digest, f.Path}] = true
		}
	}
	return len(seen)
}

// credentialNotes says whose pull secrets could not be read, once per
// reason: the images may all have been read anyway.
func credentialNotes(groups []*group) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		if g.result.CredentialsErr == nil {
			continue
		}
		note := fmt.Sprintf("pull secrets not read, images read with volumeguard's own credentials: %v", g.result.CredentialsErr)
		if !seen[note] {
			seen[note] = true
			out = append(out, note)
		}
	}
	return out
}

func appendOnce(out []Problem, seen map[Problem]bool, p Problem) []Problem {
	if seen[p] {
		return out
	}
	seen[p] = true
	return append(out, p)
}
