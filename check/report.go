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
	File      string `json:"file"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	report.Finding
}

// Subject is the object and its file.
func (f Finding) Subject() report.Subject {
	return report.Subject{File: f.File, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}
}

// Problem is something that could not be evaluated (an image that cannot be
// read, a file that cannot be decoded): an element of the `-o json`
// document's "errors".
type Problem struct {
	File string `json:"file"`
	report.Problem
}

// Subject is the object and its file, as far as they are known.
func (p Problem) Subject() report.Subject {
	return report.Subject{File: p.File, Kind: p.Kind, Name: p.Name}
}

func newFinding(obj workload.Object, f policy.Finding) Finding {
	return Finding{File: obj.File, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name, Finding: report.NewFinding(f)}
}

func imageProblem(obj workload.Object, e *analysis.ImageError) Problem {
	return Problem{File: obj.File, Problem: report.Problem{
		Kind: obj.Kind, Name: obj.Name, Container: e.Container, Image: e.Image, Message: e.Error(),
	}}
}

func decodeProblem(err error) Problem {
	var we *workload.Error
	if errors.As(err, &we) {
		return Problem{File: we.File, Problem: report.Problem{Kind: we.Kind, Name: we.Name, Message: err.Error()}}
	}
	return Problem{Problem: report.Problem{Message: err.Error()}}
}
