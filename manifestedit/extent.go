package manifestedit

import (
	"bytes"

	yaml3 "go.yaml.in/yaml/v3"
)

// offset is the byte offset of a node: of its first character, or of its
// anchor or tag when it has one.
func (d *document) offset(n *yaml3.Node) (int, error) {
	off, ok := d.index.Offset(n.Line, n.Column)
	if !ok {
		return 0, notEditable("line %d, column %d is not in the document", n.Line, n.Column)
	}
	return off, nil
}

// bound is the offset of the first node after n's subtree, or the end of
// the document: where whatever n is written as must have ended.
func (d *document) bound(n *yaml3.Node) int {
	next := d.subtree[n] + 1
	if next < len(d.nodes) {
		if off, ok := d.index.Offset(d.nodes[next].Line, d.nodes[next].Column); ok {
			return off
		}
	}
	return len(d.data)
}

// end is the offset just past the last character of n as written (its
// last content character: trailing blanks and comments are not n's).
func (d *document) end(n *yaml3.Node) (int, error) {
	off, err := d.offset(n)
	if err != nil {
		return 0, err
	}
	switch {
	case n.Kind == yaml3.AliasNode:
		return off + 1 + len(n.Value), nil
	case n.Kind == yaml3.ScalarNode:
		return d.scalarEnd(n, off)
	case isFlow(n):
		closing, err := d.flowClose(n)
		return closing + 1, err
	case len(n.Content) == 0:
		return off, nil
	}
	end := off
	for _, c := range n.Content[max(len(n.Content)-2, 0):] {
		e, err := d.end(c)
		if err != nil {
			return 0, err
		}
		end = max(end, e)
	}
	return end, nil
}

func (d *document) scalarEnd(n *yaml3.Node, off int) (int, error) {
	switch {
	case n.Tag == "!!null" && n.Value == "" && n.Style&yaml3.TaggedStyle == 0:
		// `key:` with nothing after it: yaml.v3 places the value just
		// past the colon.
		return off, nil
	case n.Style&(yaml3.LiteralStyle|yaml3.FoldedStyle) != 0:
		return d.blockScalarEnd(n, off), nil
	case n.Style&yaml3.DoubleQuotedStyle != 0:
		return d.quotedEnd(off, '"')
	case n.Style&yaml3.SingleQuotedStyle != 0:
		return d.quotedEnd(off, '\'')
	}
	return d.plainEnd(n, off), nil
}

// quotedEnd finds the closing quote of the scalar whose anchor, tag or
// opening quote is at off.
func (d *document) quotedEnd(off int, quote byte) (int, error) {
	i := bytes.IndexByte(d.data[off:], quote)
	if i < 0 {
		return 0, notEditable("no opening quote at offset %d", off)
	}
	for i := off + i + 1; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '\\' && quote == '"':
			i++
		case c == quote && quote == '\'' && i+1 < len(d.data) && d.data[i+1] == '\'':
			i++
		case c == quote:
			return i + 1, nil
		}
	}
	return 0, notEditable("no closing quote after offset %d", off)
}

// plainEnd is the end of a plain scalar: the rest of its line before a
// comment, and the lines that continue it before the next node.
func (d *document) plainEnd(n *yaml3.Node, off int) int {
	lineEnd := lineEndAt(d.data, off)
	end := off + len(contentOf(d.data[off:lineEnd]))
	bound := d.bound(n)
	for pos := nextLine(d.data, lineEnd); pos < bound; {
		le := lineEndAt(d.data, pos)
		if le >= bound {
			break
		}
		line := bytes.TrimLeft(d.data[pos:le], " \t")
		if len(line) > 0 && line[0] == '#' {
			break // a comment ends a plain scalar
		}
		if c := contentOf(line); len(c) > 0 {
			end = le - len(line) + len(c)
		}
		pos = nextLine(d.data, le)
	}
	return end
}

// blockScalarEnd is the end of a literal or folded scalar (`|`, `>`): its
// last line indented at least as far as its first, before the next node;
// with keep chomping (`|+`) its trailing blank lines are its own too.
func (d *document) blockScalarEnd(n *yaml3.Node, off int) int {
	headerEnd := lineEndAt(d.data, off)
	keep := bytes.ContainsRune(contentOf(d.data[off:headerEnd]), '+')
	end := off + len(contentOf(d.data[off:headerEnd]))
	bound := d.bound(n)
	indent := -1
	for pos := nextLine(d.data, headerEnd); pos < len(d.data) && pos < bound; {
		le := lineEndAt(d.data, pos)
		line := d.data[pos:le]
		text := bytes.TrimLeft(line, " ")
		lead := len(line) - len(text)
		blank := len(bytes.TrimSpace(text)) == 0
		switch {
		case blank:
			if keep {
				end = le
			}
		case indent < 0 || lead >= indent:
			if indent < 0 {
				indent = lead
			}
			end = le
		default:
			return end
		}
		pos = nextLine(d.data, le)
	}
	return end
}

// contentOf is line without its comment and trailing blanks.
func contentOf(line []byte) []byte {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
			break
		}
	}
	return bytes.TrimRight(line, " \t\r")
}

// lineEndAt is the offset of the line break ending the line of off (or the
// end of data), a CR before the LF included in the break.
func lineEndAt(data []byte, off int) int {
	i := bytes.IndexByte(data[off:], '\n')
	if i < 0 {
		return len(data)
	}
	end := off + i
	if end > off && data[end-1] == '\r' {
		end--
	}
	return end
}

// nextLine is the start of the line after the one ending at lineEnd.
func nextLine(data []byte, lineEnd int) int {
	i := bytes.IndexByte(data[lineEnd:], '\n')
	if i < 0 {
		return len(data)
	}
	return lineEnd + i + 1
}

// lineStart is the offset of the start of off's line.
func lineStart(data []byte, off int) int {
	return bytes.LastIndexByte(data[:off], '\n') + 1
}
