package check

import (
	"bufio"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/internal/report"
)

// textWriter writes findings grouped by object and container, each group
// led by where the container's image is written and followed by the fix,
// then the problems and a summary line.
type textWriter struct {
	w         *bufio.Writer
	sizeLimit resource.Quantity
	findings  int
	objects   int
	problems  []Problem
}

// NewTextWriter writes the report to w as text for people, suggesting
// emptyDirs of sizeLimit.
func NewTextWriter(w io.Writer, sizeLimit resource.Quantity) Writer {
	return &textWriter{w: bufio.NewWriter(w), sizeLimit: sizeLimit}
}

func (t *textWriter) WriteObject(findings []Finding) error {
	if len(findings) == 0 {
		return nil
	}
	t.objects++
	t.findings += len(findings)
	for i := 0; i < len(findings); {
		// Each container's group leads with where its image is written,
		// "file:line:column: Kind namespace/name", the form editors and CI
		// logs turn into a link to the line.
		fmt.Fprintf(t.w, "%s\n", findings[i].Subject())
		c := report.Container{FixIn: "pod spec", SizeLimit: findings[i].SizeLimit(t.sizeLimit)}
		for j := i; j < len(findings) && sameContainer(findings[j], findings[i]); j++ {
			c.Findings = append(c.Findings, findings[j].Finding)
		}
		report.WriteContainer(t.w, c)
		i += len(c.Findings)
	}
	_ = t.w.WriteByte('\n')
	// Flushed per object, so that a CI log shows each as it is analysed.
	return t.w.Flush()
}

func (t *textWriter) AddProblem(p Problem) { t.problems = append(t.problems, p) }

func (t *textWriter) Finish() error {
	for _, p := range t.problems {
		fmt.Fprintf(t.w, "error: %s\n", problemLine(p))
	}
	fmt.Fprintf(t.w, "%s in %s, %s\n", report.Plural(t.findings, "finding"), report.Plural(t.objects, "object"), report.Plural(len(t.problems), "error"))
	return t.w.Flush()
}

// problemLine names where an image problem comes from
// ("file:line:column: Kind name: message"); decoding problems name their
// file and document already.
func problemLine(p Problem) string {
	if p.Container == "" || p.File == "" {
		return p.Message
	}
	return fmt.Sprintf("%s: %s %s: %s", p.Subject().Where(), p.Kind, p.Name, p.Message)
}

func sameContainer(a, b Finding) bool {
	return a.Container == b.Container && a.ContainerType == b.ContainerType
}
