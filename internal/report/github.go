package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/volumeguard/volumeguard/policy"
)

// maxSummaryRows bounds the findings listed in the step summary: the
// summary is for people (GitHub caps it at 1 MiB), the log keeps them all.
const maxSummaryRows = 200

// githubWriter writes GitHub Actions workflow commands: an annotation
// (::error) per finding and problem, on its file, line and column, and a
// Markdown summary for $GITHUB_STEP_SUMMARY, since GitHub shows only the
// first 10 annotations of each kind per step.
type githubWriter[F Row, P ProblemRow] struct {
	w        *bufio.Writer
	opts     formatOptions
	findings int
	objects  int
	rows     []string // Markdown rows of the summary's table
	problems []P
}

// NewGitHubWriter writes the report to w as GitHub workflow commands, and
// a Markdown summary to the writer of WithStepSummary, if any.
func NewGitHubWriter[F Row, P ProblemRow](w io.Writer, opts ...FormatOption) Writer[F, P] {
	return &githubWriter[F, P]{w: bufio.NewWriter(w), opts: newFormatOptions(opts)}
}

func (g *githubWriter[F, P]) WriteObject(findings []F) error {
	if len(findings) == 0 {
		return nil
	}
	g.objects++
	for _, f := range findings {
		g.findings++
		rule, at := FindingRule(f.Shared()), f.Subject()
		g.annotation(FailsGate(f), rule, at, findingMessage(f, g.opts.sizeLimit))
		if len(g.rows) < maxSummaryRows {
			s := f.Shared()
			g.rows = append(g.rows, "| "+strings.Join([]string{
				markdownCode(g.where(at)), markdownText(objectName(at)), markdownText(s.Container), markdownCode(s.Image),
				markdownCode(policy.QuotePath(s.Path)), rule.ID,
			}, " | ")+" |")
		}
	}
	// Flushed per object, so that a CI log shows progress.
	return g.w.Flush()
}

func (g *githubWriter[F, P]) AddProblem(p P) { g.problems = append(g.problems, p) }

func (g *githubWriter[F, P]) Finish() error {
	for _, p := range g.problems {
		g.annotation(true, ProblemRule(p.Shared()), p.Subject(), problemMessage(p))
	}
	fmt.Fprintf(g.w, "%s in %s, %s\n", Plural(g.findings, "finding"), Plural(g.objects, "object"), Plural(len(g.problems), "error"))
	if err := g.w.Flush(); err != nil {
		return err
	}
	if g.opts.summary == nil {
		return nil
	}
	return g.writeSummary()
}

// annotation writes ::error (or ::warning when the row does not fail the
// gate) with the file, line and column when known.
func (g *githubWriter[F, P]) annotation(fails bool, rule Rule, at Subject, message string) {
	command := "error"
	if !fails {
		command = "warning"
	}
	var props []string
	if rel := g.opts.relative(at.File); rel != "" {
		props = append(props, "file="+escapeProperty(rel))
		if at.Line > 0 {
			props = append(props, "line="+strconv.Itoa(at.Line))
			if at.Column > 0 {
				props = append(props, "col="+strconv.Itoa(at.Column))
			}
		}
	}
	props = append(props, "title="+escapeProperty(rule.ID+" "+rule.Name))
	fmt.Fprintf(g.w, "::%s %s::%s\n", command, strings.Join(props, ","), escapeData(message))
}

func (g *githubWriter[F, P]) writeSummary() error {
	w := bufio.NewWriter(g.opts.summary)
	fmt.Fprintf(w, "## volumeguard check\n\n%s in %s, %s.\n\n", Plural(g.findings, "finding"), Plural(g.objects, "object"), Plural(len(g.problems), "error"))
	if len(g.rows) > 0 {
		w.WriteString("| Where | Object | Container | Image | VOLUME | Rule |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, r := range g.rows {
			w.WriteString(r + "\n")
		}
		if more := g.findings - len(g.rows); more > 0 {
			fmt.Fprintf(w, "\n… and %d more in the job's log.\n", more)
		}
		w.WriteString("\nFix: `volumeguard fix --write` adds the emptyDirs, or see each annotation for the YAML.\n\n")
	}
	if len(g.problems) > 0 {
		w.WriteString("### Not evaluated\n\n")
		for _, p := range g.problems {
			where := ""
			if at := g.where(p.Subject()); at != "" {
				where = markdownCode(at) + ": "
			}
			fmt.Fprintf(w, "- %s%s\n", where, markdownText(problemMessage(p)))
		}
		w.WriteString("\n")
	}
	return w.Flush()
}

// where is "file:line:column" with the file relative to the root; "" for
// stdin.
func (g *githubWriter[F, P]) where(at Subject) string {
	rel := g.opts.relative(at.File)
	if rel == "" {
		return ""
	}
	return Subject{File: rel, Line: at.Line, Column: at.Column}.Where()
}

// escapeData escapes an annotation's message as the runner reads it
// (actions/toolkit's escapeData): %, CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value: also ':' and ',', which end it.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// markdownText escapes what Markdown and a table cell read as syntax, and
// keeps the cell on one line.
func markdownText(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#&!~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markdownCode is s as inline code in a table cell; "" stays empty.
func markdownCode(s string) string {
	if s == "" {
		return ""
	}
	// A code span cannot escape a backtick: such values (from an image)
	// are written as text.
	if strings.ContainsAny(s, "`\r\n") {
		return markdownText(s)
	}
	return "`" + strings.ReplaceAll(s, "|", "\\|") + "`"
}
