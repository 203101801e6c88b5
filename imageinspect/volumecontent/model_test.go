package volumecontent

import (
	"path"
	"strings"
)

// unionModel is the reference the scanner is checked against: it applies
// layers base first, one entry after another, as containerd's unpacker
// does, to a map of the whole filesystem. ok turns false on what the model
// does not follow (a write through a link, a whiteout of a link's
// contents, a hard link at an asked path): those inputs are not compared.
type unionModel struct {
	fs map[string]entry
	ok bool
}

func newUnionModel() *unionModel { return &unionModel{fs: map[string]entry{}, ok: true} }

func (u *unionModel) removeAll(name string) {
	for n := range u.fs {
		if atOrBeneath(n, name) && n != "" {
			delete(u.fs, n)
		}
	}
}

// apply adds one layer's entries, as the OCI image spec defines it:
// whiteouts and opaque markers act on what the layers below left, so they
// go first; then every header's parents are made (as the unpacker makes
// them, 0755 root), and the real entries replace what they name.
func (u *unionModel) apply(entries []entry) {
	for _, e := range entries {
		if !u.parentsAreDirectories(e.name) {
			return
		}
		switch e.kind {
		case kindWhiteout:
			u.removeAll(e.name)
		case kindOpaque:
			for n := range u.fs {
				if atOrBeneath(n, e.name) && n != e.name {
					delete(u.fs, n)
				}
			}
		}
	}
	for _, e := range entries {
		if !u.parentsAreDirectories(e.name) {
			return
		}
		dir := parent(e.name)
		if e.kind == kindOpaque {
			dir = e.name // the marker lies inside it
		}
		for a := dir; a != ""; a = parent(a) {
			old, ok := u.fs[a]
			if !ok {
				u.fs[a] = entry{name: a, kind: kindDir, mode: 0o755}
			} else if old.kind != kindDir {
				u.ok = false // the unpacker fails (ENOTDIR) or writes through a link
				return
			}
		}
		if !e.kind.real() {
			continue
		}
		if e.name == "" { // "./": the root's own owner and mode
			u.fs[""] = e
			continue
		}
		if old, ok := u.fs[e.name]; ok && !(old.kind == kindDir && e.kind == kindDir) {
			u.removeAll(e.name)
		}
		u.fs[e.name] = e
	}
}

// parentsAreDirectories reports whether every parent of name is a
// directory or missing; otherwise the unpacker would write through a link
// (or fail), which the model does not follow.
func (u *unionModel) parentsAreDirectories(name string) bool {
	for a := parent(name); a != ""; a = parent(a) {
		if e, ok := u.fs[a]; ok && e.kind != kindDir {
			u.ok = false
			return false
		}
	}
	return true
}

// answer says what the merged filesystem holds at p, following links as
// the runtime does.
func (u *unionModel) answer(p string) (Content, bool) {
	c := Content{Path: "/" + p}
	resolved, linkTarget, ok := u.resolve(p)
	if !ok {
		return c, false
	}
	c.LinkTarget = linkTarget
	if resolved != p {
		c.ResolvedPath = "/" + resolved
	}
	e, exists := u.fs[resolved]
	if resolved == "" && !exists {
		e, exists = entry{kind: kindDir, mode: 0o755}, len(u.fs) > 0
	}
	switch {
	case !exists:
		c.State = Absent
		return c, true
	case e.kind == kindHardlink:
		return c, false
	case e.kind == kindFile:
		c.State, c.Kind, c.Bytes = Populated, KindFile, e.size
	case e.kind == kindOther:
		c.State, c.Kind = Populated, KindOther
	default:
		c.Kind, c.State = KindDirectory, Empty
		for n, b := range u.fs {
			if n != resolved && atOrBeneath(n, resolved) {
				c.Entries++
				if b.kind == kindFile {
					c.Bytes += b.size
				}
			}
		}
		if c.Entries > 0 {
			c.State = Populated
		}
	}
	c.UID, c.GID, c.Mode = e.uid, e.gid, e.mode
	return c, true
}

// resolve follows links in p, one component at a time, inside the root.
func (u *unionModel) resolve(p string) (resolved, linkTarget string, ok bool) {
	done, rest := "", strings.Split(p, "/")
	if p == "" {
		rest = nil
	}
	for hops := 0; len(rest) > 0; {
		next := path.Join(done, rest[0])
		e, exists := u.fs[next]
		if !exists || e.kind != kindSymlink {
			done, rest = next, rest[1:]
			continue
		}
		if hops++; hops > maxLinks {
			return "", "", false
		}
		if next == p {
			linkTarget = e.link
		}
		if strings.HasPrefix(e.link, "/") {
			done = ""
		}
		var parts []string
		for _, part := range strings.Split(e.link, "/") {
			if part != "" && part != "." {
				parts = append(parts, part)
			}
		}
		for len(parts) > 0 && parts[0] == ".." {
			done, parts = parent(done), parts[1:]
		}
		for _, part := range parts {
			if part == ".." {
				return "", "", false // the scanner refuses these; nothing to compare
			}
		}
		rest = append(parts, rest[1:]...)
	}
	return done, linkTarget, true
}
