package manifestedit

import (
	"bytes"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// flowSpan is a flow collection as written: its brackets, and the last
// character of its content before the closing one (a trailing comma
// included; the opening bracket when it is empty).
type flowSpan struct {
	open, close, last int
}

// flowClose is the offset of the closing bracket of flow collection n.
func (d *document) flowClose(n *yaml3.Node) (int, error) {
	s, err := d.flowSpan(n)
	return s.close, err
}

// flowSpan scans flow collection n, skipping quoted scalars and comments.
// A quote opens a scalar only where a scalar can start (after a bracket,
// comma, colon or question mark): inside a plain scalar (`it's`) it is
// a character like any other.
func (d *document) flowSpan(n *yaml3.Node) (flowSpan, error) {
	off, err := d.offset(n)
	if err != nil {
		return flowSpan{}, err
	}
	i := bytes.IndexAny(d.data[off:], "[{")
	if i < 0 {
		return flowSpan{}, notEditable("no flow collection at offset %d", off)
	}
	s := flowSpan{open: off + i, last: off + i}
	depth := 0
	prev := byte('[') // the last significant character
	for i := s.open; i < len(d.data); i++ {
		c := d.data[i]
		switch {
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				s.close = i
				return s, nil
			}
		case (c == '"' || c == '\'') && strings.IndexByte("[{,:?", prev) >= 0:
			end, err := d.quotedEnd(i, c)
			if err != nil {
				return flowSpan{}, err
			}
			i = end - 1
		case c == '#' && (d.data[i-1] == ' ' || d.data[i-1] == '\t' || d.data[i-1] == '\n' || d.data[i-1] == '\r'):
			i = lineEndAt(d.data, i) - 1
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		prev = d.data[i]
		s.last = i
	}
	return flowSpan{}, notEditable("flow collection at offset %d does not end", off)
}

// flowAppend adds items to a flow sequence.
func (d *document) flowAppend(seq *yaml3.Node, items []entry) error {
	return d.flowAdd(seq, seq.Content[len(seq.Content)-1], func(indent, step string) []string {
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = d.flowValue(it, indent, step)
		}
		return out
	})
}

// flowAddKey adds `key: [items]` to a flow mapping.
func (d *document) flowAddKey(m *yaml3.Node, key string, items []entry) error {
	var last *yaml3.Node
	if len(m.Content) >= 2 {
		last = m.Content[len(m.Content)-2]
	}
	return d.flowAdd(m, last, func(indent, step string) []string {
		return []string{d.key(key) + d.colon() + d.flowList(items, indent, step)}
	})
}

// flowAdd inserts entries at the end of flow collection n, whose last entry
// starts at last (nil when n is empty). A collection on one line gets them
// on that line; one that spans lines gets each on a line of its own,
// indented like last, with the indentation step of the document.
func (d *document) flowAdd(n, last *yaml3.Node, entries func(indent, step string) []string) error {
	s, err := d.flowSpan(n)
	if err != nil {
		return err
	}
	multiline := bytes.IndexByte(d.data[s.open:s.close], '\n') >= 0
	if last == nil || !multiline {
		texts := entries("", "")
		sep := ", "
		if d.json && !d.style.jsonSpaced {
			sep = ","
		}
		text := strings.Join(texts, sep)
		switch {
		case s.last == s.open:
		case d.data[s.last] == ',':
			text = " " + text + ","
		default:
			text = sep + text
		}
		d.insert(s.last+1, 0, text)
		return nil
	}
	lastOff, err := d.offset(last)
	if err != nil {
		return err
	}
	indent := d.indentAt(lastOff)
	step := d.stepFrom(s.open, indent)
	eol := d.eolAt(s.last)
	texts := entries(indent, step)
	var b strings.Builder
	trailingComma := d.data[s.last] == ','
	for i, t := range texts {
		if i > 0 || !trailingComma {
			b.WriteString(",")
		}
		b.WriteString(eol + indent + t)
	}
	if trailingComma {
		b.WriteString(",")
	}
	d.insert(s.last+1, 0, b.String())
	return nil
}

// indentAt is the indentation that puts a new line's text in the column of
// off: the line's own leading blanks when only they precede off.
func (d *document) indentAt(off int) string {
	start := lineStart(d.data, off)
	prefix := d.data[start:off]
	if len(bytes.Trim(prefix, " \t")) == 0 {
		return string(prefix)
	}
	return strings.Repeat(" ", len([]rune(string(prefix))))
}

// stepFrom is the indentation step of a multi-line flow collection: how
// much further its entries sit than the line of its opening bracket.
func (d *document) stepFrom(open int, entryIndent string) string {
	start := lineStart(d.data, open)
	line := d.data[start:]
	outer := len(line) - len(bytes.TrimLeft(line, " \t"))
	if n := len(entryIndent) - outer; n > 0 && outer <= len(entryIndent) {
		return entryIndent[outer:]
	}
	return "  "
}

// eolAt is the line break of the line of off, or of the document when that
// line has none.
func (d *document) eolAt(off int) string {
	end := lineEndAt(d.data, off)
	if end < len(d.data) {
		if d.data[end] == '\r' {
			return "\r\n"
		}
		return "\n"
	}
	if bytes.Contains(d.data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}
