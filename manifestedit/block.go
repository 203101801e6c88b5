package manifestedit

import (
	"bytes"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// blockAppend adds items after the last item of a block sequence, their
// dashes under its dashes.
func (d *document) blockAppend(seq *yaml3.Node, items []entry) error {
	end, err := d.end(seq.Content[len(seq.Content)-1])
	if err != nil {
		return err
	}
	at, prefix, eol := d.afterLine(end)
	item, ok := d.itemIndent(seq)
	if !ok {
		item = d.style.item
	}
	d.insertLines(at, prefix, eol, d.blockItems(items, seq.Column-1, item, eol))
	return nil
}

// addKey adds `key:` and the list of items to mapping m, after its last
// entry.
func (d *document) addKey(m *yaml3.Node, key string, items []entry) error {
	if isFlow(m) || len(m.Content) == 0 {
		return d.flowAddKey(m, key, items)
	}
	end, err := d.end(m)
	if err != nil {
		return err
	}
	at, prefix, eol := d.afterLine(end)
	if last := m.Content[len(m.Content)-2]; prefix != "" && endsInBlockScalar(m.Content[len(m.Content)-1]) {
		// The document ends in a block scalar without a final line
		// break: a line after it would give its value one. The key goes
		// before the last entry instead.
		koff, err := d.offset(last)
		if err != nil {
			return err
		}
		if start := lineStart(d.data, koff); len(bytes.Trim(d.data[start:koff], " ")) == 0 {
			at, prefix, eol = start, "", d.eolAt(koff)
		}
	}
	col := m.Content[0].Column - 1
	seq, item := d.listStyle(m)
	d.insertLines(at, prefix, eol, strings.Repeat(" ", col)+key+":"+eol+d.blockItems(items, col+seq, item, eol))
	return nil
}

// fillEmpty gives key k of mapping m, whose value v is null or an empty
// list, the list of items.
func (d *document) fillEmpty(m, k, v *yaml3.Node, items []entry) error {
	if v.Anchor != "" || v.Style&yaml3.TaggedStyle != 0 {
		return notEditable("%s has an anchor or a tag", k.Value)
	}
	voff, err := d.offset(v)
	if err != nil {
		return err
	}
	tokenEnd := voff + len(v.Value) // null, ~, or nothing
	if v.Kind == yaml3.SequenceNode {
		s, err := d.flowSpan(v)
		if err != nil {
			return err
		}
		tokenEnd = s.close + 1
	}
	if isFlow(m) {
		indent, step := "", ""
		if ms, err := d.flowSpan(m); err == nil && bytes.IndexByte(d.data[ms.open:ms.close], '\n') >= 0 {
			koff, err := d.offset(k)
			if err != nil {
				return err
			}
			indent = d.indentAt(koff)
			step = d.stepFrom(ms.open, indent)
		}
		d.insert(voff, tokenEnd-voff, d.flowList(items, indent, step))
		return nil
	}
	koff, err := d.offset(k)
	if err != nil {
		return err
	}
	if lineStart(d.data, voff) != lineStart(d.data, koff) {
		return notEditable("the value of %s is not on its line", k.Value)
	}
	if tokenEnd > voff {
		// `volumes: []` becomes `volumes:` and a block list below it.
		colon := bytes.LastIndexByte(d.data[koff:voff], ':')
		if colon < 0 {
			return notEditable("no colon after %s", k.Value)
		}
		d.insert(koff+colon+1, tokenEnd-(koff+colon+1), "")
	}
	at, prefix, eol := d.afterLine(tokenEnd)
	seq, item := d.listStyle(m)
	d.insertLines(at, prefix, eol, d.blockItems(items, k.Column-1+seq, item, eol))
	return nil
}

// listStyle is how the lists of mapping m sit: how far right of their keys
// their dashes are, and their items of their dashes. The surrounding block
// decides (m's own block lists, as a container's ports and env), else the
// document.
func (d *document) listStyle(m *yaml3.Node) (seq, item int) {
	seq, item = d.style.seq, d.style.item
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml3.SequenceNode || isFlow(v) || v.Line <= k.Line || v.Column < k.Column {
			continue
		}
		if it, ok := d.itemIndent(v); ok {
			item = it
		}
		return v.Column - k.Column, item
	}
	return seq, item
}

// itemIndent is how far right of its dashes a block sequence writes its
// items, from an item that starts on its dash's line.
func (d *document) itemIndent(seq *yaml3.Node) (int, bool) {
	for _, c := range seq.Content {
		if c.Column <= seq.Column {
			continue
		}
		if off, ok := d.index.Offset(c.Line, seq.Column); ok && off < len(d.data) && d.data[off] == '-' {
			return c.Column - seq.Column, true
		}
	}
	return 0, false
}

// insertLines inserts lines, each ending in eol, at at. After a last line
// without a line break (prefix is one), they keep the file without one.
func (d *document) insertLines(at int, prefix, eol, lines string) {
	if prefix != "" {
		lines = prefix + strings.TrimSuffix(lines, eol)
	}
	d.insert(at, 0, lines)
}

// endsInBlockScalar reports whether the last thing n writes is a literal
// or folded scalar.
func endsInBlockScalar(n *yaml3.Node) bool {
	for n.Kind != yaml3.ScalarNode {
		if n.Kind == yaml3.AliasNode || isFlow(n) || len(n.Content) == 0 {
			return false
		}
		n = n.Content[len(n.Content)-1]
	}
	return n.Style&(yaml3.LiteralStyle|yaml3.FoldedStyle) != 0
}

// afterLine is where lines go after the line holding off: the start of the
// next line, with that line's break. At the end of a document without a
// final line break the new lines start with one (prefix) and end without.
func (d *document) afterLine(off int) (at int, prefix, eol string) {
	le := lineEndAt(d.data, off)
	if le == len(d.data) {
		eol = d.style.eol
		return len(d.data), eol, eol
	}
	eol = "\n"
	if d.data[le] == '\r' {
		eol = "\r\n"
	}
	return nextLine(d.data, le), "", eol
}

// style is how the document indents its blocks, learnt from what it holds.
type style struct {
	seq     int // columns from a key to the dashes of its block list (0: `key:` then `- a` below it)
	item    int // columns from a dash to its item
	mapping int // columns from a key to the keys of its nested block mapping
	// jsonSpaced says JSON separates keys from values with ": ", and
	// entries with ", ".
	jsonSpaced bool
	eol        string // the line break of lines written at the document's end
}

// detectStyle takes the most common indentation of each kind; a document
// without an example of one gets kubectl's.
func detectStyle(d *document) style {
	seq, item, mapping := map[int]int{}, map[int]int{}, map[int]int{}
	for _, n := range d.nodes {
		switch {
		case isFlow(n):
		case n.Kind == yaml3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Line <= k.Line || isFlow(v) {
					continue
				}
				switch v.Kind {
				case yaml3.SequenceNode:
					seq[v.Column-k.Column]++
				case yaml3.MappingNode:
					mapping[v.Column-k.Column]++
				}
			}
		case n.Kind == yaml3.SequenceNode:
			if it, ok := d.itemIndent(n); ok {
				item[it]++
			}
		}
	}
	eol := "\n"
	if bytes.Contains(d.data, []byte("\r\n")) {
		eol = "\r\n"
	}
	return style{
		seq:        mostCommon(seq, 0, 0),
		item:       mostCommon(item, 2, 2),
		mapping:    mostCommon(mapping, 2, 1),
		jsonSpaced: bytes.Contains(d.data, []byte(`": `)),
		eol:        eol,
	}
}

// mostCommon is the most frequent count of at least least (the smallest on
// a tie), or def when there is none.
func mostCommon(counts map[int]int, def, least int) int {
	best, bestN := def, 0
	for v, n := range counts {
		if v < least {
			continue
		}
		if n > bestN || (n == bestN && v < best) {
			best, bestN = v, n
		}
	}
	return best
}
