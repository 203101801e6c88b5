package audit

import (
	"io"

	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
)

// Report is what Run found. Write writes it in the `-o json` document of
// check's shape, {"findings": [...], "errors": [...]}, or as text.
type Report struct {
	// Findings are sorted by workload, then container, image, digest and
	// path.
	Findings []Finding
	Problems []Problem
	// Notes say where the report is coarser than it could be, such as
	// owners that could not be read; they are for people (stderr).
	Notes []string
}

// Finding is one uncovered image volume of one container of one workload,
// with the pods and nodes where the runtime created it: an element of the
// `-o json` document's "findings". The fields shared with check's findings
// mean the same thing, but for these: Kind and Name name the workload, the
// pods' top owner (a Deployment, not its ReplicaSet; a CronJob, not its
// Job), or the Pod itself; Image is as the pod spec writes it, and Digest
// is what was analysed: the digest the container runs (its status's
// imageID) when the pod reports one, else what Image resolved to. Field
// names are stable; new fields may be added.
type Finding struct {
	Workload
	report.Finding
	// Pods counts the workload's pods that have not finished (not Succeeded
	// or Failed) and have this volume; Nodes are where they run, sorted
	// (pods not yet scheduled have none).
	Pods  int      `json:"pods"`
	Nodes []string `json:"nodes"`

	// finding is what policy found, for reports and Events.
	finding policy.Finding
}

// Subject is the workload.
func (f Finding) Subject() report.Subject {
	return report.Subject{Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}
}

// Problem is something that could not be evaluated: an image, or pods that
// could not be listed. An element of the `-o json` document's "errors".
type Problem struct {
	Namespace string `json:"namespace"`
	report.Problem
}

// Subject is the workload, as far as it is known.
func (p Problem) Subject() report.Subject {
	return report.Subject{Kind: p.Kind, Namespace: p.Namespace, Name: p.Name}
}

// Writer writes audit's report: report.Writer over audit's rows.
type Writer = report.Writer[Finding, Problem]

// NewJSONWriter writes the report to w as JSON.
func NewJSONWriter(w io.Writer) Writer {
	return report.NewJSONWriter[Finding, Problem](w)
}

// Write writes r through w, a workload at a time.
func (r *Report) Write(w Writer) error {
	for i := 0; i < len(r.Findings); {
		j := i
		for j < len(r.Findings) && r.Findings[j].Workload == r.Findings[i].Workload {
			j++
		}
		if err := w.WriteObject(r.Findings[i:j]); err != nil {
			return err
		}
		i = j
	}
	for _, p := range r.Problems {
		w.AddProblem(p)
	}
	return w.Finish()
}

// ExitCode is check's: report.ExitUnchecked when anything could not be
// evaluated (a finding may hide there), else report.ExitFindings when there
// are findings, else report.ExitClean.
func (r *Report) ExitCode() int {
	return report.Summary{Findings: len(r.Findings), Problems: len(r.Problems)}.ExitCode()
}
