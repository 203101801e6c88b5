package workload

import (
	"bytes"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"

	"github.com/volumeguard/volumeguard/internal/textpos"
	"github.com/volumeguard/volumeguard/policy"
)

// maxMergeDepth bounds merge keys (`<<: *base`) followed through other
// merges while looking up a key.
const maxMergeDepth = 8

// locateObjects sets where the objects of one document are written: their
// document's range and Helm template, and the positions of their pod specs,
// containers and images. sigs.k8s.io/yaml drops positions, so the document
// is parsed once more with yaml.v3 (which reads JSON too), unless tree
// holds that parse already. A document yaml.v3 cannot read keeps zero
// positions: they help people find things, the objects stand without them.
func locateObjects(objs []Object, doc document, tree *yaml3.Node) {
	template := helmTemplate(doc.data)
	for i := range objs {
		objs[i].DocumentRange = ByteRange{Start: doc.offset, End: doc.offset + int64(len(doc.data))}
		objs[i].Template = template
	}
	if tree == nil {
		tree = parseTree(doc.data)
		if tree == nil {
			return
		}
	}
	p := newPositioner(doc)
	for i := range objs {
		o := &objs[i]
		node := walk(tree, o.Path)
		if node == nil {
			continue
		}
		o.Position = p.at(node)
		for j := range o.PodSpecs {
			ps := &o.PodSpecs[j]
			spec := walk(node, ps.Path)
			if spec == nil {
				continue
			}
			ps.Position = p.at(spec)
			ps.Containers = p.containers(spec)
		}
	}
}

// parseTree parses data with yaml.v3, or returns nil.
func parseTree(data []byte) (root *yaml3.Node) {
	// Third-party code fed untrusted input, like the parsers of yamldoc.go.
	defer func() {
		if recover() != nil {
			root = nil
		}
	}()
	var n yaml3.Node
	if err := yaml3.Unmarshal(data, &n); err != nil {
		return nil
	}
	return &n
}

// positioner turns positions in a document into positions in its file.
type positioner struct {
	doc   document
	index *textpos.Index // nil when YAML and editors count lines alike
}

func newPositioner(doc document) positioner {
	p := positioner{doc: doc}
	if !textpos.OnlyLF(doc.data) {
		p.index = textpos.New(doc.data)
	}
	return p
}

func (p positioner) at(n *yaml3.Node) Position {
	line, column := n.Line, n.Column
	if line < 1 || column < 1 {
		return Position{}
	}
	if p.index != nil {
		off, ok := p.index.Offset(line, column)
		if !ok {
			return Position{}
		}
		line, column = p.index.EditorPosition(off)
	}
	if line == 1 {
		column += p.doc.column
	}
	return Position{Line: p.doc.lineOffset + line, Column: column}
}

// containerLists are a pod spec's container lists, in policy.Containers' order.
var containerLists = [...]struct {
	key string
	t   policy.ContainerType
}{
	{"initContainers", policy.InitContainer},
	{"containers", policy.Container},
	{"ephemeralContainers", policy.EphemeralContainer},
}

func (p positioner) containers(spec *yaml3.Node) []ContainerPosition {
	var out []ContainerPosition
	for _, list := range containerLists {
		seq := resolve(lookupKey(spec, list.key, 0))
		if seq == nil || seq.Kind != yaml3.SequenceNode {
			continue
		}
		for i, item := range seq.Content {
			c := resolve(item)
			if c == nil || c.Kind != yaml3.MappingNode {
				continue
			}
			cp := ContainerPosition{Type: list.t, Index: i, At: p.at(c)}
			if name := resolve(lookupKey(c, "name", 0)); name != nil && name.Kind == yaml3.ScalarNode {
				cp.Name = name.Value
			}
			if image := resolve(lookupKey(c, "image", 0)); image != nil && image.Kind == yaml3.ScalarNode {
				cp.Image = p.at(image)
			}
			out = append(out, cp)
		}
	}
	return out
}

// walk follows path (keys, and "[i]" for list items) from n, through
// aliases and merge keys as sigs.k8s.io/yaml reads them; nil when a step is
// missing.
func walk(n *yaml3.Node, path []string) *yaml3.Node {
	n = resolve(n)
	for _, step := range path {
		if n == nil {
			return nil
		}
		if i, ok := ItemIndex(step); ok {
			if n.Kind != yaml3.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = resolve(n.Content[i])
			continue
		}
		n = resolve(lookupKey(n, step, 0))
	}
	return n
}

// ItemIndex reads a step of Object.Path that is a list item, "[i]".
func ItemIndex(step string) (int, bool) {
	inner, ok := strings.CutPrefix(step, "[")
	if !ok {
		return 0, false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	i, err := strconv.Atoi(inner)
	return i, ok && err == nil && i >= 0
}

// resolve follows aliases, and a document to its content.
func resolve(n *yaml3.Node) *yaml3.Node {
	for range maxMergeDepth {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml3.AliasNode:
			n = n.Alias
		case n.Kind == yaml3.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// lookupKey returns the value of key in mapping m: its own key, the last
// one when repeated (as yaml.v2 decodes it), else the first merged mapping
// that holds it.
func lookupKey(m *yaml3.Node, key string, depth int) *yaml3.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml3.MappingNode || depth > maxMergeDepth {
		return nil
	}
	var found *yaml3.Node
	var merges []*yaml3.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case k.Kind == yaml3.ScalarNode && k.Tag == "!!merge":
			merges = append(merges, m.Content[i+1])
		case k.Kind == yaml3.ScalarNode && k.Value == key:
			found = m.Content[i+1]
		}
	}
	if found != nil {
		return found
	}
	for _, merge := range merges {
		merge = resolve(merge)
		sources := []*yaml3.Node{merge}
		if merge != nil && merge.Kind == yaml3.SequenceNode {
			sources = merge.Content
		}
		for _, src := range sources {
			if v := lookupKey(src, key, depth+1); v != nil {
				return v
			}
		}
	}
	return nil
}

// helmTemplate is the template a `# Source: chart/templates/x.yaml` comment
// names among the comments at the top of a document, as `helm template`
// writes them.
func helmTemplate(data []byte) string {
	for len(data) > 0 {
		line := data
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			line, data = data[:nl], data[nl+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '#' {
			return ""
		}
		if src, ok := bytes.CutPrefix(line, []byte("# Source: ")); ok {
			return strings.TrimSpace(string(src))
		}
	}
	return ""
}
