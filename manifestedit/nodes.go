package manifestedit

import (
	"strings"

	yaml3 "go.yaml.in/yaml/v3"

	"github.com/volumeguard/volumeguard/workload"
)

// find follows path (keys, and "[i]" for list items) from the document's
// root to a node that can be edited: not reached through an alias, which
// other places share.
func (d *document) find(path []string) (*yaml3.Node, error) {
	n := d.root
	if n.Kind == yaml3.DocumentNode {
		if len(n.Content) == 0 {
			return nil, notEditable("the document is empty")
		}
		n = n.Content[0]
	}
	for i, step := range path {
		if err := d.unshared(n, strings.Join(path[:i], ".")); err != nil {
			return nil, err
		}
		if n.Kind == yaml3.AliasNode {
			return nil, notEditable("%s is an alias of an anchor that other places may share", strings.Join(path[:i], "."))
		}
		if idx, ok := workload.ItemIndex(step); ok {
			if n.Kind != yaml3.SequenceNode || idx >= len(n.Content) {
				return nil, notEditable("no %s at %s", step, strings.Join(path[:i], "."))
			}
			n = n.Content[idx]
			continue
		}
		_, v, err := d.ownKey(n, step)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, notEditable("no %s at %s", step, strings.Join(path[:i], "."))
		}
		n = v
	}
	if n.Kind == yaml3.AliasNode {
		return nil, notEditable("%s is an alias of an anchor that other places may share", strings.Join(path, "."))
	}
	return n, d.unshared(n, strings.Join(path, "."))
}

// unshared fails for a node that an alias repeats elsewhere: what is added
// to it would appear there too.
func (d *document) unshared(n *yaml3.Node, what string) error {
	if n != nil && d.aliased[n] {
		if what == "" {
			what = "the object"
		}
		return notEditable("%s is shared through the YAML anchor &%s: what fix adds would appear where it is repeated too; fix it where the anchor is", what, n.Anchor)
	}
	return nil
}

// ownKey returns the key and value nodes of key in mapping m, nil when m
// does not hold it. A key repeated, or one that a merge key (`<<: *base`)
// supplies, cannot be edited in place: adding it to m would override the
// merged value rather than extend it.
func (d *document) ownKey(m *yaml3.Node, key string) (k, v *yaml3.Node, err error) {
	if m.Kind != yaml3.MappingNode {
		return nil, nil, notEditable("expected a mapping holding %s", key)
	}
	var merged bool
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn := m.Content[i]
		switch {
		case kn.Kind == yaml3.ScalarNode && kn.Tag == "!!merge":
			merged = merged || mergedHas(m.Content[i+1], key, 0)
		case kn.Kind == yaml3.ScalarNode && kn.Value == key:
			if k != nil {
				return nil, nil, notEditable("%s is repeated", key)
			}
			k, v = kn, m.Content[i+1]
		}
	}
	if k == nil && merged {
		return nil, nil, notEditable("%s comes from a merge key (<<)", key)
	}
	return k, v, nil
}

// maxMergeDepth bounds merges followed through merges.
const maxMergeDepth = 8

func mergedHas(n *yaml3.Node, key string, depth int) bool {
	if depth > maxMergeDepth || n == nil {
		return false
	}
	if n.Kind == yaml3.AliasNode {
		n = n.Alias
	}
	switch {
	case n == nil:
		return false
	case n.Kind == yaml3.SequenceNode:
		for _, c := range n.Content {
			if mergedHas(c, key, depth+1) {
				return true
			}
		}
	case n.Kind == yaml3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == key || (k.Tag == "!!merge" && mergedHas(n.Content[i+1], key, depth+1)) {
				return true
			}
		}
	}
	return false
}

// lookup is the value of key in mapping m, or nil.
func lookup(m *yaml3.Node, key string) *yaml3.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarValue(n *yaml3.Node) string {
	if n != nil && n.Kind == yaml3.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml3.ScalarNode {
		return ""
	}
	return n.Value
}

func isFlow(n *yaml3.Node) bool { return n.Style&yaml3.FlowStyle != 0 }
