package workload

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary streams to Decode: it must not panic, must
// describe every failure as an *Error, and every object it returns must
// have a document number and pod specs, a document range inside the input,
// and positions inside the input; an image's points at its value.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeCases() {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(billionLaughs()))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("--- |\n  text\n...\n%YAML 1.1\n---\n[1, {a: 2}]\n"))
	f.Add([]byte("{\"a\": 1} {\"b\": [2]} --- x: y\n"))
	f.Add([]byte("\ufeff" + podJSON + "  " + podJSON + "\n--- " + strings.ReplaceAll(podYAML, "\n", "\r\n")))
	f.Add([]byte("# Source: c/templates/p.yaml\napiVersion: v1\nkind: List\nitems:\n- " + indent(strings.TrimSpace(podYAML), 2) + "\n"))

	d := NewDecoder(WithMaxDocumentSize(64 << 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, errs := d.Decode("fuzz.yaml", bytes.NewReader(data))
		for _, err := range errs {
			var e *Error
			if !errors.As(err, &e) || e.File != "fuzz.yaml" || e.Document < 1 {
				t.Fatalf("error %#v is not an *Error of a document of fuzz.yaml", err)
			}
			_ = err.Error()
		}
		// Editors do not count a BOM as a character of the first line.
		text := strings.TrimPrefix(string(data), "\ufeff")
		for _, o := range objs {
			if o.Document < 1 || len(o.PodSpecs) == 0 {
				t.Fatalf("object %+v: want a document number and pod specs", o)
			}
			if r := o.DocumentRange; r.Start < 0 || r.End > int64(len(data)) || r.Start > r.End {
				t.Fatalf("object %s %q: document range %v outside the input of %d bytes", o.Kind, o.Name, r, len(data))
			}
			checkInside(t, text, o.Position)
			for _, ps := range o.PodSpecs {
				if ps.Spec == nil {
					t.Fatalf("object %s %q: nil spec at %v", o.Kind, o.Name, ps.Path)
				}
				checkInside(t, text, ps.Position)
				for _, c := range ps.Containers {
					checkInside(t, text, c.At)
					checkInside(t, text, c.Image)
					at, _ := textAt(text, c.Image)
					image := imageOf(ps, c)
					if c.Image.IsValid() && image != "" && !strings.HasPrefix(at, image[:1]) && (at == "" || !strings.ContainsRune(`"'!|>&*`, rune(at[0]))) {
						t.Fatalf("object %s %q container %q: image %q at %v, where the input holds %.20q", o.Kind, o.Name, c.Name, image, c.Image, at)
					}
				}
			}
		}
	})
}

// checkInside fails unless p is unknown or a place in text.
func checkInside(t *testing.T, text string, p Position) {
	t.Helper()
	if p == (Position{}) {
		return
	}
	if _, ok := textAt(text, p); !ok {
		t.Fatalf("position %v is not in the input", p)
	}
}

func imageOf(ps PodSpec, c ContainerPosition) string {
	switch {
	case c.Type == "initContainer" && c.Index < len(ps.Spec.InitContainers):
		return ps.Spec.InitContainers[c.Index].Image
	case c.Type == "container" && c.Index < len(ps.Spec.Containers):
		return ps.Spec.Containers[c.Index].Image
	case c.Type == "ephemeralContainer" && c.Index < len(ps.Spec.EphemeralContainers):
		return ps.Spec.EphemeralContainers[c.Index].Image
	}
	return ""
}
