package workload

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary streams to Decode: it must not panic, must
// describe every failure as an *Error, and every object it returns must
// have a document number and pod specs.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeCases() {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(billionLaughs()))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("--- |\n  text\n...\n%YAML 1.1\n---\n[1, {a: 2}]\n"))
	f.Add([]byte("{\"a\": 1} {\"b\": [2]} --- x: y\n"))

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
		for _, o := range objs {
			if o.Document < 1 || len(o.PodSpecs) == 0 {
				t.Fatalf("object %+v: want a document number and pod specs", o)
			}
			for _, ps := range o.PodSpecs {
				if ps.Spec == nil {
					t.Fatalf("object %s %q: nil spec at %v", o.Kind, o.Name, ps.Path)
				}
			}
		}
	})
}
