package manifestedit

import (
	"fmt"
	"slices"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"

	"github.com/volumeguard/volumeguard/internal/textpos"
)

// Mount is one emptyDir volume to add to a pod spec, mounted in one of its
// containers.
type Mount struct {
	// List is the container's list in the pod spec: "containers" or
	// "initContainers".
	List string
	// Container is the container's name; the first of that name in List.
	Container  string
	VolumeName string
	MountPath  string
	// SizeLimit is the emptyDir's sizeLimit, a quantity such as "1Gi".
	SizeLimit string
}

// SpecEdit adds mounts to one pod spec of a document.
type SpecEdit struct {
	// ObjectPath is where the object is in its document, as
	// workload.Object.Path: nil, or ["items", "[2]"].
	ObjectPath []string
	// SpecPath is where the pod spec is in the object, as
	// workload.PodSpec.Path: ["spec", "template", "spec"].
	SpecPath []string
	Mounts   []Mount
}

// Change is one edit of a document's bytes: at Offset, Deleted bytes were
// removed and Inserted put in their place.
type Change struct {
	Offset   int
	Deleted  int
	Inserted string
}

// NotEditableError says why a document cannot be edited in place.
type NotEditableError struct {
	Reason string
}

func (e *NotEditableError) Error() string { return "cannot edit in place: " + e.Reason }

func notEditable(format string, args ...any) error {
	return &NotEditableError{Reason: fmt.Sprintf(format, args...)}
}

// Edit returns doc, one YAML or JSON document, with the volumes and
// volumeMounts of edits added, and the changes made, in order of offset.
// The error is a *NotEditableError.
func Edit(doc []byte, edits []SpecEdit) (out []byte, changes []Change, err error) {
	// Documents are untrusted input: a case the editor misjudges costs
	// this document its edit, never the run.
	defer func() {
		if r := recover(); r != nil {
			out, changes, err = nil, nil, notEditable("editing the document: %v", r)
		}
	}()
	d, err := parse(doc)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range edits {
		if err := d.plan(e); err != nil {
			return nil, nil, err
		}
	}
	if len(d.changes) == 0 {
		return doc, nil, nil
	}
	out, changes, err = d.apply()
	if err != nil {
		return nil, nil, err
	}
	if err := verify(doc, out, edits); err != nil {
		return nil, nil, err
	}
	return out, changes, nil
}

// document is one document being edited.
type document struct {
	data    []byte
	json    bool
	root    *yaml3.Node
	index   *textpos.Index
	style   style
	nodes   []*yaml3.Node        // every node, in document order
	order   map[*yaml3.Node]int  // node -> its index in nodes
	subtree map[*yaml3.Node]int  // node -> index of the last node of its subtree
	aliased map[*yaml3.Node]bool // nodes that aliases refer to
	changes []Change             // in the order planned
}

func parse(data []byte) (d *document, err error) {
	// yaml.v3 is third-party code fed untrusted input.
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, notEditable("parsing the document: parser panicked: %v", r)
		}
	}()
	var root yaml3.Node
	if err := yaml3.Unmarshal(data, &root); err != nil {
		return nil, notEditable("parsing the document: %v", err)
	}
	d = &document{data: data, json: isJSON(data), root: &root, index: textpos.New(data),
		order: map[*yaml3.Node]int{}, subtree: map[*yaml3.Node]int{}, aliased: map[*yaml3.Node]bool{}}
	d.number(&root)
	d.style = detectStyle(d)
	return d, nil
}

// number lists the nodes in document order, with where each subtree ends.
func (d *document) number(n *yaml3.Node) {
	d.order[n] = len(d.nodes)
	d.nodes = append(d.nodes, n)
	if n.Kind == yaml3.AliasNode && n.Alias != nil {
		d.aliased[n.Alias] = true
	}
	for _, c := range n.Content {
		d.number(c)
	}
	d.subtree[n] = len(d.nodes) - 1
}

// plan adds the changes of one spec edit.
func (d *document) plan(e SpecEdit) error {
	if len(e.Mounts) == 0 {
		return nil
	}
	spec, err := d.find(slices.Concat(e.ObjectPath, e.SpecPath))
	if err != nil {
		return err
	}
	if spec.Kind != yaml3.MappingNode {
		return notEditable("the pod spec at %s is not a mapping", strings.Join(e.SpecPath, "."))
	}
	// Mounts per container, in the order first named.
	type key struct{ list, name string }
	var containers []key
	byContainer := map[key][]entry{}
	var volumes []entry
	for _, m := range e.Mounts {
		k := key{m.List, m.Container}
		if _, ok := byContainer[k]; !ok {
			containers = append(containers, k)
		}
		byContainer[k] = append(byContainer[k], mountEntry(m))
		volumes = append(volumes, volumeEntry(m))
	}
	// A container's lines go before the spec's `volumes:` when both land
	// after the same line: planned first, inserted first.
	for _, k := range containers {
		c, err := d.container(spec, k.list, k.name)
		if err != nil {
			return err
		}
		if err := d.addItems(c, "volumeMounts", byContainer[k]); err != nil {
			return fmt.Errorf("container %q: %w", k.name, err)
		}
	}
	return d.addItems(spec, "volumes", volumes)
}

// container finds the first container named name in the spec's list.
func (d *document) container(spec *yaml3.Node, list, name string) (*yaml3.Node, error) {
	_, seq, err := d.ownKey(spec, list)
	if err != nil {
		return nil, err
	}
	if seq != nil && seq.Kind == yaml3.AliasNode {
		return nil, notEditable("%s is an alias (*%s) of a list that other places share: fix it where the anchor is", list, seq.Value)
	}
	if err := d.unshared(seq, list); err != nil {
		return nil, err
	}
	if seq == nil || seq.Kind != yaml3.SequenceNode {
		return nil, notEditable("the pod spec has no %s list", list)
	}
	for _, item := range seq.Content {
		if item.Kind == yaml3.AliasNode {
			if target := item.Alias; target != nil && target.Kind == yaml3.MappingNode && scalarValue(lookup(target, "name")) == name {
				return nil, notEditable("container %q is an alias of an anchor that other places may share", name)
			}
			continue
		}
		if item.Kind == yaml3.MappingNode && scalarValue(lookup(item, "name")) == name {
			return item, d.unshared(item, "container "+jsonString(name))
		}
	}
	return nil, notEditable("no container named %q in %s", name, list)
}

// addItems appends items to the list under key in mapping m, adding the
// key when it is missing, null or an empty list.
func (d *document) addItems(m *yaml3.Node, key string, items []entry) error {
	k, v, err := d.ownKey(m, key)
	if err != nil {
		return err
	}
	if v != nil && v.Kind == yaml3.AliasNode {
		return notEditable("%s is an alias (*%s) of a list that other places share: fix it where the anchor is", key, v.Value)
	}
	if err := d.unshared(v, key); err != nil {
		return err
	}
	switch {
	case v == nil:
		return d.addKey(m, key, items)
	case v.Kind == yaml3.SequenceNode && len(v.Content) > 0 && isFlow(v):
		return d.flowAppend(v, items)
	case v.Kind == yaml3.SequenceNode && len(v.Content) > 0:
		return d.blockAppend(v, items)
	case v.Kind == yaml3.SequenceNode, v.Kind == yaml3.ScalarNode && v.Tag == "!!null":
		return d.fillEmpty(m, k, v, items)
	}
	return notEditable("%s is not a list", key)
}

// insert plans text at offset, removing deleted bytes there.
func (d *document) insert(offset, deleted int, text string) {
	d.changes = append(d.changes, Change{Offset: offset, Deleted: deleted, Inserted: text})
}

// apply makes the planned changes. Changes at one offset keep the order in
// which they were planned.
func (d *document) apply() ([]byte, []Change, error) {
	changes := slices.Clone(d.changes)
	slices.SortStableFunc(changes, func(a, b Change) int { return a.Offset - b.Offset })
	var out []byte
	at := 0
	for _, c := range changes {
		if c.Offset < at || c.Offset+c.Deleted > len(d.data) {
			return nil, nil, notEditable("two changes overlap")
		}
		out = append(out, d.data[at:c.Offset]...)
		out = append(out, c.Inserted...)
		at = c.Offset + c.Deleted
	}
	out = append(out, d.data[at:]...)
	return out, changes, nil
}
