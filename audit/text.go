package audit

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/internal/report"
)

// maxNodesShown keeps a text line readable for a DaemonSet on hundreds of
// nodes; the JSON report lists them all.
const maxNodesShown = 10

// textWriter writes findings grouped by workload and container (check's
// style), each with where it runs and the fix, then the problems and a
// summary line.
type textWriter struct {
	w         *bufio.Writer
	sizeLimit resource.Quantity
	findings  int
	workloads int
	nodes     map[string]bool
	problems  []Problem
}

// NewTextWriter writes the report to w as text for people, suggesting
// emptyDirs of sizeLimit.
func NewTextWriter(w io.Writer, sizeLimit resource.Quantity) Writer {
	return &textWriter{w: bufio.NewWriter(w), sizeLimit: sizeLimit, nodes: map[string]bool{}}
}

// WriteObject writes the findings of one workload.
func (t *textWriter) WriteObject(findings []Finding) error {
	if len(findings) == 0 {
		return nil
	}
	t.workloads++
	t.findings += len(findings)
	fmt.Fprintf(t.w, "%s\n", findings[0].Subject())
	fixIn := "pod template"
	if findings[0].Kind == "Pod" {
		fixIn = "pod spec"
	}
	for i := 0; i < len(findings); {
		j := i
		for j < len(findings) && sameContainer(findings[j], findings[i]) {
			j++
		}
		report.WriteContainer(t.w, t.container(findings[i:j], fixIn))
		for _, f := range findings[i:j] {
			for _, n := range f.Nodes {
				t.nodes[n] = true
			}
		}
		i = j
	}
	_ = t.w.WriteByte('\n')
	return t.w.Flush()
}

// container says where the container's paths are: once when all of them
// are on the same pods, else path by path.
func (t *textWriter) container(fs []Finding, fixIn string) report.Container {
	c := report.Container{FixIn: fixIn, SizeLimit: t.sizeLimit}
	uniform := !slices.ContainsFunc(fs, func(f Finding) bool {
		return f.Pods != fs[0].Pods || !slices.Equal(f.Nodes, fs[0].Nodes)
	})
	if uniform {
		c.Where = runsOn(fs[0])
	}
	for _, f := range fs {
		c.Findings = append(c.Findings, f.Finding)
		if !uniform {
			c.PathWhere = append(c.PathWhere, runsOn(f))
		}
	}
	return c
}

func (t *textWriter) AddProblem(p Problem) { t.problems = append(t.problems, p) }

func (t *textWriter) Finish() error {
	for _, p := range t.problems {
		if p.Name != "" {
			fmt.Fprintf(t.w, "error: %s %s/%s: %s\n", p.Kind, p.Namespace, p.Name, p.Message)
		} else {
			fmt.Fprintf(t.w, "error: %s\n", p.Message)
		}
	}
	fmt.Fprintf(t.w, "%s in %s on %s, %s\n", report.Plural(t.findings, "finding"), report.Plural(t.workloads, "workload"),
		report.Plural(len(t.nodes), "node"), report.Plural(len(t.problems), "error"))
	return t.w.Flush()
}

// runsOn says how many pods have the volume, on which nodes.
func runsOn(f Finding) string {
	s := report.Plural(f.Pods, "pod")
	switch n := len(f.Nodes); {
	case n == 0:
		return s + ", not scheduled yet"
	case n > maxNodesShown:
		return fmt.Sprintf("%s on %s and %d more nodes", s, strings.Join(f.Nodes[:maxNodesShown], ", "), n-maxNodesShown)
	}
	return s + " on " + strings.Join(f.Nodes, ", ")
}

func sameContainer(a, b Finding) bool {
	return a.Container == b.Container && a.ContainerType == b.ContainerType && a.Image == b.Image && a.Digest == b.Digest
}
