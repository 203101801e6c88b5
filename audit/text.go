package audit

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/policy"
)

// maxNodesShown keeps a text line readable for a DaemonSet on hundreds of
// nodes; the JSON report lists them all.
const maxNodesShown = 10

// WriteText writes findings grouped by workload and container (check's
// style), each with where it runs and the fix, then the errors and a
// summary line.
func WriteText(w io.Writer, r *Report, sizeLimit resource.Quantity) error {
	var b strings.Builder
	workloads := 0
	allNodes := map[string]bool{}
	for i := 0; i < len(r.Findings); {
		first := r.Findings[i]
		workloads++
		fmt.Fprintf(&b, "%s %s/%s\n", first.Kind, first.Namespace, first.Name)
		for i < len(r.Findings) && sameWorkload(r.Findings[i], first) {
			j := i
			for j < len(r.Findings) && sameWorkload(r.Findings[j], first) && sameContainer(r.Findings[j], r.Findings[i]) {
				j++
			}
			writeContainer(&b, r.Findings[i:j], sizeLimit)
			for _, f := range r.Findings[i:j] {
				for _, n := range f.Nodes {
					allNodes[n] = true
				}
			}
			i = j
		}
		b.WriteString("\n")
	}
	for _, e := range r.Errors {
		if e.Name != "" {
			fmt.Fprintf(&b, "error: %s %s/%s: %s\n", e.Kind, e.Namespace, e.Name, e.Message)
		} else {
			fmt.Fprintf(&b, "error: %s\n", e.Message)
		}
	}
	fmt.Fprintf(&b, "%s in %s on %s, %s\n", plural(len(r.Findings), "finding"), plural(workloads, "workload"),
		plural(len(allNodes), "node"), plural(len(r.Errors), "error"))
	_, err := io.WriteString(w, b.String())
	return err
}

func writeContainer(b *strings.Builder, fs []Finding, sizeLimit resource.Quantity) {
	first := fs[0]
	digest := ""
	if first.Digest != "" {
		digest = " @ " + first.Digest
	}
	// Where all paths of the container are on the same pods, say it once.
	uniform := !slices.ContainsFunc(fs, func(f Finding) bool {
		return f.Pods != first.Pods || !slices.Equal(f.Nodes, first.Nodes)
	})
	where := ""
	if uniform {
		where = ": " + runsOn(first)
	}
	fmt.Fprintf(b, "  %s %q, image %s%s%s\n", first.ContainerType, first.Container, first.Image, digest, where)
	var fixable []policy.Finding
	for _, f := range fs {
		line := "    VOLUME " + policy.QuotePath(f.Path) + ": " + check.UncoveredReason(f.Relative, f.Platforms)
		if !uniform {
			line += " (" + runsOn(f) + ")"
		}
		b.WriteString(line + "\n")
		if !f.finding.Fixable() {
			fmt.Fprintf(b, "      fix: %s\n", f.finding.Fix(sizeLimit))
			continue
		}
		fixable = append(fixable, f.finding)
	}
	if len(fixable) > 0 {
		where := "pod template"
		if first.Kind == "Pod" {
			where = "pod spec"
		}
		fmt.Fprintf(b, "    fix: cover each path with an emptyDir that has a sizeLimit, in the %s:\n", where)
		b.WriteString(policy.Indent(policy.FixYAML(fixable, sizeLimit), "      "))
	}
}

// runsOn says how many pods have the volume, on which nodes.
func runsOn(f Finding) string {
	s := plural(f.Pods, "pod")
	switch n := len(f.Nodes); {
	case n == 0:
		return s + ", not scheduled yet"
	case n > maxNodesShown:
		return fmt.Sprintf("%s on %s and %d more nodes", s, strings.Join(f.Nodes[:maxNodesShown], ", "), n-maxNodesShown)
	}
	return s + " on " + strings.Join(f.Nodes, ", ")
}

func sameWorkload(a, b Finding) bool {
	return a.Namespace == b.Namespace && a.Kind == b.Kind && a.Name == b.Name
}

func sameContainer(a, b Finding) bool {
	return a.Container == b.Container && a.ContainerType == b.ContainerType && a.Image == b.Image && a.Digest == b.Digest
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
