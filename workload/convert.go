package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// decodeInto converts an unstructured value at path into out, a pointer to
// an API type. Decoding is the API server's: case-sensitive field names,
// unknown fields ignored (newer Kubernetes fields must not break us), a wrong
// type is an error naming where it is.
func decodeInto(path []string, v any, out any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encoding: %w", dotted(path), err)
	}
	if err := utiljson.Unmarshal(data, out); err != nil {
		return describeDecodeError(path, v, data, out, err)
	}
	return nil
}

// describeDecodeError turns a decoding error into "<path>: expected a list,
// got string". The API server's decoder hides its error type, so the
// standard library decodes again to say which field and which types.
func describeDecodeError(path []string, v any, data []byte, out any, err error) error {
	fresh := reflect.New(reflect.TypeOf(out).Elem()).Interface()
	var typeErr *json.UnmarshalTypeError
	if !errors.As(json.Unmarshal(data, fresh), &typeErr) || typeErr.Type == nil {
		return fmt.Errorf("%s: %w", dotted(path), err)
	}
	got, literal, _ := strings.Cut(typeErr.Value, " ")
	where := slices.Clone(path)
	if at, ok := locate(v, fieldSegments(typeErr.Field), got, literal); ok {
		where = append(where, at...)
	} else {
		where = append(where, fieldSegments(typeErr.Field)...)
	}
	return fmt.Errorf("%s: expected %s, got %s", dotted(where), describeType(typeErr.Type), describeValue(got, literal))
}

// describeValue names the JSON kinds of encoding/json's errors for people.
func describeValue(kind, literal string) string {
	if literal != "" {
		return literal
	}
	switch kind {
	case "bool":
		return "boolean"
	case "array":
		return "list"
	}
	return kind
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// fieldSegments splits encoding/json's dotted field path, dropping the Go
// names of embedded structs (ProbeHandler, VolumeSource): JSON names of the
// Kubernetes API start with a lower-case letter.
func fieldSegments(field string) []string {
	var segs []string
	for _, s := range strings.Split(field, ".") {
		if s != "" && !(s[0] >= 'A' && s[0] <= 'Z') {
			segs = append(segs, s)
		}
	}
	return segs
}

// locate finds the value a type error is about, to add the list indexes and
// map keys that encoding/json leaves out: the first value, in the order
// encoding/json met them (lists in order, map keys sorted), along segs and
// of JSON kind got (and text literal, when the error gives it).
func locate(v any, segs []string, got, literal string) ([]string, bool) {
	if len(segs) == 0 {
		if matchesKind(v, got, literal) {
			return nil, true
		}
		// The error may be about an element of the value: a map's value or
		// a list's item (labels: {a: 5}, command: [5]).
		switch v := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(v) {
				if matchesKind(v[k], got, literal) {
					return []string{k}, true
				}
			}
		case []any:
			for i, item := range v {
				if matchesKind(item, got, literal) {
					return []string{"[" + strconv.Itoa(i) + "]"}, true
				}
			}
		}
		return nil, false
	}
	switch v := v.(type) {
	case map[string]any:
		child, ok := v[segs[0]]
		if !ok {
			return nil, false
		}
		rest, ok := locate(child, segs[1:], got, literal)
		if !ok {
			return nil, false
		}
		return append([]string{segs[0]}, rest...), true
	case []any:
		for i, item := range v {
			if rest, ok := locate(item, segs, got, literal); ok {
				return append([]string{"[" + strconv.Itoa(i) + "]"}, rest...), true
			}
		}
	}
	return nil, false
}

func matchesKind(v any, kind, literal string) bool {
	if jsonKind(v) != kind {
		return false
	}
	if literal == "" {
		return true
	}
	text, err := json.Marshal(v)
	return err == nil && string(text) == literal
}

// jsonKind names v's kind as encoding/json's errors do.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "number"
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dotted renders a path as spec.template.spec.containers[0].image.
func dotted(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if b.Len() > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
