package manifestfix

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/workload"
)

// WriteReport writes for people what fixing did and left: the emptyDirs
// added, the fixes to make by hand with their YAML, the findings no mount
// can cover, the errors and a summary line, which also counts the paths
// left for what the image ships there (the notes say why). Lines start
// with file:line:col where the position is known.
func WriteReport(w io.Writer, r Result) error {
	bw := bufio.NewWriter(w)
	var added, suggested, left, unfixable int
	for _, f := range r.Files {
		left += len(f.Left) // each said in a note, with why
		for _, a := range f.Added {
			added++
			fmt.Fprintf(bw, "%s: %s: added emptyDir %s (sizeLimit %s) at %s for %s %q, whose image %s declares VOLUME %s\n",
				where(a.Object.File, a.At), describe(a.Object), a.Added.VolumeName, a.SizeLimit.String(),
				policy.QuotePath(a.Added.MountPath), a.Added.Finding.ContainerType, a.Added.Finding.Container,
				policy.QuotePath(a.Added.Finding.Image), policy.QuotePath(a.Added.Finding.Path))
		}
		for _, s := range f.Suggestions {
			suggested++
			fmt.Fprintf(bw, "%s: %s: not edited: %s; add this to its pod spec:\n%s",
				where(s.Object.File, s.At), describe(s.Object), s.Reason, indent(s.YAML, "    "))
		}
		for _, u := range f.Unfixable {
			unfixable++
			fd := u.Unfixable.Finding
			fmt.Fprintf(bw, "%s: %s: %s %q (image %s) declares VOLUME %s, which fix cannot cover: %s\n",
				where(u.Object.File, u.At), describe(u.Object), fd.ContainerType, fd.Container,
				policy.QuotePath(fd.Image), policy.QuotePath(fd.Path), u.Unfixable.Reason)
		}
	}
	for _, e := range r.Errors {
		if e.Object != "" {
			fmt.Fprintf(bw, "error: %s: %s: %s\n", where(e.File, e.At), e.Object, e.Message)
		} else {
			fmt.Fprintf(bw, "error: %s\n", e.Message)
		}
	}
	changed := 0
	for _, f := range r.Files {
		if f.Changed() {
			changed++
		}
	}
	// Paths left are counted only when there are any: fix exits 1 for
	// them, as for fixes to make by hand.
	leftWords := ""
	switch {
	case left == 1:
		leftWords = ", 1 path left as it is"
	case left > 1:
		leftWords = fmt.Sprintf(", %d paths left as they are", left)
	}
	fmt.Fprintf(bw, "%s added in %s; %s to make by hand%s, %s no mount can cover, %s\n",
		plural(added, "emptyDir"), plural(changed, "file"), plural(suggested, "fix", "fixes"), leftWords,
		plural(unfixable, "finding"), plural(len(r.Errors), "error"))
	return bw.Flush()
}

// where is "file:line:column", or the file alone when the position is
// unknown; "<stdin>" for stdin.
func where(file string, at workload.Position) string {
	if file == "-" {
		file = "<stdin>"
	}
	if !at.IsValid() {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, at.Line, at.Column)
}

// describe is "Deployment default/zk", with the Helm template when known.
func describe(o Object) string {
	name := o.Name
	if o.Namespace != "" {
		name = path.Join(o.Namespace, name)
	}
	s := strings.TrimSpace(o.Kind + " " + name)
	if o.Template != "" {
		s += " (from " + o.Template + ")"
	}
	return s
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

func plural(n int, word string, pluralForm ...string) string {
	if n == 1 {
		return "1 " + word
	}
	if len(pluralForm) > 0 {
		return fmt.Sprintf("%d %s", n, pluralForm[0])
	}
	return fmt.Sprintf("%d %ss", n, word)
}
