package report

import (
	"bufio"
	"encoding/json"
	"io"
)

// Writer writes a report as a run makes it: WriteObject for each object
// (a manifest's object, a workload) with findings, in the run's order, as
// soon as it is known; AddProblem for each problem, kept until Finish
// writes them after the findings, with the end of the report. Problems are
// few (one per unreadable file or image); findings may be many, so they are
// not kept.
//
// A format is one Writer for every command: it reads the rows through Row
// and ProblemRow, and a command's own fields through the rows' JSON.
type Writer[F Row, P ProblemRow] interface {
	WriteObject(findings []F) error
	AddProblem(P)
	Finish() error
}

// jsonWriter writes the one JSON object of the contract,
//
//	{"findings": [...], "errors": [...]}
//
// indented as json.Encoder with SetIndent("", "  ") would, one finding at
// a time.
type jsonWriter[F Row, P ProblemRow] struct {
	w        *bufio.Writer
	started  bool // the opening of the object and of "findings" is written
	findings int
	problems []P
}

// NewJSONWriter writes the report to w as JSON: each command's rows with
// their own fields.
func NewJSONWriter[F Row, P ProblemRow](w io.Writer) Writer[F, P] {
	return &jsonWriter[F, P]{w: bufio.NewWriter(w)}
}

func (j *jsonWriter[F, P]) WriteObject(findings []F) error {
	j.start()
	for _, f := range findings {
		if err := j.element(f, j.findings); err != nil {
			return err
		}
		j.findings++
	}
	// Flushed per object, so that a CI log shows progress.
	return j.w.Flush()
}

func (j *jsonWriter[F, P]) AddProblem(p P) { j.problems = append(j.problems, p) }

func (j *jsonWriter[F, P]) Finish() error {
	j.start()
	j.end(j.findings)
	_, _ = j.w.WriteString(",\n  \"errors\": [")
	for i, p := range j.problems {
		if err := j.element(p, i); err != nil {
			return err
		}
	}
	j.end(len(j.problems))
	_, _ = j.w.WriteString("\n}\n")
	return j.w.Flush()
}

func (j *jsonWriter[F, P]) start() {
	if !j.started {
		j.started = true
		_, _ = j.w.WriteString("{\n  \"findings\": [")
	}
}

// element writes the i-th element of an array, as the indented encoder.
func (j *jsonWriter[F, P]) element(v any, i int) error {
	data, err := json.MarshalIndent(v, "    ", "  ")
	if err != nil {
		return err
	}
	if i > 0 {
		_ = j.w.WriteByte(',')
	}
	_, _ = j.w.WriteString("\n    ")
	_, err = j.w.Write(data)
	return err
}

// end closes an array of n elements: an empty one stays "[]".
func (j *jsonWriter[F, P]) end(n int) {
	if n > 0 {
		_, _ = j.w.WriteString("\n  ")
	}
	_ = j.w.WriteByte(']')
}
