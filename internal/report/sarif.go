package report

import (
	"bufio"
	"io"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// sarifWriter writes a SARIF 2.1.0 log with one run: a rule per kind of
// row (Rules), a result per finding and problem. SARIF is one JSON
// document that names its rules first, so results are kept until Finish.
type sarifWriter[F Row, P ProblemRow] struct {
	w    io.Writer
	opts formatOptions
	run  *sarif.Run
}

// NewSARIFWriter writes the report to w as SARIF 2.1.0, for code scanning.
func NewSARIFWriter[F Row, P ProblemRow](w io.Writer, opts ...FormatOption) Writer[F, P] {
	o := newFormatOptions(opts)
	run := sarif.NewRunWithInformationURI("volumeguard", "https://github.com/volumeguard/volumeguard")
	run.Tool.Driver.WithVersion(o.version)
	for _, r := range Rules() {
		run.AddRule(r.ID).WithName(r.Name).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(r.Short)).
			WithFullDescription(sarif.NewMultiformatMessageString().WithText(r.Short + ".")).
			WithHelp(sarif.NewMultiformatMessageString().WithText(r.Help).WithMarkdown(r.Help)).
			WithHelpURI("https://github.com/volumeguard/volumeguard/blob/main/docs/ci.md#rules").
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel("error"))
	}
	// Columns count characters (Unicode code points), as workload counts them.
	run.WithColumnKind("unicodeCodePoints")
	return &sarifWriter[F, P]{w: w, opts: o, run: run}
}

func (s *sarifWriter[F, P]) WriteObject(findings []F) error {
	for _, f := range findings {
		rule := FindingRule(f.Shared())
		s.result(rule, level(FailsGate(f)), f.Subject(), findingMessage(f, s.opts.sizeLimit)).
			WithPartialFingerprints(map[string]string{
				"volumeguard/v1": fingerprint(rule, s.opts.relative(f.Subject().File), f.Subject(), f.Shared().ContainerType, f.Shared().Container, f.Shared().Path),
			})
	}
	return nil
}

func (s *sarifWriter[F, P]) AddProblem(p P) {
	// Every problem leaves something unchecked: exit code 2.
	s.result(ProblemRule(p.Shared()), "error", p.Subject(), problemMessage(p))
}

func (s *sarifWriter[F, P]) Finish() error {
	log := sarif.NewReport()
	log.AddRun(s.run)
	bw := bufio.NewWriter(s.w)
	if err := log.PrettyWrite(bw); err != nil {
		return err
	}
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

// result adds a result at the subject's file and position; a row without a
// file (stdin) has no location.
func (s *sarifWriter[F, P]) result(rule Rule, level string, at Subject, message string) *sarif.Result {
	r := s.run.CreateResultForRule(rule.ID).WithLevel(level).WithMessage(sarif.NewTextMessage(message))
	if rel := s.opts.relative(at.File); rel != "" {
		loc := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri(rel)))
		if at.Line > 0 {
			region := sarif.NewRegion().WithStartLine(at.Line)
			if at.Column > 0 {
				region.WithStartColumn(at.Column)
			}
			loc.WithRegion(region)
		}
		r.AddLocation(sarif.NewLocationWithPhysicalLocation(loc))
	}
	return r
}

// level is the SARIF level of a finding: "error" when it fails the gate.
func level(fails bool) string {
	if fails {
		return "error"
	}
	return "warning"
}
