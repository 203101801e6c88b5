package report

import "errors"

// Tee writes one report to every writer: one run in several formats (CI
// annotations on stdout and a SARIF log for code scanning), so that they
// cannot disagree, as two runs could when a registry answers the second
// differently. An error of one writer does not keep the others from the
// report; all the errors are returned.
func Tee[F Row, P ProblemRow](writers ...Writer[F, P]) Writer[F, P] {
	if len(writers) == 1 {
		return writers[0]
	}
	return tee[F, P](writers)
}

type tee[F Row, P ProblemRow] []Writer[F, P]

func (t tee[F, P]) WriteObject(findings []F) error {
	var errs []error
	for _, w := range t {
		errs = append(errs, w.WriteObject(findings))
	}
	return errors.Join(errs...)
}

func (t tee[F, P]) AddProblem(p P) {
	for _, w := range t {
		w.AddProblem(p)
	}
}

func (t tee[F, P]) Finish() error {
	var errs []error
	for _, w := range t {
		errs = append(errs, w.Finish())
	}
	return errors.Join(errs...)
}

// Deferred is w, whose errors wait for Finish: a report written besides
// the run's own (check --output-file) that cannot be written fails the
// run, but does not stop it, which a Writer's error does, cutting the
// run's own report short. Once w failed it gets nothing more.
func Deferred[F Row, P ProblemRow](w Writer[F, P]) Writer[F, P] {
	return &deferred[F, P]{w: w}
}

type deferred[F Row, P ProblemRow] struct {
	w   Writer[F, P]
	err error // w's first
}

func (d *deferred[F, P]) WriteObject(findings []F) error {
	if d.err == nil {
		d.err = d.w.WriteObject(findings)
	}
	return nil
}

func (d *deferred[F, P]) AddProblem(p P) {
	if d.err == nil {
		d.w.AddProblem(p)
	}
}

func (d *deferred[F, P]) Finish() error {
	if d.err != nil {
		return d.err
	}
	return d.w.Finish()
}
