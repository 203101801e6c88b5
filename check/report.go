package check

import (
	"errors"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/workload"
)

// Finding is one uncovered image volume of one container of one object: an
// element of the `-o json` document's "findings". Field names are stable;
// new fields may be added.
type Finding struct {
	File string `json:"file"`
	// Line and Column (1-based) are where the container's image is written
	// in File; left out when unknown (a document yaml.v3 cannot read).
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Template is the Helm template that rendered the object (`# Source:`).
	Template string `json:"template,omitempty"`
	report.Finding
}

// Subject is the object, its file and where the container's image is.
func (f Finding) Subject() report.Subject {
	return report.Subject{File: f.File, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Line: f.Line, Column: f.Column, Template: f.Template}
}

// Problem is something that could not be evaluated (an image that cannot be
// read, a file that cannot be decoded): an element of the `-o json`
// document's "errors".
type Problem struct {
	File string `json:"file"`
	// Line and Column are where the container's image is written, for an
	// image that cannot be read; for a manifest that cannot be decoded, the
	// line the YAML parser names, else the document's first line (no
	// column); left out when unknown.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Template is the Helm template that rendered the object, when known.
	Template string `json:"template,omitempty"`
	report.Problem
}

// Subject is the object and its file, as far as they are known.
func (p Problem) Subject() report.Subject {
	return report.Subject{File: p.File, Kind: p.Kind, Name: p.Name, Line: p.Line, Column: p.Column, Template: p.Template}
}

func newFinding(obj workload.Object, ps workload.PodSpec, f policy.Finding) Finding {
	at := ps.ImagePosition(f.ContainerType, f.Container)
	rf := report.NewFinding(f)
	// The fix suggests the sizeLimit fix and the webhook would add: the
	// pod template's annotation, when it holds one.
	if q, ok := policy.SizeLimitOf(ps.Annotations); ok {
		rf = rf.WithSizeLimit(q)
	}
	return Finding{File: obj.File, Line: at.Line, Column: at.Column, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
		Template: obj.Template, Finding: rf}
}

func imageProblem(obj workload.Object, ps workload.PodSpec, e *analysis.ImageError) Problem {
	at := ps.ImagePosition(e.ContainerType, e.Container)
	return Problem{File: obj.File, Line: at.Line, Column: at.Column, Template: obj.Template, Problem: report.Problem{
		Kind: obj.Kind, Name: obj.Name, Container: e.Container, Image: e.Image, Message: e.Error(),
	}}
}

func decodeProblem(err error) Problem {
	var we *workload.Error
	if errors.As(err, &we) {
		return Problem{File: we.File, Line: we.Line, Problem: report.Problem{Kind: we.Kind, Name: we.Name, Message: err.Error()}}
	}
	return Problem{Problem: report.Problem{Message: err.Error()}}
}
