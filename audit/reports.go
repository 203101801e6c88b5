package audit

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/reports"
)

// ReportSubjects groups the findings by workload, in the report's order,
// for reports and Events. Workloads with findings whose UID is not known
// (an owner reference without one) cannot be named and are left out.
func (r *Report) ReportSubjects() []reports.Subject {
	var out []reports.Subject
	index := map[Workload]int{}
	for _, f := range r.Findings {
		w := f.Workload
		if w.UID == "" {
			continue
		}
		i, seen := index[w]
		if !seen {
			i = len(out)
			index[w] = i
			out = append(out, reports.Subject{Workload: reports.Workload{
				APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, UID: w.UID,
			}})
		}
		out[i].Findings = append(out[i].Findings, reportFinding(f))
	}
	return out
}

// reportFinding is the analysis's finding with the image as the spec
// writes it and the digest that was analysed, as the report's JSON says.
func reportFinding(f Finding) policy.Finding {
	pf := f.finding
	pf.Image, pf.Digest = f.Image, f.Digest
	return pf
}

// ReportScope says which existing reports the run may delete: with a label
// selector, or pods that could not be listed, none; a workload with an
// image that could not be read keeps its report.
func (r *Report) ReportScope(namespace string, selector string) reports.Scope {
	unknown := map[[3]string]bool{}
	partial := selector != ""
	for _, e := range r.Problems {
		if e.Name == "" {
			partial = true // pods not listed: a workload not seen is not clean
			continue
		}
		unknown[[3]string{e.Namespace, e.Kind, e.Name}] = true
	}
	return reports.Scope{
		Namespace: namespace,
		Partial:   partial,
		Unknown: func(ref corev1.ObjectReference) bool {
			return unknown[[3]string{ref.Namespace, ref.Kind, ref.Name}]
		},
	}
}
