package check

import (
	"errors"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/workload"
)

// Exit codes of `volumeguard check`, part of the contract (DESIGN.md section 4).
const (
	ExitClean     = 0
	ExitFindings  = 1
	ExitUnchecked = 2
)

// Summary is what Run wrote: counts for the exit code, and notes for people
// (stderr) about the input.
type Summary struct {
	Findings, Errors int
	Notes            []string
}

// Finding is one uncovered image volume of one container of one object: an
// element of the `-o json` document's "findings". Field names are stable;
// new fields may be added.
type Finding struct {
	File          string `json:"file"`
	Kind          string `json:"kind"`
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
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

	finding policy.Finding
}

// Error is something that could not be evaluated: an element of the `-o
// json` document's "errors".
type Error struct {
	File      string `json:"file"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Container string `json:"container,omitempty"`
	Image     string `json:"image"`
	Message   string `json:"message"`
}

// ExitCode is 2 when anything could not be evaluated (a finding may hide
// there), else 1 when there are findings, else 0.
func (s Summary) ExitCode() int {
	switch {
	case s.Errors > 0:
		return ExitUnchecked
	case s.Findings > 0:
		return ExitFindings
	}
	return ExitClean
}

func newFinding(obj workload.Object, f policy.Finding) Finding {
	out := Finding{
		File: obj.File, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
		Container: f.Container, ContainerType: string(f.ContainerType),
		Image: f.Image, Digest: f.Digest, Path: f.Path, Relative: f.Relative,
		finding: f,
	}
	for _, p := range f.Platforms {
		out.Platforms = append(out.Platforms, p.String())
	}
	return out
}

func imageError(obj workload.Object, e *analysis.ImageError) Error {
	return Error{
		File: obj.File, Kind: obj.Kind, Name: obj.Name,
		Container: e.Container, Image: e.Image, Message: e.Error(),
	}
}

func decodeError(err error) Error {
	var we *workload.Error
	if errors.As(err, &we) {
		return Error{File: we.File, Kind: we.Kind, Name: we.Name, Message: err.Error()}
	}
	return Error{Message: err.Error()}
}
