// Package manifestfix runs `volumeguard fix`: it reads manifests, analyses
// their pod specs as check does, covers each finding as the webhook's mode
// mutate would (policy.Mutate: same volume names, same sizeLimit) and edits
// the manifests in place with manifestedit, keeping every other byte. Helm
// output, and documents that cannot be edited in place, get the YAML to add
// instead. Run writes nothing; WriteFile replaces a file atomically.
package manifestfix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/settings"
	"github.com/volumeguard/volumeguard/workload"
)

// AnnotationSizeLimit on a Pod or pod template sets the sizeLimit of the
// emptyDirs added to it, over Options.SizeLimit: the annotation the
// webhook reads (webhook.AnnotationSizeLimit), so that fix adds what mode
// mutate would.
const AnnotationSizeLimit = policy.AnnotationSizeLimit

// Options are what `volumeguard fix` was asked to do.
type Options struct {
	// Paths are files, directories (read recursively) or "-" for Stdin.
	Paths []string
	Stdin io.Reader
	// SizeLimit bounds the emptyDirs added, unless the pod's annotation
	// says otherwise. The namespace's annotation lives in the cluster,
	// where the webhook reads it; fix reads manifests, so SizeLimit stands
	// for it.
	SizeLimit resource.Quantity
	// Concurrency bounds the pod specs analysed at once.
	Concurrency int
	// Timeout bounds reading and analysis; 0 means none. What it cuts
	// short is an error, and what was analysed is still fixed.
	Timeout time.Duration
	// Settings are the exceptions of the settings file, as check's; nil:
	// none. Paths they or volumeguard.io/ignore annotations drop are not
	// fixed.
	Settings *settings.Settings
}

// TimeoutError is the cause of what Options.Timeout cut short.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the overall timeout of %s expired", e.Timeout)
}

// Is makes a TimeoutError a context.DeadlineExceeded, as callers test.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Run reads the manifests, analyses every pod spec they hold and fixes
// each file in memory. It never stops at the first bad document or
// unreadable image: what can be fixed is. When ctx is done (the user
// interrupted) it returns ctx's cause.
func Run(ctx context.Context, analyzer *analysis.Analyzer, opts Options) (Result, error) {
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, &TimeoutError{opts.Timeout})
		defer cancel()
	}
	in := workload.NewDecoder().ReadFiles(runCtx, opts.Paths, opts.Stdin)
	if ctx.Err() != nil {
		return Result{}, context.Cause(ctx)
	}
	var res Result
	res.Notes = in.Notes("fix", "fixed")
	for _, err := range in.Errors {
		res.Errors = append(res.Errors, decodeProblem(err))
	}

	results, err := analyse(runCtx, analyzer, in.Objects, opts)
	if ctx.Err() != nil {
		return Result{}, context.Cause(ctx)
	}
	if err != nil {
		return Result{}, err
	}
	ignored := 0
	for _, specs := range results {
		for _, r := range specs {
			ignored += len(r.Ignored)
		}
	}
	if ignored > 0 {
		res.Notes = append(res.Notes, report.IgnoredNote(ignored))
	}

	byFile := map[string][]int{}
	for i, o := range in.Objects {
		byFile[o.File] = append(byFile[o.File], i)
	}
	for _, f := range in.Files {
		fixer := &fileFixer{file: File{Name: f.Name, Original: f.Data, Fixed: f.Data}, defaultLimit: opts.SizeLimit}
		for _, i := range byFile[f.Name] {
			fixer.object(in.Objects[i], results[i])
		}
		fixer.edit()
		res.Files = append(res.Files, fixer.file)
		res.Errors = append(res.Errors, fixer.errors...)
		res.Notes = append(res.Notes, fixer.notes...)
	}
	return res, nil
}

// analyse analyses every pod spec of objs, concurrency at a time.
func analyse(ctx context.Context, analyzer *analysis.Analyzer, objs []workload.Object, opts Options) ([][]analysis.Result, error) {
	results := make([][]analysis.Result, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Concurrency, 1))
	for i, o := range objs {
		results[i] = make([]analysis.Result, len(o.PodSpecs))
		for j, ps := range o.PodSpecs {
			g.Go(func() error {
				results[i][j] = analyzer.Analyze(gctx, ps.Spec,
					analysis.WithPolicy(opts.Settings.PolicyOptions(ps.Spec, ps.ObjectAnnotations, ps.Annotations)...))
				return nil
			})
		}
	}
	return results, g.Wait()
}

func decodeProblem(err error) Problem {
	var we *workload.Error
	if errors.As(err, &we) {
		return Problem{File: we.File, Message: err.Error()}
	}
	return Problem{Message: err.Error()}
}

func objectOf(o workload.Object) Object {
	return Object{File: o.File, Document: o.Document, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Template: o.Template}
}

// listOf is the pod spec list that holds containers of type t.
func listOf(t policy.ContainerType) string {
	if t == policy.InitContainer {
		return "initContainers"
	}
	return "containers"
}
