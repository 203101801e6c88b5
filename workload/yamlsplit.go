package workload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// yamlDocuments splits a YAML stream at its document markers, numbering
// documents from first; r starts at position at of the file. Each document
// is parsed on its own, so a syntax error in one does not hide the next. A
// document over max bytes is reported and skipped without keeping it in
// memory.
//
// Numbering follows YAML: every `---` starts a document, even an empty one;
// text before the first `---` or after a `...` is a document only if it has
// content besides comments, blank lines and directives.
func yamlDocuments(r io.Reader, first int, at streamPos, max int64, yield func(document) bool) {
	s := &yamlSplitter{next: first, max: max, yield: yield, firstLine: at.line, firstColumn: at.column}
	s.begin(false, at.line, at.offset)
	size := readBufferSize
	if b, ok := r.(*bufio.Reader); ok {
		size = b.Size() // reuse it: its size fits the stream
	}
	br := bufio.NewReaderSize(r, size)
	line := at.line // lines read completely
	offset := at.offset
	atLineStart := true
	dropLine := false // the rest of this line is a comment after a marker
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			switch {
			case atLineStart:
				if !s.line(chunk, line, offset) {
					return
				}
				dropLine = s.dropRest
			case !dropLine:
				s.add(chunk, offset, 0)
			}
			offset += int64(len(chunk))
			atLineStart = chunk[len(chunk)-1] == '\n'
			if atLineStart {
				line++
				dropLine = false
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			s.emit()
			return
		}
		if err != nil {
			s.fail(fmt.Errorf("reading: %w", err))
			return
		}
	}
}

type yamlSplitter struct {
	next  int // number of the next document to emit
	max   int64
	yield func(document) bool
	done  bool

	// where the stream starts: its first line may start mid-line in the file
	firstLine, firstColumn int

	// the document being read
	buf        bytes.Buffer
	explicit   bool // started by ---
	hasContent bool
	tooLarge   bool
	lineOffset int
	column     int   // characters before the document on its first line
	offset     int64 // bytes of the stream before the document

	dropRest bool // set by line when the rest of that line is not content
}

// begin starts a document whose first line has lineOffset lines before it,
// at offset unless its first add says otherwise.
func (s *yamlSplitter) begin(explicit bool, lineOffset int, offset int64) {
	s.buf = bytes.Buffer{}
	s.explicit, s.hasContent, s.tooLarge = explicit, false, false
	s.lineOffset, s.offset, s.column = lineOffset, offset, 0
	if lineOffset == s.firstLine {
		s.column = s.firstColumn
	}
}

// line handles the first chunk of a line, at offset; lineIndex lines come
// before it. It returns false when the consumer wants no more documents.
func (s *yamlSplitter) line(chunk []byte, lineIndex int, offset int64) bool {
	s.dropRest = false
	if marker, rest, ok := documentMarker(chunk); ok {
		if !s.emit() {
			return false
		}
		s.begin(marker == "---", lineIndex+1, offset+int64(len(chunk)))
		trimmed := bytes.TrimLeft(rest, " \t")
		if marker == "---" && isContent(trimmed) {
			// `--- |` or `--- {a: 1}`: the document starts on the marker's line.
			s.begin(true, lineIndex, offset)
			s.add(rest, offset+int64(len(marker)), len(marker))
			s.hasContent = true
			return true
		}
		s.dropRest = true
		return true
	}
	if chunk[0] != '%' && isContent(bytes.TrimLeft(chunk, " \t")) {
		s.hasContent = true
	}
	s.add(chunk, offset, 0)
	return true
}

// documentMarker recognizes `---` and `...` at the start of a line, followed
// by a blank or the end of the line.
func documentMarker(chunk []byte) (marker string, rest []byte, ok bool) {
	for _, m := range []string{"---", "..."} {
		if !bytes.HasPrefix(chunk, []byte(m)) {
			continue
		}
		rest := chunk[len(m):]
		if len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r' {
			return m, rest, true
		}
	}
	return "", nil, false
}

// isContent reports whether a line, its indentation removed, is more than a
// comment or blank.
func isContent(trimmed []byte) bool {
	return len(trimmed) > 0 && trimmed[0] != '#' && trimmed[0] != '\n' && trimmed[0] != '\r'
}

// add appends b, which is at offset, columns characters after the start of
// its line as the stream has it.
func (s *yamlSplitter) add(b []byte, offset int64, columns int) {
	if s.tooLarge {
		return
	}
	if s.buf.Len() == 0 {
		// The document's data starts here.
		s.offset = offset
		s.column = columns
		if s.lineOffset == s.firstLine {
			s.column += s.firstColumn
		}
	}
	if int64(s.buf.Len()+len(b)) > s.max {
		// Keep reading to the next marker, but not into memory.
		s.tooLarge = true
		s.buf = bytes.Buffer{}
		return
	}
	s.buf.Write(b)
}

// emit hands over the document read so far, if it is one.
func (s *yamlSplitter) emit() bool {
	if s.done {
		return false
	}
	if !s.explicit && !s.hasContent && !s.tooLarge {
		return true
	}
	doc := document{n: s.next, data: s.buf.Bytes(), lineOffset: s.lineOffset, column: s.column, offset: s.offset}
	if s.tooLarge {
		doc = document{n: s.next, err: fmt.Errorf("%w: more than %d bytes", ErrDocumentTooLarge, s.max)}
	}
	s.next++
	if !s.yield(doc) {
		s.done = true
		return false
	}
	return true
}

// fail reports an error that ends the stream, for the document being read.
func (s *yamlSplitter) fail(err error) {
	if !s.done {
		s.done = true
		s.yield(document{n: s.next, err: err})
	}
}
