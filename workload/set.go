package workload

import (
	"errors"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
)

// SetPodSpec writes spec back into obj at path (for mutations: JSON patch
// computation and `check --fix`).
//
// Only what changed is written: the spec is compared with the one decoded
// from obj, and the differences are applied to the object as it was. Fields
// this version of the API does not know (a newer Kubernetes), and the
// zero values encoding would add (`resources: {}`), are kept as written, so
// a patch computed from the result holds only the mutation, and setting an
// unchanged spec leaves obj as it was. Missing objects along path are
// created; a step that is not an object is an error.
func SetPodSpec(obj map[string]any, path []string, spec *corev1.PodSpec) error {
	switch {
	case obj == nil:
		return errors.New("setting pod spec: object is nil")
	case len(path) == 0:
		return errors.New("setting pod spec: path is empty")
	case spec == nil:
		return errors.New("setting pod spec: spec is nil")
	}
	next, err := toUnstructured(spec)
	if err != nil {
		return fmt.Errorf("setting pod spec at %s: encoding: %w", dotted(path), err)
	}
	parent, err := ensureObject(obj, path[:len(path)-1])
	if err != nil {
		return fmt.Errorf("setting pod spec at %s: %w", dotted(path), err)
	}
	key := path[len(path)-1]

	orig, ok := parent[key].(map[string]any)
	var decoded corev1.PodSpec
	if !ok || decodeInto(path, orig, &decoded) != nil {
		// Nothing readable to keep.
		parent[key] = next
		return nil
	}
	base, err := toUnstructured(&decoded)
	if err != nil {
		return fmt.Errorf("setting pod spec at %s: encoding: %w", dotted(path), err)
	}
	parent[key] = mergeChanges(orig, base, next)
	return nil
}

// ensureObject follows path from obj, creating missing or null objects.
func ensureObject(obj map[string]any, path []string) (map[string]any, error) {
	cur := obj
	for i, key := range path {
		switch v := cur[key].(type) {
		case map[string]any:
			cur = v
		case nil:
			m := map[string]any{}
			cur[key] = m
			cur = m
		default:
			return nil, fmt.Errorf("%s: expected an object, got %s", dotted(path[:i+1]), describeValue(jsonKind(v), ""))
		}
	}
	return cur, nil
}

// mergeChanges applies the changes from base to next onto orig, where base is
// orig as this package understands it: keys of orig that base lacks
// (unknown fields) stay, values equal in base and next stay as in orig.
func mergeChanges(orig, base, next any) any {
	if reflect.DeepEqual(base, next) {
		return orig
	}
	switch n := next.(type) {
	case map[string]any:
		b, okBase := base.(map[string]any)
		o, okOrig := orig.(map[string]any)
		if !okBase || !okOrig {
			return next
		}
		out := make(map[string]any, len(o)+len(n))
		for k, v := range o {
			out[k] = v
		}
		for k, nv := range n {
			bv, inBase := b[k]
			ov, inOrig := o[k]
			switch {
			case !inBase:
				out[k] = nv
			case reflect.DeepEqual(bv, nv):
				// unchanged: orig's value, or its absence, stays
			case !inOrig:
				out[k] = nv
			default:
				out[k] = mergeChanges(ov, bv, nv)
			}
		}
		for k := range b {
			if _, ok := n[k]; !ok {
				delete(out, k)
			}
		}
		return out
	case []any:
		b, okBase := base.([]any)
		o, okOrig := orig.([]any)
		if !okBase || !okOrig || len(o) != len(b) {
			return next
		}
		return mergeItems(o, b, n)
	}
	return next
}

// mergeItems merges lists item by item: by name when every item of base and
// next has a distinct one (containers, volumes, env), so removing or
// reordering items keeps what each had; else by position, when next keeps
// base's items in place (a mutation appends volumes and mounts).
func mergeItems(orig, base, next []any) []any {
	baseIndex, baseNamed := nameIndex(base)
	_, nextNamed := nameIndex(next)
	if !baseNamed || !nextNamed {
		if len(next) < len(base) {
			return next
		}
		baseIndex = nil
	}
	out := make([]any, len(next))
	for i, item := range next {
		j, ok := i, i < len(base)
		if baseIndex != nil {
			j, ok = baseIndex[item.(map[string]any)["name"].(string)]
		}
		if ok {
			out[i] = mergeChanges(orig[j], base[j], item)
		} else {
			out[i] = item
		}
	}
	return out
}

// nameIndex maps the names of items to their index, if every item is an
// object with a distinct name.
func nameIndex(items []any) (map[string]int, bool) {
	index := make(map[string]int, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok := m["name"].(string)
		if _, dup := index[name]; !ok || dup {
			return nil, false
		}
		index[name] = i
	}
	return index, true
}
