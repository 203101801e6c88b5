package workload

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrDocumentTooLarge is wrapped by the error for a document over the size
// limit, as written or with its YAML aliases expanded.
var ErrDocumentTooLarge = errors.New("document too large")

// Error is a document that could not be evaluated; the rest of the file is still read.
type Error struct {
	File     string // as in Object.File; the path itself for a path that cannot be read
	Document int    // 1-based; 0 when the error is not about one document
	// Line is the 1-based line of File the error is about: the YAML
	// parser's when it names one, else the document's first line; 0 when
	// unknown.
	Line       int
	Kind, Name string // of the object, when known
	Err        error
}

// Error reads like `deploy.yaml (document 2, Deployment "zk"): spec.template.spec.containers: expected a list, got string`.
func (e *Error) Error() string {
	var details []string
	if e.Document > 0 {
		details = append(details, "document "+strconv.Itoa(e.Document))
	}
	switch {
	case e.Kind != "" && e.Name != "":
		details = append(details, e.Kind+" "+strconv.Quote(e.Name))
	case e.Kind != "":
		details = append(details, e.Kind)
	case e.Name != "":
		details = append(details, strconv.Quote(e.Name))
	}

	where := e.File
	if where == "-" {
		where = "<stdin>"
	}
	if len(details) > 0 {
		if where != "" {
			where += " "
		}
		where += "(" + strings.Join(details, ", ") + ")"
	}

	msg := "unknown error"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if where == "" {
		return msg
	}
	return where + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds the error for one document of a file.
func errorf(file string, doc int, format string, args ...any) *Error {
	return &Error{File: file, Document: doc, Err: fmt.Errorf(format, args...)}
}
