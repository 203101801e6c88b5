package textpos

import (
	"testing"

	yaml3 "go.yaml.in/yaml/v3"
)

func TestOffsetFindsYAMLNodes(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		onlyLF bool
	}{
		{"LF", "a: 1\nbé: [x, \"é\"]\nc:\n  - d\n", true},
		{"CRLF", "a: 1\r\nbé: [x, \"é\"]\r\nc:\r\n  - d\r\n", true},
		{"lone CR", "a: 1\rbé: [x, \"é\"]\rc:\r  - d\r", false},
		{"NEL and LS", "a: 1\u0085bé: [x, \"é\"]\u2028c:\n  - d\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.in)
			if got := OnlyLF(data); got != tt.onlyLF {
				t.Errorf("OnlyLF = %v, want %v", got, tt.onlyLF)
			}
			var root yaml3.Node
			if err := yaml3.Unmarshal(data, &root); err != nil {
				t.Fatal(err)
			}
			x := New(data)
			var walk func(n *yaml3.Node)
			walk = func(n *yaml3.Node) {
				if n.Kind == yaml3.ScalarNode {
					off, ok := x.Offset(n.Line, n.Column)
					if !ok {
						t.Fatalf("node %q at %d:%d: no offset", n.Value, n.Line, n.Column)
					}
					text := string(data[off:])
					if n.Style == yaml3.DoubleQuotedStyle {
						text = text[1:]
					}
					if len(text) < len(n.Value) || text[:len(n.Value)] != n.Value {
						t.Errorf("node %q at %d:%d: offset %d points at %q", n.Value, n.Line, n.Column, off, text)
					}
				}
				for _, c := range n.Content {
					walk(c)
				}
			}
			walk(&root)
		})
	}
}

func TestOffsetOutside(t *testing.T) {
	x := New([]byte("ab\ncd"))
	for _, p := range [][2]int{{0, 1}, {1, 0}, {3, 1}, {1, 5}, {2, 4}} {
		if off, ok := x.Offset(p[0], p[1]); ok {
			t.Errorf("Offset(%d, %d) = %d, want none", p[0], p[1], off)
		}
	}
	if off, ok := x.Offset(1, 3); !ok || off != 2 {
		t.Errorf("Offset(1, 3) = %d, %v; want the end of the line, 2", off, ok)
	}
}

func TestEditorPosition(t *testing.T) {
	x := New([]byte("a\rb\né\u2028x\n"))
	tests := []struct{ offset, line, column int }{
		{0, 1, 1}, {2, 1, 3}, {4, 2, 1}, {6, 2, 2}, {9, 2, 3}, {11, 3, 1}, {99, 3, 1},
	}
	for _, tt := range tests {
		if l, c := x.EditorPosition(tt.offset); l != tt.line || c != tt.column {
			t.Errorf("EditorPosition(%d) = %d:%d, want %d:%d", tt.offset, l, c, tt.line, tt.column)
		}
	}
}
