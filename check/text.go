package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// WriteJSON writes the report as the one JSON object of the contract.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes findings grouped by object and container, each with the
// fix, then the errors and a summary line.
func WriteText(w io.Writer, r *Report, sizeLimit resource.Quantity) error {
	var b strings.Builder
	objects := 0
	for i := 0; i < len(r.Findings); {
		obj := r.Findings[i]
		objects++
		fmt.Fprintf(&b, "%s: %s %s\n", obj.File, obj.Kind, qualifiedName(obj.Namespace, obj.Name))
		for i < len(r.Findings) && sameObject(r.Findings[i], obj) {
			j := i
			for j < len(r.Findings) && sameObject(r.Findings[j], obj) && sameContainer(r.Findings[j], r.Findings[i]) {
				j++
			}
			writeContainer(&b, r.Findings[i:j], sizeLimit)
			i = j
		}
		b.WriteString("\n")
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", errorLine(e))
	}
	fmt.Fprintf(&b, "%s in %s, %s\n", plural(len(r.Findings), "finding"), plural(objects, "object"), plural(len(r.Errors), "error"))
	_, err := io.WriteString(w, b.String())
	return err
}

func writeContainer(b *strings.Builder, fs []Finding, sizeLimit resource.Quantity) {
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

func sameObject(a, b Finding) bool {
	return a.File == b.File && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
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
