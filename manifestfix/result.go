package manifestfix

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/manifestedit"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/workload"
)

// Exit codes of `volumeguard fix`.
const (
	// ExitFixed: every finding a mount can cover is covered, in place.
	ExitFixed = 0
	// ExitSuggested: some are left to a person: with the YAML to add, in
	// Helm templates or documents that cannot be edited in place; or
	// paths an emptyDir would hide what the image ships at (Left).
	ExitSuggested = 1
	// ExitErrors: something could not be read or evaluated, or written.
	ExitErrors = 2
)

// Result is what Run found and did, per file in input order.
type Result struct {
	Files  []File
	Errors []Problem
	// Notes are what people should know about the input: files skipped,
	// inputs that held nothing, annotations that could not be used.
	Notes []string
}

// File is one file (or stdin) read.
type File struct {
	Name     string // as given, "-" for stdin
	Original []byte
	// Fixed is Original with the mounts of Added in place; Original
	// itself when nothing was added.
	Fixed       []byte
	Added       []Added
	Suggestions []Suggestion
	// Left are findings a mount covers, but not an empty one: the image
	// ships files there, or what it ships is not known. A volume holding
	// them, or the webhook's copy, is a person's choice.
	Left      []Left
	Unfixable []Unfixable
}

// Changed reports whether fixing changed the file.
func (f File) Changed() bool { return len(f.Added) > 0 }

// Object names an object of a file, for messages.
type Object struct {
	File      string
	Document  int
	Kind      string
	Namespace string
	Name      string
	Template  string // the Helm template that rendered it, when known
}

// Added is one emptyDir added and mounted, at the finding's path.
type Added struct {
	Object    Object
	At        workload.Position // the container's image
	Added     policy.Added
	SizeLimit resource.Quantity
}

// Suggestion is what to add by hand to one pod spec.
type Suggestion struct {
	Object Object
	At     workload.Position // the pod spec
	// Reason says why fix did not edit the file.
	Reason string
	Mounts []manifestedit.Mount
	// YAML is the fragment to add (manifestedit.Suggestion).
	YAML string
}

// Left is a finding fix left as it is, and why.
type Left struct {
	Object  Object
	At      workload.Position // the container's image
	Skipped policy.Skipped
}

// Unfixable is a finding no volumeMount can cover.
type Unfixable struct {
	Object    Object
	At        workload.Position // the container's image
	Unfixable policy.Unfixable
}

// Problem is something that could not be read or evaluated.
type Problem struct {
	File    string
	At      workload.Position
	Object  string // "Deployment default/zk", or "" when not about one object
	Message string
}

// ExitCode is ExitErrors when anything could not be evaluated (a finding
// may hide there), else ExitSuggested when a fix is left to a person (a
// suggestion, or a path left for what the image ships there), else
// ExitFixed. Findings no mount can cover are reported, and do not count:
// no edit of the manifest helps them.
func (r Result) ExitCode() int {
	if len(r.Errors) > 0 {
		return ExitErrors
	}
	for _, f := range r.Files {
		if len(f.Suggestions) > 0 || len(f.Left) > 0 {
			return ExitSuggested
		}
	}
	return ExitFixed
}
