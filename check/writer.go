package check

import (
	"bufio"
	"encoding/json"
	"io"
)

// Writer writes a report as Run makes it: WriteObject for each object with
// findings, in input order, as soon as it is analysed; AddError for each
// error, kept until Finish writes them after the findings, with the end of
// the report. Errors are few (one per unreadable file or image); findings
// may be many, so they are not kept.
type Writer interface {
	WriteObject(findings []Finding) error
	AddError(Error)
	Finish() error
}

// jsonWriter writes the one JSON object of the contract,
//
//	{"findings": [...], "errors": [...]}
//
// indented as json.Encoder with SetIndent("", "  ") would, one finding at
// a time.
type jsonWriter struct {
	w        *bufio.Writer
	started  bool // the opening of the object and of "findings" is written
	findings int
	errors   []Error
}

// NewJSONWriter writes the report to w as JSON.
func NewJSONWriter(w io.Writer) Writer {
	return &jsonWriter{w: bufio.NewWriter(w)}
}

func (j *jsonWriter) WriteObject(findings []Finding) error {
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

func (j *jsonWriter) AddError(e Error) { j.errors = append(j.errors, e) }

func (j *jsonWriter) Finish() error {
	j.start()
	j.end(j.findings)
	_, _ = j.w.WriteString(",\n  \"errors\": [")
	for i, e := range j.errors {
		if err := j.element(e, i); err != nil {
			return err
		}
	}
	j.end(len(j.errors))
	_, _ = j.w.WriteString("\n}\n")
	return j.w.Flush()
}

func (j *jsonWriter) start() {
	if !j.started {
		j.started = true
		_, _ = j.w.WriteString("{\n  \"findings\": [")
	}
}

// element writes the i-th element of an array, as the indented encoder.
func (j *jsonWriter) element(v any, i int) error {
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
func (j *jsonWriter) end(n int) {
	if n > 0 {
		_, _ = j.w.WriteString("\n  ")
	}
	_ = j.w.WriteByte(']')
}
