package workload

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yaml3 "go.yaml.in/yaml/v3"
)

// treeValue converts yaml.v3's tree of a document into the value kubectl
// decodes from it (sigs.k8s.io/yaml: yaml.v2's YAML 1.1, then JSON, then
// apimachinery's JSON with int64s), so that a document is parsed once for
// both its value and its positions. It covers the YAML manifests are made
// of: mappings with string keys, sequences, and scalars resolved as yaml.v2
// resolves them. ok is false for the rest (aliases, merge keys, keys that
// are not strings or repeat, strings that are not UTF-8, numbers JSON cannot
// hold): the caller decodes those with sigs.k8s.io/yaml itself. Explicit
// tags leave no mark in the tree, so the caller sends a document with a '!'
// that way too, and so does it with one with a tab: the parsers disagree
// on tabs where YAML forbids them (FuzzTreeValueMatchesKubectl found one).
// An empty document (comments, or nothing) is left to sigs.k8s.io/yaml as
// well, which rejects some that yaml.v3 reads as empty.
func treeValue(root *yaml3.Node) (v any, ok bool) {
	if root.Kind == 0 {
		return nil, false
	}
	return nodeValue(root)
}

func nodeValue(n *yaml3.Node) (any, bool) {
	switch n.Kind {
	case yaml3.DocumentNode:
		if len(n.Content) != 1 {
			return nil, false
		}
		return nodeValue(n.Content[0])
	case yaml3.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, ok := keyString(n.Content[i])
			if !ok {
				return nil, false
			}
			if _, repeated := m[key]; repeated {
				return nil, false
			}
			v, ok := nodeValue(n.Content[i+1])
			if !ok {
				return nil, false
			}
			m[key] = v
		}
		return m, true
	case yaml3.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, ok := nodeValue(c)
			if !ok {
				return nil, false
			}
			s[i] = v
		}
		return s, true
	case yaml3.ScalarNode:
		if !utf8.ValidString(n.Value) {
			return nil, false // JSON would replace the bytes
		}
		if n.Style&(yaml3.DoubleQuotedStyle|yaml3.SingleQuotedStyle|yaml3.LiteralStyle|yaml3.FoldedStyle) != 0 {
			return n.Value, true
		}
		return plainValue(n.Value)
	}
	return nil, false // an alias
}

// keyString is a mapping key as a JSON key, when it is a string to yaml.v2
// too. Other keys (true, 1, null, the merge key <<) become strings in ways
// that depend on yaml.v2's value: left to it.
func keyString(n *yaml3.Node) (string, bool) {
	if n.Kind != yaml3.ScalarNode {
		return "", false
	}
	v, ok := nodeValue(n)
	s, isString := v.(string)
	return s, ok && isString && !(n.Style == 0 && s == "<<")
}

// plainValue resolves an unquoted scalar as yaml.v2's resolve does, then
// as the JSON round trip turns it: ints are int64, floats float64 unless
// their JSON form is an integer. Its order of checks is yaml.v2's.
func plainValue(in string) (any, bool) {
	hint := byte('N') // the empty string: null
	if in != "" {
		hint = resolveHint(in[0])
	}
	if hint == 0 {
		return in, true
	}
	if v, special, jsonable := yaml11Value(in); special {
		return v, jsonable
	}
	switch hint {
	case '.':
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return jsonFloat(f)
		}
	case 'D', 'S':
		if isTimestamp(in) {
			return in, true // yaml.v2 keeps timestamps as strings in an interface{}
		}
		plain := strings.ReplaceAll(in, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return i, true
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return nil, false // past int64: JSON makes it a float
		}
		if yaml11Float.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return jsonFloat(f)
			}
		}
		// yaml.v2's own binary ints; Go's ParseInt above read most.
		if digits, ok := strings.CutPrefix(plain, "0b"); ok {
			if i, err := strconv.ParseInt(digits, 2, 64); err == nil {
				return i, true
			}
			if _, err := strconv.ParseUint(digits, 2, 64); err == nil {
				return nil, false
			}
		} else if digits, ok := strings.CutPrefix(plain, "-0b"); ok {
			if i, err := strconv.ParseInt("-"+digits, 2, 64); err == nil {
				return i, true
			}
		}
	}
	return in, true
}

// resolveHint is yaml.v2's resolveTable: what the first character of a
// plain scalar says it may be.
func resolveHint(c byte) byte {
	switch {
	case c == '+' || c == '-':
		return 'S'
	case c >= '0' && c <= '9':
		return 'D'
	case c == '.':
		return '.'
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		return 'M'
	}
	return 0
}

// yaml11Value is yaml.v2's resolveMap: YAML 1.1 booleans, nulls and the
// special floats, which JSON cannot hold.
func yaml11Value(in string) (v any, special, jsonable bool) {
	switch in {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true, true
	case "", "~", "null", "Null", "NULL":
		return nil, true, true
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return nil, true, false
	}
	return nil, false, false
}

var yaml11Float = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// jsonFloat is f after encoding/json writes it and apimachinery reads it
// back: an int64 when the text has no '.' and fits.
func jsonFloat(f float64) (any, bool) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, false
	}
	s := string(b)
	if !strings.Contains(s, ".") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
	}
	f, err = strconv.ParseFloat(s, 64)
	return f, err == nil
}

// timestampFormats and isTimestamp are yaml.v2's parseTimestamp.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

func isTimestamp(s string) bool {
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, format := range timestampFormats {
		if _, err := time.Parse(format, s); err == nil {
			return true
		}
	}
	return false
}
