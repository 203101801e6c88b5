// Package check runs the volumeguard analysis over manifest files, for CI
// pipelines: `volumeguard check`.
package check

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/settings"
	"github.com/volumeguard/volumeguard/workload"
)

// Options are what `volumeguard check` was asked to do.
type Options struct {
	// Paths are files, directories (read recursively) or "-" for Stdin.
	Paths []string
	Stdin io.Reader
	// Concurrency bounds the objects analysed at once.
	Concurrency int
	// Timeout bounds the whole run, reading and analysis; 0 means none.
	// When it expires the report is still written, with a problem for each
	// input not read and each object not analysed (report.TimeoutError).
	Timeout time.Duration
	// Progress, when set, is called as objects finish: done of total.
	Progress func(done, total int)
	// Settings are the exceptions of the settings file; nil: none. The
	// volumeguard.io/ignore annotations of objects and pod templates are
	// honoured in any case: in CI, whoever writes the manifest owns it.
	Settings *settings.Settings
}

// Run reads the manifests, analyses every pod spec they hold and writes the
// report to out as it goes: each object once it and every object before it
// are analysed, in input order, so memory does not grow with the findings.
// It never stops at the first bad file or unreadable image.
//
// When ctx is done (the user interrupted) Run stops at once, leaves the
// report unfinished and returns ctx's cause. Otherwise the error is out's,
// when writing failed.
func Run(ctx context.Context, analyzer *analysis.Analyzer, opts Options, out Writer) (report.Summary, error) {
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, &report.TimeoutError{Timeout: opts.Timeout})
		defer cancel()
	}
	in := workload.ReadPaths(runCtx, opts.Paths, opts.Stdin)
	if ctx.Err() != nil {
		return report.Summary{}, context.Cause(ctx)
	}
	e := &emitter{ctx: ctx, out: out, objects: in.Objects, results: make([][]analysis.Result, len(in.Objects))}
	e.summary.Notes = in.Notes("check", "checked")
	for _, err := range in.Errors {
		e.addProblem(decodeProblem(err))
	}

	// A report that cannot be written ends the analysis too.
	analysisCtx, stop := context.WithCancelCause(runCtx)
	defer stop(nil)
	e.stop = stop
	started := analysis.ForEach(analysisCtx, len(e.objects), opts.Concurrency, opts.Progress, func(i int) {
		results := make([]analysis.Result, len(e.objects[i].PodSpecs))
		for j, spec := range e.objects[i].PodSpecs {
			results[j] = analyzer.Analyze(analysisCtx, spec.Spec,
				analysis.WithPolicy(opts.Settings.PolicyOptions(spec.Spec, spec.ObjectAnnotations, spec.Annotations)...))
		}
		e.done(i, results)
	})
	for i := started; i < len(e.objects); i++ {
		results := make([]analysis.Result, len(e.objects[i].PodSpecs))
		for j, spec := range e.objects[i].PodSpecs {
			results[j] = analysis.Skipped(spec.Spec, context.Cause(analysisCtx))
		}
		e.done(i, results)
	}

	if ctx.Err() != nil {
		return report.Summary{}, context.Cause(ctx)
	}
	if e.err != nil {
		return e.summary, e.err
	}
	if e.ignored > 0 {
		e.summary.Notes = append(e.summary.Notes, ignoredNote(e.ignored))
	}
	return e.summary, out.Finish()
}

// emitter writes the objects' results in input order as they come in.
type emitter struct {
	ctx  context.Context
	out  Writer
	stop context.CancelCauseFunc

	mu      sync.Mutex
	objects []workload.Object
	results [][]analysis.Result // per object, per pod spec; nil until done
	next    int                 // the first object not written
	summary report.Summary
	ignored int   // findings dropped by exceptions
	err     error // the first write error
}

// done records the results of object i and writes every object from the
// first not written up to the first not done. Objects written are dropped.
func (e *emitter) done(i int, results []analysis.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[i] = results
	for e.next < len(e.objects) && e.results[e.next] != nil {
		if e.err == nil && e.ctx.Err() == nil {
			e.write(e.objects[e.next], e.results[e.next])
		}
		e.objects[e.next], e.results[e.next] = workload.Object{}, nil
		e.next++
	}
}

func (e *emitter) write(obj workload.Object, results []analysis.Result) {
	var findings []Finding
	for j, res := range results {
		for _, f := range res.Findings {
			findings = append(findings, newFinding(obj, obj.PodSpecs[j], f))
		}
		e.ignored += len(res.Ignored)
	}
	if len(findings) > 0 {
		e.summary.Findings += len(findings)
		if err := e.out.WriteObject(findings); err != nil {
			e.err = err
			e.stop(err)
			return
		}
	}
	for j, res := range results {
		for _, ie := range res.Errors {
			e.addProblem(imageProblem(obj, obj.PodSpecs[j], ie))
		}
	}
}

func (e *emitter) addProblem(p Problem) {
	e.summary.Problems++
	e.out.AddProblem(p)
}

// ignoredNote says how many findings exceptions dropped: an exception is
// visible in every run, never silent.
func ignoredNote(n int) string {
	if n == 1 {
		return "1 finding ignored by an exception (volumeguard.io/ignore annotation or settings file)"
	}
	return fmt.Sprintf("%d findings ignored by exceptions (volumeguard.io/ignore annotations or settings file)", n)
}
