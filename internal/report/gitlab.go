package report

import (
	"bufio"
	"encoding/json"
	"io"
)

// gitlabIssue is one element of a GitLab Code Quality report (a subset of
// the Code Climate issue format that GitLab reads).
type gitlabIssue struct {
	Description string         `json:"description"`
	CheckName   string         `json:"check_name"`
	Fingerprint string         `json:"fingerprint"`
	Severity    string         `json:"severity"`
	Location    gitlabLocation `json:"location"`
}

type gitlabLocation struct {
	Path  string      `json:"path"`
	Lines gitlabLines `json:"lines"`
}

type gitlabLines struct {
	Begin int `json:"begin"`
}

// gitlabWriter writes a GitLab Code Quality report: a JSON array with an
// issue per finding and problem, one issue at a time.
type gitlabWriter[F Row, P ProblemRow] struct {
	w        *bufio.Writer
	opts     formatOptions
	written  int
	problems []P
}

// NewGitLabWriter writes the report to w as a GitLab Code Quality report
// (artifacts:reports:codequality).
func NewGitLabWriter[F Row, P ProblemRow](w io.Writer, opts ...FormatOption) Writer[F, P] {
	return &gitlabWriter[F, P]{w: bufio.NewWriter(w), opts: newFormatOptions(opts)}
}

func (g *gitlabWriter[F, P]) WriteObject(findings []F) error {
	for _, f := range findings {
		s, at, rule := f.Shared(), f.Subject(), FindingRule(f.Shared())
		severity := "minor"
		if FailsGate(f) {
			severity = "major"
		}
		rel := g.opts.relative(at.File)
		if err := g.issue(gitlabIssue{
			Description: objectName(at) + ": " + s.source.Problem(),
			CheckName:   rule.ID + " " + rule.Name,
			Fingerprint: fingerprint(rule, rel, at, s.ContainerType, s.Container, s.Path),
			Severity:    severity,
			Location:    g.location(rel, at),
		}); err != nil {
			return err
		}
	}
	return g.w.Flush()
}

func (g *gitlabWriter[F, P]) AddProblem(p P) { g.problems = append(g.problems, p) }

func (g *gitlabWriter[F, P]) Finish() error {
	for _, p := range g.problems {
		s, at, rule := p.Shared(), p.Subject(), ProblemRule(p.Shared())
		rel := g.opts.relative(at.File)
		// A problem leaves its object unchecked (exit code 2): critical.
		issue := gitlabIssue{
			Description: problemMessage(p),
			CheckName:   rule.ID + " " + rule.Name,
			Fingerprint: fingerprint(rule, rel, at, "", s.Container, s.Image),
			Severity:    "critical",
			Location:    g.location(rel, at),
		}
		if s.Image == "" {
			// A file's problems differ by message only (document, cause).
			issue.Fingerprint = fingerprint(rule, rel, at, "", "", s.Message)
		}
		if err := g.issue(issue); err != nil {
			return err
		}
	}
	if g.written == 0 {
		_, _ = g.w.WriteString("[")
	}
	_, _ = g.w.WriteString("\n]\n")
	return g.w.Flush()
}

// location is the issue's file, relative to the root, and line (1 when
// unknown: GitLab requires one); stdin is "<stdin>".
func (g *gitlabWriter[F, P]) location(rel string, at Subject) gitlabLocation {
	if rel == "" && at.File == "-" {
		rel = "<stdin>"
	}
	return gitlabLocation{Path: rel, Lines: gitlabLines{Begin: max(at.Line, 1)}}
}

// issue writes one element of the array, indented as the JSON writer's.
func (g *gitlabWriter[F, P]) issue(i gitlabIssue) error {
	data, err := json.MarshalIndent(i, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if g.written == 0 {
		sep = "[\n  "
	}
	g.written++
	_, _ = g.w.WriteString(sep)
	_, err = g.w.Write(data)
	return err
}
