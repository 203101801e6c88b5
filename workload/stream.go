package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// document is one document of a stream, or the reason it could not be read.
type document struct {
	n    int    // 1-based number in the stream
	data []byte // YAML, or JSON when isJSON
	// isJSON marks a value of a JSON stream: it skips the YAML conversion and
	// a top-level array is read as a list of objects.
	isJSON bool
	// lineOffset is the number of lines of the stream before data, to turn
	// YAML errors' line numbers into the file's.
	lineOffset int
	// column is the number of characters before data on its first line
	// (`--- {a: 1}`, a second JSON value on a line), and offset the bytes of
	// the stream before data: with lineOffset, where data is in the file.
	column int
	offset int64
	err    error
}

func (doc document) start() streamPos {
	return streamPos{offset: doc.offset, line: doc.lineOffset, column: doc.column}
}

const (
	readBufferSize = 64 << 10
	utf8BOM        = "\xef\xbb\xbf"
)

// documents splits a stream into documents. A stream whose first character
// is '{' or '[' is read as concatenated JSON values, as kubectl does; if its
// first value is not valid JSON (a YAML flow mapping), or once a value is
// followed by something that is not JSON (`---`), the rest is read as YAML.
func (d *Decoder) documents(r io.Reader, bufSize int) iter.Seq[document] {
	return func(yield func(document) bool) {
		br := bufio.NewReaderSize(r, min(bufSize, readBufferSize))
		var start streamPos
		// A BOM is not whitespace to the JSON decoder; YAML ignores it anyway.
		if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
			_, _ = br.Discard(len(utf8BOM))
			start.offset = int64(len(utf8BOM))
		}
		c, ok, found, rAt, _ := skipSpace(nil, br, start)
		if !ok || (c != '{' && c != '[') {
			yamlDocuments(br, 1, rAt, d.maxDocumentSize(), yield)
			return
		}
		d.jsonDocuments(br, rAt, found, yield)
	}
}

// jsonDocuments reads the concatenated JSON values of br, which is at
// position start; the first value begins at first.
func (d *Decoder) jsonDocuments(br *bufio.Reader, start, first streamPos, yield func(document) bool) {
	max := d.maxDocumentSize()
	// The first value is recorded so the stream can be read again as YAML.
	rec := &recorder{r: br, on: true}
	lim := &limitReader{r: rec}
	dec := json.NewDecoder(lim)
	n := 0
	at := first // where the next value begins
	var end streamPos
	for {
		if n > 0 {
			c, ok, found, rAt, inBuffer := skipSpace(dec.Buffered(), br, end)
			if !ok {
				return
			}
			if c != '{' && c != '[' {
				if !inBuffer {
					// Only whitespace was buffered: br is where YAML starts.
					yamlDocuments(br, n+1, rAt, max, yield)
					return
				}
				buffered, _ := io.ReadAll(dec.Buffered())
				yamlDocuments(io.MultiReader(bytes.NewReader(buffered), br), n+1, end, max, yield)
				return
			}
			at = found
		}
		// Stop the decoder reading past this value's share of the limit:
		// json.Decoder buffers a whole value before looking at it.
		lim.limit = dec.InputOffset() + max + 1
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return
		}
		n++
		switch {
		case errors.Is(err, ErrDocumentTooLarge):
			yield(document{n: n, err: fmt.Errorf("%w: more than %d bytes", ErrDocumentTooLarge, max)})
			return
		case err != nil && rec.on:
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				yamlDocuments(io.MultiReader(bytes.NewReader(rec.buf), br), 1, start, max, yield)
				return
			}
			fallthrough
		case err != nil:
			// The JSON decoder cannot find the next value after an error.
			yield(document{n: n, err: fmt.Errorf("decoding JSON: %w", err)})
			return
		}
		rec.stop()
		doc := document{n: n, data: raw, isJSON: true, lineOffset: at.line, column: at.column, offset: at.offset}
		if int64(len(raw)) > max {
			doc = document{n: n, err: fmt.Errorf("%w: more than %d bytes", ErrDocumentTooLarge, max)}
		}
		end = at.advance(raw)
		if !yield(doc) {
			return
		}
	}
}

// skipSpace finds the first non-whitespace byte of buffered followed by r;
// at is the position of buffered's start (of r's when buffered is nil). It
// consumes nothing but whole lines of whitespace from r (whole, so the
// indentation of YAML after them is kept). It returns the byte and its
// position, the position of r's next byte, and whether the byte was found
// in buffered.
func skipSpace(buffered io.Reader, r *bufio.Reader, at streamPos) (c byte, ok bool, found, rAt streamPos, inBuffer bool) {
	// Byte by byte: the decoder may hold megabytes, of which only the
	// blanks before the next value matter.
	if br, ok := buffered.(io.ByteReader); ok {
		for {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			if notSpace(rune(b)) {
				return b, true, at, at, true
			}
			at = at.advanceByte(b)
		}
	}
	for {
		b, err := r.Peek(r.Size())
		if i := bytes.IndexFunc(b, notSpace); i >= 0 {
			return b[i], true, at.advance(b[:i]), at, false
		}
		if err != nil || len(b) == 0 {
			return 0, false, at, at, false
		}
		nl := bytes.LastIndexByte(b, '\n')
		if nl < 0 {
			// A whole buffer of blanks without a line break: stop looking.
			return 0, false, at, at, false
		}
		at = at.advance(b[:nl+1])
		_, _ = r.Discard(nl + 1)
	}
}

func notSpace(r rune) bool {
	return r != ' ' && r != '\t' && r != '\n' && r != '\r'
}

// recorder keeps what it reads until stopped.
type recorder struct {
	r   io.Reader
	on  bool
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.on {
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

func (r *recorder) stop() {
	r.on, r.buf = false, nil
}

// limitReader fails with ErrDocumentTooLarge past limit bytes.
type limitReader struct {
	r     io.Reader
	read  int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	left := l.limit - l.read
	if left <= 0 {
		return 0, ErrDocumentTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}
