package volumecontent

import "fmt"

// What ends a path's walk early, or makes it Unknown: a layer that replaces
// the path or a parent with a non-directory, and layers that disagree on
// whether a name is a directory.

// touched reports whether a layer above put anything at or beneath
// ancestors[i]'s child on the way to the path.
func (m *pathMerge) touched(i int) bool {
	if m.header != nil || m.implied {
		return true
	}
	for _, d := range m.dirAnc[i+1:] {
		if d {
			return true
		}
	}
	return false
}

// nonDirectoryParent: the highest entry for parent ancestors[i] is not a
// directory. A symbolic link leads elsewhere; anything else means the path
// cannot exist.
func (m *pathMerge) nonDirectoryParent(i int, e entry) {
	if m.touched(i) {
		// The unpacker would have written the upper layer through the link
		// (or failed on the file): an answer would be a guess.
		m.fail(writesThrough(e))
		return
	}
	if e.kind == kindSymlink {
		m.linkAt, m.linkTarget = e.name, e.link
	}
	m.done = true
}

// nonDirectoryPath: the highest entry for the path itself is a file, link
// or device.
func (m *pathMerge) nonDirectoryPath(x *layerIndex, e entry) {
	m.done = true
	if m.implied {
		m.fail(writesThrough(e))
		return
	}
	switch e.kind {
	case kindSymlink:
		m.linkAt, m.linkTarget = e.name, e.link
		return
	case kindHardlink:
		// A hard link is the file it links to, which an earlier header of
		// the same layer names.
		if t, err := cleanName(e.link); err == nil {
			for _, f := range x.at(t) {
				if f.kind == kindFile {
					e.size, e.uid, e.gid, e.mode = f.size, f.uid, f.gid, f.mode
				}
			}
		}
	}
	m.header = &e
}

// findHeaderBelow looks for the path's own directory entry after an
// opaque marker without one: the unpacker kept the directory the layers
// below had, unless they removed or replaced it.
func (m *pathMerge) findHeaderBelow(x *layerIndex) {
	hidesBelow := false
	for i, a := range m.ancestors {
		for _, e := range x.at(a) {
			switch {
			case e.kind == kindDir:
				m.dirAnc[i] = true
			case e.kind == kindWhiteout || e.kind == kindOpaque:
				hidesBelow = true // this layer may still hold the entry
			case m.dirAnc[i]:
				m.done = true // replaced above, with all beneath it
				return
			default:
				m.fail(writesThrough(e))
				return
			}
		}
	}
	for _, e := range x.at(m.path) {
		switch e.kind {
		case kindDir:
			h := e
			m.header, m.done = &h, true
		case kindWhiteout:
			hidesBelow = true
		case kindOpaque:
		default:
			// The opaque marker above needs a directory here: the unpacker
			// fails on this file, or writes through this link.
			m.fail(writesThrough(e))
			return
		}
	}
	if hidesBelow {
		m.done = true
	}
}

// writesThrough: a layer above puts entries beneath e's name, which e (a
// lower layer's file or link) is not a directory for. The unpacker writes
// them through the link, or fails on the file; no answer would be faithful.
func writesThrough(e entry) error {
	return fmt.Errorf("%w: a layer writes beneath %q, which a lower layer makes a %s", ErrHostileLayer, "/"+e.name, kindName(e.kind))
}
