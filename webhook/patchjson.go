package webhook

import (
	"encoding/json"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// encodePatch encodes ops as jsonpatch.Operation.MarshalJSON does, byte for
// byte, once per answer. A mutated answer used to marshal its patch twice
// (the size check, then admission.Response.Complete), through reflection
// over corev1.Volume's hundred optional fields: a quarter of the CPU of a
// mutated admission (docs/benchmarks.md). The values policy.Mutate appends
// (emptyDir volumes, plain mounts) are written directly; any other value
// goes through encoding/json, so the output never depends on the shortcut.
func encodePatch(ops []jsonpatch.Operation) ([]byte, error) {
	buf := make([]byte, 0, 160*len(ops))
	buf = append(buf, '[')
	for i, op := range ops {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"op":`...)
		buf = appendJSONString(buf, op.Operation)
		buf = append(buf, `,"path":`...)
		buf = appendJSONString(buf, op.Path)
		if op.Value == nil && op.Operation != "add" && op.Operation != "replace" {
			buf = append(buf, '}')
			continue
		}
		buf = append(buf, `,"value":`...)
		var err error
		if buf, err = appendPatchValue(buf, op.Value); err != nil {
			return nil, err
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

func appendPatchValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case corev1.VolumeMount:
		if b, ok := appendVolumeMount(buf, &v); ok {
			return b, nil
		}
	case corev1.Volume:
		if b, ok := appendEmptyDirVolume(buf, &v); ok {
			return b, nil
		}
	case []corev1.Volume:
		if b, ok := appendJSONArray(buf, v, appendEmptyDirVolume); ok {
			return b, nil
		}
	case []corev1.VolumeMount:
		if b, ok := appendJSONArray(buf, v, appendVolumeMount); ok {
			return b, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendVolumeMount writes m in corev1.VolumeMount's field order, unless m
// uses a pointer or list field, left to encoding/json.
func appendVolumeMount(buf []byte, m *corev1.VolumeMount) ([]byte, bool) {
	if m.RecursiveReadOnly != nil || m.MountPropagation != nil || m.BindMountOptions != nil {
		return buf, false
	}
	buf = append(buf, `{"name":`...)
	buf = appendJSONString(buf, m.Name)
	if m.ReadOnly {
		buf = append(buf, `,"readOnly":true`...)
	}
	buf = append(buf, `,"mountPath":`...)
	buf = appendJSONString(buf, m.MountPath)
	if m.SubPath != "" {
		buf = append(buf, `,"subPath":`...)
		buf = appendJSONString(buf, m.SubPath)
	}
	if m.SubPathExpr != "" {
		buf = append(buf, `,"subPathExpr":`...)
		buf = appendJSONString(buf, m.SubPathExpr)
	}
	return append(buf, '}'), true
}

// appendEmptyDirVolume writes v when its only source is an emptyDir, as
// policy.Mutate makes them.
func appendEmptyDirVolume(buf []byte, v *corev1.Volume) ([]byte, bool) {
	ed := v.EmptyDir
	if ed == nil || v.VolumeSource != (corev1.VolumeSource{EmptyDir: ed}) {
		return buf, false
	}
	buf = append(buf, `{"name":`...)
	buf = appendJSONString(buf, v.Name)
	buf = append(buf, `,"emptyDir":{`...)
	sep := ""
	if ed.Medium != "" {
		buf = append(buf, `"medium":`...)
		buf = appendJSONString(buf, string(ed.Medium))
		sep = ","
	}
	if ed.SizeLimit != nil {
		// Quantity's canonical form is plain ASCII ("1Gi", "500M").
		buf = append(buf, sep+`"sizeLimit":`...)
		buf = appendJSONString(buf, ed.SizeLimit.String())
	}
	return append(buf, "}}"...), true
}

// appendJSONArray writes xs as a JSON array, each element by appendOne; false
// (and buf as it was) when an element is not one appendOne writes, or xs is
// nil (null, left to encoding/json).
func appendJSONArray[T any](buf []byte, xs []T, appendOne func([]byte, *T) ([]byte, bool)) ([]byte, bool) {
	if xs == nil {
		return buf, false
	}
	start := len(buf)
	buf = append(buf, '[')
	for i := range xs {
		if i > 0 {
			buf = append(buf, ',')
		}
		var ok bool
		if buf, ok = appendOne(buf, &xs[i]); !ok {
			return buf[:start], false
		}
	}
	return append(buf, ']'), true
}

// appendJSONString appends s as encoding/json writes it. Printable ASCII
// is copied, with quotes and backslashes escaped (warnings quote names);
// strings with anything else encoding/json escapes (control characters,
// <, >, &, non-ASCII) are left to encoding/json itself.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		buf = append(buf, s[:i]...)
		buf = append(buf, '\\', s[i])
		s = s[i+1:]
	}
	buf = append(buf, s...)
	return append(buf, '"')
}
