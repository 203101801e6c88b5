package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// printer writes the demo's report: plain text, colored on a terminal
// (unless NO_COLOR is set), wrapped to its width.
type printer struct {
	out   io.Writer
	color bool
	width int
	// shownFix: a denial's fix YAML has been printed in full once; later
	// ones are only counted.
	shownFix bool
}

func newPrinter(out io.Writer) *printer {
	p := &printer{out: out, width: 100}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.color = os.Getenv("NO_COLOR") == ""
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w >= 60 {
			p.width = min(w, 120)
		}
	}
	return p
}

const (
	bold   = "1"
	dim    = "2"
	red    = "31"
	green  = "32"
	yellow = "33"
	cyan   = "36"
)

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *printer) title(s string) {
	fmt.Fprintf(p.out, "%s\n\n", p.paint(bold, s))
}

func (p *printer) step(what, s string) {
	fmt.Fprintf(p.out, "  %-9s %s\n", what, s)
}

func (p *printer) detail(s string) {
	fmt.Fprintf(p.out, "  %-9s   %s\n", "", s)
}

func (p *printer) namespace(ns, mode, does string) {
	fmt.Fprintf(p.out, "\n%s  %s\n", p.paint(bold, "namespace "+ns), p.paint(dim, "volumeguard.io/mode="+mode+": "+does))
}

// verdict is the one-word outcome of r and its color.
func (r *result) verdict() (string, string) {
	switch {
	case r.denial != "":
		return "DENIED", red
	case len(r.added) > 0:
		return "MUTATED", cyan
	case len(r.warnings) > 0:
		return "WARNED", yellow
	}
	return "ADMITTED", green
}

func (p *printer) result(r *result) {
	word, color := r.verdict()
	what := ""
	switch {
	case r.denial != "":
		what = "the API server refused it"
	case len(r.added) > 0:
		what = fmt.Sprintf("admitted with %s added (read back from the API server)", plural(len(r.added), "emptyDir"))
	case len(r.warnings) > 0:
		what = "admitted unchanged, with " + plural(len(r.warnings), "warning")
	default:
		what = "admitted, nothing to say"
	}
	fmt.Fprintf(p.out, "  %s %-26s %s\n", p.paint(color, fmt.Sprintf("%-8s", word)), r.kind+" "+r.name, what)

	for _, a := range r.added {
		p.wrapped("      + ", "        ", fmt.Sprintf("container %q: emptyDir %s (sizeLimit %s) at %s", a.container, a.volume, a.sizeLimit, a.mountPath), cyan)
	}
	if len(r.added) == 0 {
		for _, w := range r.warnings {
			p.wrapped("      ! ", "        ", strings.TrimPrefix(w, "volumeguard: "), yellow)
		}
	}
	if r.denial != "" {
		for i, l := range p.denialLines(r.denial) {
			prefix := "      | "
			if i == 0 {
				prefix = "      x "
			}
			cont := "      | " + strings.Repeat(" ", len(l)-len(strings.TrimLeft(l, " -")))
			p.wrapped(prefix, cont, l, red)
		}
	}
}

// denialLines is the denial as printed: in full the first time it carries
// the YAML of a fix (the lines after a "fix: ...:" line, indented deeper),
// with that YAML counted instead of printed afterwards.
func (p *printer) denialLines(msg string) []string {
	var out []string
	fixIndent, left := -1, 0 // indentation of the open fix line; YAML lines left out of it
	closeFix := func() {
		if left > 0 {
			out[len(out)-1] = strings.TrimSuffix(out[len(out)-1], ":") + fmt.Sprintf(" (%d lines of YAML, left out here)", left)
		}
		fixIndent, left = -1, 0
	}
	printedYAML := false
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case fixIndent >= 0 && indent > fixIndent && !p.shownFix:
			out = append(out, l)
			printedYAML = true
		case fixIndent >= 0 && indent > fixIndent:
			left++
		default:
			closeFix()
			out = append(out, l)
			if strings.HasPrefix(strings.TrimSpace(l), "fix:") && strings.HasSuffix(l, ":") {
				fixIndent = indent
			}
		}
	}
	closeFix()
	p.shownFix = p.shownFix || printedYAML
	return out
}

// wrapped prints s after prefix, wrapped at spaces to the width, with
// cont before each continuation line; both prefixes in color.
func (p *printer) wrapped(prefix, cont, s, color string) {
	width := max(p.width-len(prefix), 40)
	first := true
	for {
		line := s
		if len(line) > width {
			cut := strings.LastIndex(line[:width], " ")
			if cut <= width/2 {
				cut = width
			}
			line, s = s[:cut], strings.TrimLeft(s[cut:], " ")
		} else {
			s = ""
		}
		lead := p.paint(color, cont)
		if first {
			lead = p.paint(color, prefix)
		}
		fmt.Fprintf(p.out, "%s%s\n", lead, line)
		first = false
		if s == "" {
			return
		}
	}
}

// summary is a table: one row per object, one column per mode.
func (p *printer) summary(results []*result) {
	type key struct{ kind, name string }
	var rows []key
	cells := map[key]map[string]*result{}
	for _, r := range results {
		k := key{r.kind, r.name}
		if cells[k] == nil {
			cells[k] = map[string]*result{}
			rows = append(rows, k)
		}
		cells[k][r.mode] = r
	}
	fmt.Fprintf(p.out, "\n%s\n", p.paint(bold, "summary"))
	header := fmt.Sprintf("  %-28s", "")
	for _, m := range modes {
		header += fmt.Sprintf("%-18s", "demo-"+m.name)
	}
	fmt.Fprintln(p.out, p.paint(dim, strings.TrimRight(header, " ")))
	for _, k := range rows {
		line := fmt.Sprintf("  %-28s", k.kind+" "+k.name)
		for i, m := range modes {
			cell, color := "-", dim
			if r := cells[k][m.name]; r != nil {
				cell = r.cell()
				_, color = r.verdict()
			}
			if i < len(modes)-1 {
				line += p.paint(color, fmt.Sprintf("%-18s", cell))
			} else {
				line += p.paint(color, cell)
			}
		}
		fmt.Fprintln(p.out, line)
	}
}

// cell is r in a few words, for the summary.
func (r *result) cell() string {
	switch {
	case r.denial != "":
		return "denied"
	case len(r.added) > 0:
		return "+" + plural(len(r.added), "emptyDir")
	case len(r.warnings) > 0:
		return plural(len(r.warnings), "warning")
	}
	return "admitted"
}

func (p *printer) done(took time.Duration) {
	fmt.Fprintf(p.out, "\nDone in %.1fs. kube-apiserver, etcd, the registry and volumeguard are stopped.\n", took.Seconds())
	fmt.Fprintln(p.out, "Next: volumeguard check in CI (README.md), or install the webhook: kubectl apply -k manifests/overlays/audit")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
