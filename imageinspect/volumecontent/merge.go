package volumecontent

import (
	"errors"
	"fmt"
)

// pathMerge follows one path down the layers, from the top, as the union of
// layers presents it: the highest layer to name an entry wins; a whiteout
// hides the name and all beneath it in the layers below; an opaque marker
// hides what the layers below hold beneath its directory; a non-directory
// hides what the layers below hold beneath its name (the unpacker removed
// that directory to put it there).
//
// Masks that cover the path or a parent end the walk: nothing below can
// change the answer. Masks beneath the path are kept to judge lower
// entries.
type pathMerge struct {
	path       string
	ancestors  []string // proper parents, highest first: "a", "a/b" for "a/b/c"
	maxEntries int

	header  *entry // the path's own entry, from the highest layer naming it
	implied bool   // some layer holds something beneath the path
	dirAnc  []bool // ancestors[i] is a directory in a layer above

	seen      map[string]struct{} // names beneath the path that a layer above decided
	parents   map[string]struct{} // directories beneath the path that layers above put entries in
	hideAt    map[string]struct{} // whited out: the name and all beneath it
	hideBelow map[string]struct{} // opaque or non-directory: all beneath the name

	entries, bytes int64

	contentDone bool // nothing below changes what lies beneath the path, but its own entry may be below
	done        bool

	linkAt, linkTarget string // a symbolic link on the way: at the path or a parent
	err                error  // the answer is Unknown
}

func newPathMerge(p string, maxEntries int) *pathMerge {
	m := &pathMerge{path: p, maxEntries: maxEntries,
		seen: map[string]struct{}{}, parents: map[string]struct{}{}, hideAt: map[string]struct{}{}, hideBelow: map[string]struct{}{}}
	for a := parent(p); p != "" && a != ""; a = parent(a) {
		m.ancestors = append([]string{a}, m.ancestors...)
	}
	m.dirAnc = make([]bool, len(m.ancestors))
	return m
}

// fail ends the walk with an Unknown answer.
func (m *pathMerge) fail(err error) {
	m.err, m.done = err, true
}

// apply reads the next layer down.
func (m *pathMerge) apply(x *layerIndex) {
	if m.done {
		return
	}
	if m.contentDone {
		m.findHeaderBelow(x)
		return
	}
	finishAfter := false
	for i, a := range m.ancestors {
		for _, e := range x.at(a) {
			switch {
			case e.kind == kindWhiteout || e.kind == kindOpaque:
				finishAfter = true
			case e.kind == kindDir:
				m.dirAnc[i] = true
			case m.dirAnc[i]:
				// Replaced by a directory above: it hides all that lies below
				// it and holds nothing itself.
				m.done = true
				return
			default:
				m.nonDirectoryParent(i, e)
				return
			}
		}
	}
	opaque := false
	for _, e := range x.at(m.path) {
		switch {
		case e.kind == kindWhiteout:
			finishAfter = true
		case e.kind == kindOpaque:
			opaque, m.implied = true, true
		case m.header != nil:
			if e.kind != kindDir {
				finishAfter = true // replaced by the directory above
			}
		case e.kind == kindDir:
			h := e
			m.header = &h
		default:
			m.nonDirectoryPath(x, e)
			return
		}
	}
	m.applyBeneath(x)
	switch {
	case m.done:
	case finishAfter:
		m.done = true
	case opaque:
		m.contentDone, m.done = true, m.header != nil
	}
}

// applyBeneath counts what the layer holds beneath the path that no layer
// above hid or replaced, and records what it hides from the layers below.
func (m *pathMerge) applyBeneath(x *layerIndex) {
	var hideAt, hideBelow, parents []string // apply to the layers below only
	for _, e := range x.beneath(m.path) {
		if m.hidden(e.name) {
			continue
		}
		m.implied = true
		parents = m.parentsOf(e, parents)
		switch e.kind {
		case kindWhiteout:
			hideAt = append(hideAt, e.name)
			continue
		case kindOpaque:
			hideBelow = append(hideBelow, e.name)
			continue
		case kindDir:
		default:
			hideBelow = append(hideBelow, e.name)
			_, above := m.parents[e.name]
			if _, replaced := m.seen[e.name]; above && !replaced {
				// A layer above wrote beneath this name without replacing
				// it: the unpacker wrote through this link (or failed on
				// this file).
				m.fail(writesThrough(e))
				return
			}
		}
		if _, ok := m.seen[e.name]; ok {
			continue
		}
		m.seen[e.name] = struct{}{}
		m.entries++
		if e.kind == kindFile {
			m.bytes += e.size
		}
	}
	if len(m.seen)+len(m.hideAt)+len(m.hideBelow)+len(m.parents) > m.maxEntries {
		m.fail(fmt.Errorf("%w: more than %d entries beneath %q", ErrTooLarge, m.maxEntries, "/"+m.path))
		return
	}
	for _, n := range hideAt {
		m.hideAt[n] = struct{}{}
	}
	for _, n := range hideBelow {
		m.hideBelow[n] = struct{}{}
	}
	for _, n := range parents {
		m.parents[n] = struct{}{}
	}
}

// parentsOf appends the directories beneath the path that e's presence
// makes directories in its layer: its parents, and for an opaque marker
// the directory itself.
func (m *pathMerge) parentsOf(e entry, to []string) []string {
	n := parent(e.name)
	if e.kind == kindOpaque {
		n = e.name
	}
	for ; n != m.path && n != ""; n = parent(n) {
		if _, ok := m.parents[n]; ok {
			break // and so are its own parents
		}
		to = append(to, n)
	}
	return to
}

// hidden reports whether a layer above hid name: it, or a parent beneath
// the path, is whited out, or a parent is opaque or not a directory.
func (m *pathMerge) hidden(name string) bool {
	for n := name; n != m.path && n != ""; n = parent(n) {
		if _, ok := m.hideAt[n]; ok {
			return true
		}
		if _, ok := m.hideBelow[n]; ok && n != name {
			return true
		}
	}
	return false
}

// result is the answer once the walk is done or the layers ran out; a
// symbolic link on the way is left for the caller to follow.
func (m *pathMerge) result() Content {
	c := Content{Path: "/" + m.path}
	switch {
	case m.err != nil:
		c.State, c.Reason, c.Err = Unknown, m.err.Error(), m.err
		return c
	case m.header != nil:
		c.UID, c.GID, c.Mode = m.header.uid, m.header.gid, m.header.mode
		switch m.header.kind {
		case kindDir:
			c.Kind = KindDirectory
		case kindFile, kindHardlink:
			c.Kind, c.State, c.Bytes = KindFile, Populated, m.header.size
			return c
		default:
			c.Kind, c.State = KindOther, Populated
			return c
		}
	case m.implied:
		// Created by the unpacker for what lies beneath it.
		c.Kind, c.Implicit, c.Mode = KindDirectory, true, 0o755
	default:
		c.State = Absent
		return c
	}
	c.Entries, c.Bytes, c.State = m.entries, m.bytes, Empty
	for n := range m.parents {
		if _, ok := m.seen[n]; !ok {
			c.Entries++ // a directory the unpacker made for what lies beneath it
		}
	}
	if c.Entries > 0 {
		c.State = Populated
	}
	return c
}

// errUnresolvable: a link the scanner will not follow exactly.
var errUnresolvable = errors.New("symbolic link not followed")
