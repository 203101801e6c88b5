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
