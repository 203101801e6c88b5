package report

import (
	"errors"
	"testing"
)

// recorder is a Writer that records what it is given, and fails with err.
type recorder struct {
	objects, problems int
	finished          bool
	err               error
}

func (r *recorder) WriteObject([]row) error { r.objects++; return r.err }
func (r *recorder) AddProblem(problemRow)   { r.problems++ }
func (r *recorder) Finish() error           { r.finished = true; return r.err }

// TestTee: every writer gets the whole report, even after another failed,
// and the failure is returned.
func TestTee(t *testing.T) {
	broken := errors.New("disk full")
	a, b := &recorder{err: broken}, &recorder{}
	w := Tee[row, problemRow](a, b)
	if err := w.WriteObject([]row{{}}); !errors.Is(err, broken) {
		t.Errorf("WriteObject = %v, want %v", err, broken)
	}
	w.AddProblem(problemRow{})
	if err := w.Finish(); !errors.Is(err, broken) {
		t.Errorf("Finish = %v, want %v", err, broken)
	}
	for name, r := range map[string]*recorder{"failing": a, "other": b} {
		if r.objects != 1 || r.problems != 1 || !r.finished {
			t.Errorf("%s writer got %d objects, %d problems, finished %v; want 1, 1, true", name, r.objects, r.problems, r.finished)
		}
	}
	if one := Tee[row, problemRow](b); one != Writer[row, problemRow](b) {
		t.Errorf("Tee of one writer is not that writer")
	}
}

// TestDeferred: a writer's error waits for Finish, and it gets nothing
// after it failed.
func TestDeferred(t *testing.T) {
	broken := errors.New("disk full")
	r := &recorder{err: broken}
	w := Deferred[row, problemRow](r)
	for range 2 {
		if err := w.WriteObject([]row{{}}); err != nil {
			t.Errorf("WriteObject = %v, want nil until Finish", err)
		}
	}
	w.AddProblem(problemRow{})
	if err := w.Finish(); !errors.Is(err, broken) {
		t.Errorf("Finish = %v, want %v", err, broken)
	}
	if r.objects != 1 || r.problems != 0 || r.finished {
		t.Errorf("after failing, the writer got %d objects, %d problems, finished %v; want 1, 0, false", r.objects, r.problems, r.finished)
	}
	ok := &recorder{}
	w = Deferred[row, problemRow](ok)
	_ = w.WriteObject([]row{{}})
	w.AddProblem(problemRow{})
	if err := w.Finish(); err != nil || ok.objects != 1 || ok.problems != 1 || !ok.finished {
		t.Errorf("a writer that works: Finish = %v, got %d objects, %d problems, finished %v", err, ok.objects, ok.problems, ok.finished)
	}
}
