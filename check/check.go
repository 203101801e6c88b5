// Package check runs the volumeguard analysis over manifest files, for CI
// pipelines: `volumeguard check`.
package check

import (
	"context"
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
	// DecoderOptions are how manifests are decoded (an object cache).
	DecoderOptions []workload.Option
	// Settings are the exceptions of the settings file; nil: none. The
	// volumeguard.io/ignore annotations of objects and pod templates are
	// honoured in any case: in CI, whoever writes the manifest owns it.
	Settings *settings.Settings
}

// Run reads the manifests, analyses every pod spec they hold and writes the
// report to out as it goes: each object once it and every object before it
// are analysed, in input order, so memory does not grow with the findings.
// Objects are analysed as soon as they are read, while the rest are still
// being read. Problems are reported at the end, those of reading first. It
// never stops at the first bad file or unreadable image.
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
	// A report that cannot be written ends the analysis too.
	analysisCtx, stop := context.WithCancelCause(runCtx)
	defer stop(nil)
	e := &emitter{ctx: ctx, out: out, stop: stop, progress: opts.Progress}

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(opts.Concurrency, 1) {
		wg.Go(func() {
			for i := range jobs {
				e.done(i, analyze(analysisCtx, analyzer, opts.Settings, e.object(i)))
			}
		})
	}
	in := workload.NewDecoder(opts.DecoderOptions...).StreamPaths(runCtx, opts.Paths, opts.Stdin, func(o workload.Object) {
		jobs <- e.add(o)
	})
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return report.Summary{}, context.Cause(ctx)
	}
	e.summary.Notes = in.Notes("check", "checked")
	for _, err := range in.Errors {
		e.addProblem(decodeProblem(err))
	}
	for _, p := range e.problems {
		e.addProblem(p)
	}
	if e.err != nil {
		return e.summary, e.err
	}
	if e.ignored > 0 {
		e.summary.Notes = append(e.summary.Notes, report.IgnoredNote(e.ignored))
	}
	e.summary.Notes = append(e.summary.Notes, e.notes...)
	return e.summary, out.Finish()
}

// analyze analyses the pod specs of one object, or says why not once ctx
// is done.
func analyze(ctx context.Context, analyzer *analysis.Analyzer, s *settings.Settings, obj workload.Object) []analysis.Result {
	results := make([]analysis.Result, len(obj.PodSpecs))
	for j, spec := range obj.PodSpecs {
		if ctx.Err() != nil {
			results[j] = analysis.Skipped(spec.Spec, context.Cause(ctx))
			continue
		}
		results[j] = analyzer.Analyze(ctx, spec.Spec,
			analysis.WithPolicy(s.PolicyOptions(spec.Spec, spec.ObjectAnnotations, spec.Annotations)...))
	}
	return results
}

// emitter writes the objects' results in input order as they come in; it
// keeps their problems for the end, after those of reading.
type emitter struct {
	ctx      context.Context
	out      Writer
	stop     context.CancelCauseFunc
	progress func(done, total int)

	mu       sync.Mutex
	objects  []workload.Object
	results  [][]analysis.Result // per object, per pod spec; nil until done
	next     int                 // the first object not written
	finished int                 // objects analysed
	problems []Problem           // of the objects written
	summary  report.Summary
	ignored  int      // findings dropped by exceptions
	notes    []string // of the objects written, for the summary's
	err      error    // the first write error
}

// add appends an object read and returns its index.
func (e *emitter) add(o workload.Object) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.objects = append(e.objects, o)
	e.results = append(e.results, nil)
	return len(e.objects) - 1
}

func (e *emitter) object(i int) workload.Object {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.objects[i]
}

// done records the results of object i and writes every object from the
// first not written up to the first not done.
func (e *emitter) done(i int, results []analysis.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[i] = results
	e.finished++
	if e.progress != nil {
		e.progress(e.finished, len(e.objects))
	}
	e.flush()
}

// flush writes the objects done, in order, and drops them.
func (e *emitter) flush() {
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
			e.problems = append(e.problems, imageProblem(obj, obj.PodSpecs[j], ie))
		}
		// With an image unread, an ignored path may be its.
		ps := obj.PodSpecs[j]
		if len(res.Errors) == 0 {
			if note := settings.UnusedIgnoresNote(settings.UnusedIgnores(res.Ignored, ps.ObjectAnnotations, ps.Annotations)); note != "" {
				at := report.Subject{File: obj.File, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
					Line: ps.Position.Line, Column: ps.Position.Column, Template: obj.Template}
				e.notes = append(e.notes, at.String()+": "+note)
			}
		}
	}
}

func (e *emitter) addProblem(p Problem) {
	e.summary.Problems++
	e.out.AddProblem(p)
}
