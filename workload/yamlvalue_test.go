package workload

import (
	"bytes"
	"reflect"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// kubectlValue is what kubectl decodes from a YAML document: the reference
// treeValue must match.
func kubectlValue(data []byte) (any, error) {
	out, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var v any
	err = utiljson.Unmarshal(out, &v)
	return v, err
}

// TestTreeValueMatchesKubectl: the documents treeValue reads (fast) give
// kubectl's value; the rest are left to sigs.k8s.io/yaml, and yamlValue
// gives kubectl's value for them too.
func TestTreeValueMatchesKubectl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fast bool // read off yaml.v3's tree
	}{
		{"a Deployment", podYAML, true},
		{"YAML 1.1 booleans as values", "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: True\n", true},
		{"nulls", "a: ~\nb: null\nc:\nd: NULL\n", true},
		{"integers", "a: 1\nb: -2\nc: 0\nd: +3\ne: 1_000\nf: 0x1F\ng: 0755\nh: 0o17\ni: 9223372036854775807\nj: -9223372036854775808\n", true},
		{"octal that is not", "a: 08\nb: 0999\n", true},
		{"floats", "a: 0.5\nb: 1.0\nc: 1e3\nd: .5\ne: -.5\nf: 1.5e-7\ng: 1e21\nh: 100000000000000000000.0\ni: 6.02e+23\n", true},
		{"strings that start like numbers", "args: [-c, --flag=1, -, +foo, 1.2.3, 1e, 0b2, 10Gi, 500m, 1_a, .x, ..., -.5x]\n", true},
		{"timestamps stay strings", "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 2001-13-45\n", true},
		{"quoted and block scalars", "a: \"yes\"\nb: '1'\nc: |\n  line one\n  on\nd: >-\n  folded\n  text\ne: \"\\u00e9\\x41\"\n", true},
		{"multi-line plain scalar", "a: one\n  two\n  three\n", true},
		{"flow style", "a: {b: [1, two, {c: no}], d: []}\ne: {}\n", true},
		{"an anchor without an alias", "a: &x {b: 1}\n", true},
		{"comments only", "# nothing here\n", false},
		{"a tab where YAML forbids one", "#\r\t#", false},
		{"a tab in a block scalar", "a: |\n  x\ty\n", false},
		{"a scalar document", "hello\n", true},
		{"a sequence document", "- 1\n- two\n", true},
		{"keys that are strings", "\"on\": 1\n'1': 2\nyes-no: 3\n", true},
		{"unicode", "a: héllo wörld ✓\n", true},
		{"binary integers", "a: 0b101\nb: -0b11\nc: 0b_1\nd: 0b1111111111111111111111111111111111111111111111111111111111111111\n", false},
		{"an integer past int64", "a: 9223372036854775808\n", false},
		{"special floats", "a: .inf\n", false},
		{"boolean and number keys", "on: push\n1: one\n", false},
		{"a null key", "~: x\n", false},
		{"merge keys", "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n", false},
		{"aliases", "a: &x [1, 2]\nb: *x\n", false},
		{"repeated keys", "a: 1\na: 2\n", false},
		{"a complex key", "? [a, b]\n: c\n", false},
		{"an explicit tag", "a: !!str 5\nb: !!int \"7\"\n", false},
		{"the non-specific tag", "a: ! 5\n", false},
		{"a float past float64", "a: 1e400\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := kubectlValue([]byte(tt.in))
			got, tree, err := yamlValue([]byte(tt.in), 0, 1<<20)
			if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("yamlValue = %#v, %v; want %#v, %v", got, err, want, wantErr)
			}
			if wantErr != nil {
				return
			}
			if tree == nil {
				t.Fatal("no yaml.v3 tree")
			}
			fast := false
			if !bytes.ContainsAny([]byte(tt.in), "!\t") {
				_, fast = treeValue(tree)
			}
			if fast != tt.fast {
				t.Errorf("read off the tree: %v, want %v", fast, tt.fast)
			}
		})
	}
}

// FuzzTreeValueMatchesKubectl: whatever treeValue reads, kubectl reads the
// same; it never reads a document kubectl rejects.
func FuzzTreeValueMatchesKubectl(f *testing.F) {
	for _, tt := range decodeCases() {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte("a: [yes, 0755, 1_000, 0.5, 1e3, -c, 2001-12-14, ~, \"on\"]\n"))
	f.Add([]byte("a: &x {b: 1}\nc: |\n  on\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.IndexAny(data, "!\t") >= 0 || len(data) > 64<<10 {
			return
		}
		tree := parseTree(data)
		if tree == nil {
			return
		}
		got, ok := treeValue(tree)
		if !ok {
			return
		}
		want, err := kubectlValue(data)
		if err != nil {
			t.Fatalf("treeValue read %#v where kubectl fails: %v", got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("treeValue = %#v, kubectl = %#v", got, want)
		}
	})
}
