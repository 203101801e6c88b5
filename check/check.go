// Package check runs the volumeguard analysis over manifest files, for CI
// pipelines: `volumeguard check`.
package check

import (
	"context"
	"io"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/workload"
)

// Options are what `volumeguard check` was asked to do.
type Options struct {
	// Paths are files, directories (read recursively) or "-" for Stdin.
	Paths []string
	Stdin io.Reader
	// Concurrency bounds the pod specs analysed at once.
	Concurrency int
	// Progress, when set, is called as pod specs finish: done of total.
	Progress func(done, total int)
}

// job is one pod spec to analyse and where its results go.
type job struct {
	obj    workload.Object
	spec   workload.PodSpec
	result analysis.Result
}

// Run reads the manifests, analyses every pod spec they hold and returns the
// report; it never stops at the first bad file or unreadable image.
func Run(ctx context.Context, analyzer *analysis.Analyzer, opts Options) *Report {
	objects, decodeErrs := workload.ReadPaths(opts.Paths, opts.Stdin)
	report := &Report{Findings: []Finding{}, Errors: []Error{}}
	for _, err := range decodeErrs {
		report.Errors = append(report.Errors, decodeError(err))
	}

	var jobs []*job
	for _, obj := range objects {
		for _, spec := range obj.PodSpecs {
			jobs = append(jobs, &job{obj: obj, spec: spec})
		}
	}
	analyse(ctx, analyzer, jobs, opts)

	// Jobs keep the order of the files, so the report is deterministic.
	for _, j := range jobs {
		for _, f := range j.result.Findings {
			report.Findings = append(report.Findings, newFinding(j.obj, f))
		}
		for _, e := range j.result.Errors {
			report.Errors = append(report.Errors, imageError(j.obj, e))
		}
	}
	return report
}

func analyse(ctx context.Context, analyzer *analysis.Analyzer, jobs []*job, opts Options) {
	analysis.ForEach(ctx, len(jobs), opts.Concurrency, opts.Progress, func(i int) {
		jobs[i].result = analyzer.Analyze(ctx, jobs[i].spec.Spec)
	})
}
