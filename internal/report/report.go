// Package report is what the reports of check and audit share: the model
// of a run's findings (image VOLUMEs no mount covers) and problems (what
// could not be evaluated), the exit code they make, and the writers of
// their formats.
//
// Each command's rows embed Finding and Problem, which hold what every
// report says, and add their own fields (check: file; audit: pods and
// nodes); encoding/json flattens embedded fields, so each command's
// document keeps its contract. Rows say what they are about (Subject), so
// that a format is written once for every command (Writer), and a field
// added to Finding reaches every report.
package report

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// Exit codes of `volumeguard check` and `volumeguard audit`, part of the
// contract (docs/design.md).
const (
	ExitClean     = 0
	ExitFindings  = 1
	ExitUnchecked = 2
)

// Finding is what every report says of one uncovered image volume of one
// container: the fields of an element of "findings" that check and audit
// share. Field names are stable; new fields may be added.
type Finding struct {
	Container     string `json:"container"`
	ContainerType string `json:"containerType"`
	Image         string `json:"image"`
	Digest        string `json:"digest"`
	Path          string `json:"path"`
	// Relative is set when the image declares a relative VOLUME, which no
	// mount can cover.
	Relative bool `json:"relative,omitempty"`
	// Platforms lists the platforms that declare the path when not all do.
	Platforms []string `json:"platforms,omitempty"`
	// Content is what the image ships at the path (state, entries, bytes,
	// uid, gid, mode), when the run scanned it.
	Content *policy.Content `json:"content,omitempty"`
	// NearMounts are mounts of the same container strictly inside or above
	// the path: they miss it, and the data outside them goes to the
	// anonymous volume.
	NearMounts []string `json:"nearMounts,omitempty"`

	// source is what the fields say, for the words and the fix of writers.
	source policy.Finding
	// sizeLimit, when set, is the pod's own (its size-limit annotation):
	// the fix suggests it over the report's.
	sizeLimit *resource.Quantity
}

// WithSizeLimit is f whose fix suggests emptyDirs of q, the pod's own
// sizeLimit, whatever the report's is.
func (f Finding) WithSizeLimit(q resource.Quantity) Finding {
	f.sizeLimit = &q
	return f
}

// SizeLimit is the sizeLimit f's fix suggests: the pod's own when it has
// one (WithSizeLimit), else the report's, def.
func (f Finding) SizeLimit(def resource.Quantity) resource.Quantity {
	if f.sizeLimit != nil {
		return *f.sizeLimit
	}
	return def
}

// NewFinding is the report's view of a policy finding.
func NewFinding(f policy.Finding) Finding {
	out := Finding{
		Container: f.Container, ContainerType: string(f.ContainerType),
		Image: f.Image, Digest: f.Digest, Path: f.Path, Relative: f.Relative,
		Content: f.Content, NearMounts: f.NearMounts,
		source: f,
	}
	for _, p := range f.Platforms {
		out.Platforms = append(out.Platforms, p.String())
	}
	return out
}

// Policy returns the finding the row was made from (NewFinding): its
// messages (Problem, UncoveredReason) and its fix.
func (f Finding) Policy() policy.Finding { return f.source }

// Shared returns f, so that a command's row that embeds Finding is a Row.
func (f Finding) Shared() Finding { return f }

// Problem is something that could not be evaluated (an image that could not
// be read, a file that could not be decoded): the fields of an element of
// "errors" that check and audit share.
type Problem struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Container string `json:"container,omitempty"`
	Image     string `json:"image"`
	Message   string `json:"message"`
}

// Shared returns p, so that a command's row that embeds Problem is a
// ProblemRow.
func (p Problem) Shared() Problem { return p }

// Subject is what a row is about: an object, and for manifests the file it
// was read from. Writers that point at a place (a text heading, SARIF, CI
// annotations, a report object per workload) read it; each command's JSON
// spells it in its own fields.
type Subject struct {
	File      string // "" when the object was not read from a file; "-" for stdin
	Kind      string
	Namespace string
	Name      string
	// Line and Column (1-based) are where the row's container names its
	// image in File; 0 when unknown.
	Line, Column int
	// Template is the Helm template that rendered the object, when known.
	Template string
}

// String is "file:line:column: Kind namespace/name (from template)",
// leaving out what is empty or unknown; stdin is "<stdin>".
func (s Subject) String() string {
	out := s.Kind + " " + s.Name
	if s.Namespace != "" {
		out = s.Kind + " " + s.Namespace + "/" + s.Name
	}
	if s.Template != "" {
		out += " (from " + s.Template + ")"
	}
	if where := s.Where(); where != "" {
		out = where + ": " + out
	}
	return out
}

// Where is "file:line:column", the file alone when the position is
// unknown, "" when there is no file; stdin is "<stdin>".
func (s Subject) Where() string {
	file := s.File
	if file == "-" {
		file = "<stdin>"
	}
	if file == "" || s.Line <= 0 {
		return file
	}
	if s.Column <= 0 {
		return file + ":" + strconv.Itoa(s.Line)
	}
	return file + ":" + strconv.Itoa(s.Line) + ":" + strconv.Itoa(s.Column)
}

// Row is a finding of any command's report, as writers read it: a
// command's finding type that embeds Finding and says its Subject.
type Row interface {
	Shared() Finding
	Subject() Subject
}

// ProblemRow is a problem of any command's report, as writers read it.
type ProblemRow interface {
	Shared() Problem
	Subject() Subject
}

// Summary is what a run reported: counts for the exit code, and notes for
// people (stderr) about the input.
type Summary struct {
	Findings, Problems int
	Notes              []string
}

// ExitCode is ExitUnchecked when anything could not be evaluated (a finding
// may hide there), else ExitFindings when there are findings, else
// ExitClean.
func (s Summary) ExitCode() int {
	switch {
	case s.Problems > 0:
		return ExitUnchecked
	case s.Findings > 0:
		return ExitFindings
	}
	return ExitClean
}
