package check

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// textWriter writes findings grouped by object and container, each with
// the fix, then the errors and a summary line.
type textWriter struct {
	w         *bufio.Writer
	sizeLimit resource.Quantity
	findings  int
	objects   int
	errors    []Error
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
	obj := findings[0]
	fmt.Fprintf(t.w, "%s: %s %s\n", obj.File, obj.Kind, qualifiedName(obj.Namespace, obj.Name))
	for i := 0; i < len(findings); {
		j := i
		for j < len(findings) && sameContainer(findings[j], findings[i]) {
			j++
		}
		writeContainer(t.w, findings[i:j], t.sizeLimit)
		i = j
	}
	_ = t.w.WriteByte('\n')
	// Flushed per object, so that a CI log shows each as it is analysed.
	return t.w.Flush()
}

func (t *textWriter) AddError(e Error) { t.errors = append(t.errors, e) }

func (t *textWriter) Finish() error {
	for _, e := range t.errors {
		fmt.Fprintf(t.w, "error: %s\n", errorLine(e))
	}
	fmt.Fprintf(t.w, "%s in %s, %s\n", plural(t.findings, "finding"), plural(t.objects, "object"), plural(len(t.errors), "error"))
	return t.w.Flush()
}

func writeContainer(b *bufio.Writer, fs []Finding, sizeLimit resource.Quantity) {
	first := fs[0]
	digest := ""
	if first.Digest != "" {
		digest = " @ " + first.Digest
	}
	fmt.Fprintf(b, "  %s %q, image %s%s\n", first.ContainerType, first.Container, first.Image, digest)
	var fixable []policy.Finding
	for _, f := range fs {
		fmt.Fprintf(b, "    VOLUME %s: %s\n", policy.QuotePath(f.Path), UncoveredReason(f.Relative, f.Platforms))
		if !f.finding.Fixable() {
			fmt.Fprintf(b, "      fix: %s\n", f.finding.Fix(sizeLimit))
			continue
		}
		fixable = append(fixable, f.finding)
	}
	if len(fixable) > 0 {
		b.WriteString("    fix: cover each path with an emptyDir that has a sizeLimit, in the pod spec:\n")
		b.WriteString(policy.Indent(policy.FixYAML(fixable, sizeLimit), "      "))
	}
}

// errorLine names where an image error comes from; decoding errors name
// their file and document already.
func errorLine(e Error) string {
	if e.Container == "" || e.File == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s %s: %s", e.File, e.Kind, e.Name, e.Message)
}

// UncoveredReason says why a declared path is a finding, for text reports.
func UncoveredReason(relative bool, platforms []string) string {
	var s string
	if relative {
		s = "a relative path, no volumeMount can cover it"
	} else {
		s = "no volumeMount of this container covers it"
	}
	if len(platforms) > 0 {
		quoted := make([]string, len(platforms))
		for i, p := range platforms {
			quoted[i] = policy.QuotePath(p) // they come from the image
		}
		s += " (declared on " + strings.Join(quoted, ", ") + ")"
	}
	return s
}

func sameContainer(a, b Finding) bool {
	return a.Container == b.Container && a.ContainerType == b.ContainerType
}

func qualifiedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
