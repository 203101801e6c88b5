package workload

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// yamlValue decodes one YAML document as kubectl does (YAML 1.1 through
// sigs.k8s.io/yaml, then JSON), after checking that its aliases do not
// expand past maxExpanded bytes. lineOffset lines of the file precede data.
// It returns yaml.v3's tree of the document too when yaml.v3 can read it:
// the value is read off that tree where treeValue can (one parse gives both
// the value and the positions), and from sigs.k8s.io/yaml otherwise.
func yamlValue(data []byte, lineOffset int, maxExpanded int64) (v any, tree *yaml3.Node, err error) {
	// The parsers are third-party code fed untrusted input: a panic in them
	// must cost one document, not the webhook or the whole check.
	defer func() {
		if r := recover(); r != nil {
			v, tree, err = nil, nil, fmt.Errorf("parsing YAML: parser panicked: %v", r)
		}
	}()
	var parseErr error
	tree, parseErr = parseYAML3(data)
	if bytes.IndexByte(data, '*') >= 0 { // no alias without '*'
		if parseErr != nil {
			return nil, nil, fileLines(parseErr, lineOffset)
		}
		if err := checkAliases(tree, maxExpanded); err != nil {
			return nil, nil, fileLines(err, lineOffset)
		}
	}
	if tree != nil && bytes.IndexAny(data, "!\t") < 0 {
		if v, ok := treeValue(tree); ok {
			return v, tree, nil
		}
	}
	out, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, fileLines(err, lineOffset)
	}
	if err := utiljson.Unmarshal(out, &v); err != nil {
		return nil, nil, fmt.Errorf("decoding JSON: %w", err)
	}
	return v, tree, nil
}

// parseYAML3 parses data with yaml.v3. A panic in it is an error of its
// own: sigs.k8s.io/yaml may still read the document, without positions.
func parseYAML3(data []byte) (tree *yaml3.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			tree, err = nil, fmt.Errorf("parsing YAML: parser panicked: %v", r)
		}
	}()
	var root yaml3.Node
	if err := yaml3.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	return &root, nil
}

// checkAliases measures the document with its aliases expanded, without
// expanding them. yaml.v2 stops only alias-heavy documents by node count, so
// a few aliases of a long string still expand to gigabytes of JSON.
func checkAliases(root *yaml3.Node, maxExpanded int64) error {
	// yaml.v3 builds a tree where an alias points at its anchored node:
	// parsing was linear in the input whatever the aliases.
	m := aliasMeter{limit: maxExpanded, sizes: map[*yaml3.Node]int64{}}
	_, err := m.size(root)
	return err
}

// aliasMeter computes the JSON size of nodes, aliases expanded. An alias can
// only name an anchor that ends before it or encloses it, so a walk in
// document order has measured every anchor an alias can use; the enclosing
// case is a cycle.
type aliasMeter struct {
	limit   int64
	aliases int
	sizes   map[*yaml3.Node]int64 // anchored nodes measured so far
}

// nodeOverhead approximates the JSON punctuation around one value.
const nodeOverhead = 4

func (m *aliasMeter) size(n *yaml3.Node) (int64, error) {
	var total int64 = nodeOverhead
	switch n.Kind {
	case yaml3.ScalarNode:
		total += jsonStringSize(n.Value)
	case yaml3.AliasNode:
		m.aliases++
		s, ok := m.sizes[n.Alias]
		if !ok {
			return 0, fmt.Errorf("yaml: line %d: alias %q refers to a value that contains it", n.Line, n.Value)
		}
		total = s
	default:
		for _, c := range n.Content {
			s, err := m.size(c)
			if err != nil {
				return 0, err
			}
			total += s
			if err := m.check(total); err != nil {
				return 0, err
			}
		}
	}
	if err := m.check(total); err != nil {
		return 0, err
	}
	if n.Anchor != "" {
		m.sizes[n] = total
	}
	return total, nil
}

func (m *aliasMeter) check(total int64) error {
	// Without aliases the size limit on the input already bounds the output.
	if m.aliases > 0 && total > m.limit {
		return fmt.Errorf("%w: YAML aliases expand to more than %d bytes", ErrDocumentTooLarge, m.limit)
	}
	return nil
}

// jsonStringSize is the length of s as a JSON string: control characters,
// quotes, backslashes and <, >, & take six bytes.
func jsonStringSize(s string) int64 {
	n := int64(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			n += 5
		}
	}
	return n
}

// fileLines rewrites a YAML error's "yaml: line N:" to count lines from the
// start of the file rather than of the document.
func fileLines(err error, offset int) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if offset == 0 || !ok {
		return err
	}
	num, after, ok := strings.Cut(rest, ":")
	n, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return err
	}
	return &lineError{msg: "yaml: line " + strconv.Itoa(n+offset) + ":" + after, err: err}
}

// lineError is a YAML error with its line number counted from the file start.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// errorLine is the file line a parse error is about: the one yaml's message
// names ("yaml: line N:", counted from the file's start by fileLines), else
// the document's first line.
func errorLine(err error, doc document) int {
	rest, ok := strings.CutPrefix(err.Error(), "yaml: line ")
	if num, _, found := strings.Cut(rest, ":"); ok && found {
		if n, convErr := strconv.Atoi(num); convErr == nil && n > 0 {
			return n
		}
	}
	return doc.lineOffset + 1
}
