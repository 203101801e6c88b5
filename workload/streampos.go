package workload

import (
	"bytes"
	"unicode/utf8"
)

// streamPos is a place in a stream: the bytes and the lines (LF) before it,
// and the characters before it on its line. Documents carry theirs so that
// the positions of their nodes count from the start of the file.
type streamPos struct {
	offset int64
	line   int // lines before
	column int // characters before, on its line
}

// advance moves p past b.
func (p streamPos) advance(b []byte) streamPos {
	p.offset += int64(len(b))
	if nl := bytes.LastIndexByte(b, '\n'); nl >= 0 {
		p.line += bytes.Count(b, []byte("\n"))
		p.column = utf8.RuneCount(b[nl+1:])
		return p
	}
	p.column += utf8.RuneCount(b)
	return p
}

// advanceByte moves p past one byte of whitespace.
func (p streamPos) advanceByte(c byte) streamPos {
	p.offset++
	if c == '\n' {
		p.line++
		p.column = 0
	} else {
		p.column++
	}
	return p
}
