package audit

import (
	"encoding/json"
	"io"

	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/policy"
)

// Report is the `-o json` document: the same top-level shape as check's.
// Field names are stable; new fields may be added.
type Report struct {
	Findings []Finding `json:"findings"`
	Errors   []Error   `json:"errors"`
	// Notes say where the report is coarser than it could be, such as
	// owners that could not be read; they are for people (stderr), not JSON.
	Notes []string `json:"-"`
}

// Finding is one uncovered image volume of one container of one workload,
// with the pods and nodes where the runtime created it. The fields shared
// with check's findings mean the same thing.
type Finding struct {
	Namespace string `json:"namespace"`
	// Kind and Name name the workload: the pods' top owner (a Deployment, not
	// its ReplicaSet; a CronJob, not its Job), or the Pod itself.
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	Container     string `json:"container"`
	ContainerType string `json:"containerType"`
	// Image is as the pod spec writes it; Digest is what was analysed: the
	// digest the container runs (its status's imageID) when the pod reports
	// one, else what Image resolved to.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	Path   string `json:"path"`
	// Relative is set when the image declares a relative VOLUME, which no
	// mount can cover.
	Relative bool `json:"relative,omitempty"`
	// Platforms lists the platforms that declare the path when not all do.
	Platforms []string `json:"platforms,omitempty"`
	// Pods counts the workload's pods that have not finished (not Succeeded
	// or Failed) and have this volume; Nodes are where they run, sorted
	// (pods not yet scheduled have none).
	Pods  int      `json:"pods"`
	Nodes []string `json:"nodes"`

	finding policy.Finding
}

// Error is something that could not be evaluated: an image, or pods that
// could not be listed.
type Error struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Container string `json:"container,omitempty"`
	Image     string `json:"image"`
	Message   string `json:"message"`
}

// ExitCode follows check's contract: 2 when anything could not be evaluated
// (a finding may hide there), else 1 when there are findings, else 0.
func (r *Report) ExitCode() int {
	switch {
	case len(r.Errors) > 0:
		return check.ExitUnchecked
	case len(r.Findings) > 0:
		return check.ExitFindings
	}
	return check.ExitClean
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
