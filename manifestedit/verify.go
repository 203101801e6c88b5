package manifestedit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/volumeguard/volumeguard/workload"
)

// verify checks that edited means what orig means plus the additions of
// edits, read as kubectl reads YAML (sigs.k8s.io/yaml), and that yaml.v3
// reads it too, so that a second run can edit it again.
func verify(orig, edited []byte, edits []SpecEdit) error {
	want, err := decode(orig)
	if err != nil {
		return notEditable("reading the document: %v", err)
	}
	for _, e := range edits {
		if err := expect(want, e); err != nil {
			return err
		}
	}
	got, err := decode(edited)
	if err != nil {
		return notEditable("the edited document does not parse: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		return notEditable("the edit would change more than the volumes and volumeMounts")
	}
	var n yaml3.Node
	if err := yaml3.Unmarshal(edited, &n); err != nil {
		return notEditable("the edited document does not parse: %v", err)
	}
	return nil
}

func decode(data []byte) (any, error) {
	if !isJSON(data) {
		var err error
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return nil, err
		}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// isJSON reports whether a document is a JSON value.
func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// expect adds to v, a decoded document, what edit e adds.
func expect(v any, e SpecEdit) error {
	spec, ok := walkValue(v, slices.Concat(e.ObjectPath, e.SpecPath)).(map[string]any)
	if !ok {
		return notEditable("the pod spec is not a mapping")
	}
	for _, m := range e.Mounts {
		list, _ := spec[m.List].([]any)
		var container map[string]any
		for _, c := range list {
			if c, ok := c.(map[string]any); ok && c["name"] == m.Container {
				container = c
				break
			}
		}
		if container == nil {
			return notEditable("no container named %q in %s", m.Container, m.List)
		}
		container["volumeMounts"] = appendValue(container["volumeMounts"], map[string]any{"name": m.VolumeName, "mountPath": m.MountPath})
		spec["volumes"] = appendValue(spec["volumes"], map[string]any{"name": m.VolumeName, "emptyDir": map[string]any{"sizeLimit": m.SizeLimit}})
	}
	return nil
}

func appendValue(list any, item any) []any {
	l, _ := list.([]any)
	return append(l, item)
}

func walkValue(v any, path []string) any {
	for _, step := range path {
		if i, ok := workload.ItemIndex(step); ok {
			l, _ := v.([]any)
			if i >= len(l) {
				return nil
			}
			v = l[i]
			continue
		}
		m, _ := v.(map[string]any)
		v = m[step]
	}
	return v
}
