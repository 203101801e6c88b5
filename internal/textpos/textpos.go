// Package textpos maps the positions go.yaml.in/yaml/v3 gives its nodes (a
// 1-based line and column, the column counted in characters) to byte offsets
// in the text, and byte offsets to the lines and columns editors show.
//
// The two disagree on what ends a line: YAML breaks lines at LF, CRLF, a
// lone CR, NEL (U+0085), LS (U+2028) and PS (U+2029); editors, CI systems and
// the line counts of this project break them at LF alone.
package textpos

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// Index locates positions in one text. It keeps the text, and its line
// starts both ways (built when first needed).
type Index struct {
	data      []byte
	yamlLines []int // byte offset of each YAML line's start
	lfLines   []int // byte offset of each LF line's start
}

// New indexes data.
func New(data []byte) *Index {
	return &Index{data: data}
}

// OnlyLF reports whether YAML and editors count the lines of data alike: it
// holds no line break but LF and CRLF. Then a node's line and column are
// already an editor's, and no Index is needed.
func OnlyLF(data []byte) bool {
	for i := bytes.IndexAny(data, "\r\u0085\u2028\u2029"); i >= 0; {
		if _, n := breakAt(data, i); n > 0 && !(data[i] == '\r' && n == 2) {
			return false
		}
		next := bytes.IndexAny(data[i+1:], "\r\u0085\u2028\u2029")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return true
}

// breakAt reports whether a YAML line break starts at data[i], and its length.
func breakAt(data []byte, i int) (bool, int) {
	switch c := data[i]; {
	case c == '\n':
		return true, 1
	case c == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return true, 2
		}
		return true, 1
	case c == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
		return true, 2
	case c == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
		return true, 3
	}
	return false, 0
}

func (x *Index) yamlStarts() []int {
	if x.yamlLines == nil {
		x.yamlLines = []int{0}
		for i := 0; i < len(x.data); {
			if ok, n := breakAt(x.data, i); ok {
				i += n
				x.yamlLines = append(x.yamlLines, i)
				continue
			}
			i++
		}
	}
	return x.yamlLines
}

// Offset is the byte offset of a node at line and column (1-based, as
// yaml.v3 counts them). It is false when the position is not in the text.
// A column may point just past a line's last character: yaml.v3 places an
// empty value (`key:`) there.
func (x *Index) Offset(line, column int) (int, bool) {
	starts := x.yamlStarts()
	if line < 1 || line > len(starts) || column < 1 {
		return 0, false
	}
	pos := starts[line-1]
	for range column - 1 {
		if pos >= len(x.data) {
			return 0, false
		}
		if ok, _ := breakAt(x.data, pos); ok {
			return 0, false
		}
		_, size := utf8.DecodeRune(x.data[pos:])
		pos += size
	}
	return pos, true
}

// EditorPosition is the 1-based line and column (in characters) of a byte
// offset, lines counted at LF alone.
func (x *Index) EditorPosition(offset int) (line, column int) {
	if x.lfLines == nil {
		x.lfLines = []int{0}
		for i, c := range x.data {
			if c == '\n' {
				x.lfLines = append(x.lfLines, i+1)
			}
		}
	}
	offset = min(max(offset, 0), len(x.data))
	l := sort.Search(len(x.lfLines), func(i int) bool { return x.lfLines[i] > offset }) - 1
	return l + 1, utf8.RuneCount(x.data[x.lfLines[l]:offset]) + 1
}
