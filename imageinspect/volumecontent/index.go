package volumecontent

import (
	"sort"
	"strings"
)

// entryKind is what a tar entry does to the union of layers.
type entryKind uint8

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
	kindHardlink
	kindOther    // device, fifo
	kindWhiteout // removes name, and all beneath it, from the layers below
	kindOpaque   // hides what the layers below hold beneath the directory name
)

func (k entryKind) real() bool { return k <= kindOther }

// entry is what is kept of one tar header: no contents, ever.
type entry struct {
	name     string // clean, relative to the root, no leading slash; "" is the root
	link     string // symlink or hard link target, as stored
	size     int64
	uid, gid int64
	mode     uint32 // permission bits with setuid, setgid, sticky
	kind     entryKind
}

// entryOverhead approximates an entry's memory beyond its strings: the
// struct in its slice plus the string headers' share of allocation slack.
const entryOverhead = 80

func (e *entry) cost() int64 { return entryOverhead + int64(len(e.name)+len(e.link)) }

// layerIndex is a layer's table of contents, sorted by name, built from
// one read of its tar headers. A complete index answers any path; a layer
// whose table does not fit in memory keeps only what concerns the paths
// it was read for (scope), and is read again for others.
type layerIndex struct {
	entries []entry
	scope   []string // nil: complete
	bytes   int64    // estimated memory
	headers int64    // tar headers read
}

// covers reports whether the index can answer for every path: it is
// complete, or each path lies at or beneath one it was read for.
func (x *layerIndex) covers(paths []string) bool {
	if x.scope == nil {
		return true
	}
	for _, p := range paths {
		if !underAny(p, x.scope) {
			return false
		}
	}
	return true
}

func underAny(p string, scope []string) bool {
	for _, s := range scope {
		if atOrBeneath(p, s) {
			return true
		}
	}
	return false
}

// at returns the entries named exactly name (a real entry, a whiteout and
// an opaque marker may share a name).
func (x *layerIndex) at(name string) []entry {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].name >= name })
	j := i
	for j < len(x.entries) && x.entries[j].name == name {
		j++
	}
	return x.entries[i:j]
}

// beneath returns the entries strictly beneath name, contiguous in the
// sorted table since they share the prefix name+"/".
func (x *layerIndex) beneath(name string) []entry {
	if name == "" {
		i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].name > "" })
		return x.entries[i:]
	}
	prefix := name + "/"
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].name >= prefix })
	rest := x.entries[i:]
	j := sort.Search(len(rest), func(j int) bool { return !strings.HasPrefix(rest[j].name, prefix) })
	return rest[:j]
}

// relevant reports whether an entry named name can matter to the answer
// for any path in scope: it is the path, one of its parents, or beneath it.
func relevant(name string, scope []string) bool {
	for _, p := range scope {
		if atOrBeneath(name, p) || atOrBeneath(p, name) {
			return true
		}
	}
	return false
}

// atOrBeneath reports whether p is base or lies beneath it; "" is the root.
func atOrBeneath(p, base string) bool {
	if base == "" || p == base {
		return true
	}
	return len(p) > len(base) && p[len(base)] == '/' && strings.HasPrefix(p, base)
}

// parent returns the directory holding name: "a/b" -> "a", "a" -> "".
func parent(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

// finish sorts the table and drops what a later header with the same name
// overrode: the unpacker replaces an entry with the last one of its name
// in the layer, so only the last real entry of a name counts.
func (x *layerIndex) finish() {
	sort.SliceStable(x.entries, func(i, j int) bool { return x.entries[i].name < x.entries[j].name })
	out := x.entries[:0]
	for i := 0; i < len(x.entries); {
		j := i
		for j < len(x.entries) && x.entries[j].name == x.entries[i].name {
			j++
		}
		// Copies, not pointers: appending to out overwrites this group.
		var kept [3]entry
		var has [3]bool
		for k := i; k < j; k++ {
			slot := 0 // the last real entry
			switch x.entries[k].kind {
			case kindWhiteout:
				slot = 1
			case kindOpaque:
				slot = 2
			}
			kept[slot], has[slot] = x.entries[k], true
		}
		for s := range kept {
			if has[s] {
				out = append(out, kept[s])
			}
		}
		i = j
	}
	clear(x.entries[len(out):])
	x.entries = out
	x.bytes = 0
	for i := range x.entries {
		x.bytes += x.entries[i].cost()
	}
}

// narrow drops the entries that do not concern scope.
func (x *layerIndex) narrow(scope []string) {
	if scope == nil {
		scope = []string{} // still narrowed: nil means complete
	}
	out := x.entries[:0]
	var bytes int64
	for _, e := range x.entries {
		if relevant(e.name, scope) {
			out = append(out, e)
			bytes += e.cost()
		}
	}
	clear(x.entries[len(out):])
	x.entries, x.bytes, x.scope = out, bytes, scope
}
