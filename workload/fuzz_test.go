package workload

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// FuzzDecode feeds arbitrary streams to Decode: it must not panic, must
// describe every failure as an *Error, and every object it returns must
// survive SetPodSpec of its own specs unchanged.
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
			if o.Document < 1 || len(o.PodSpecs) == 0 || o.Content == nil {
				t.Fatalf("object %+v: want a document number, pod specs and content", o)
			}
			before := deepCopy(t, o.Content)
			for _, ps := range o.PodSpecs {
				if ps.Spec == nil {
					t.Fatalf("object %s %q: nil spec at %v", o.Kind, o.Name, ps.Path)
				}
				if err := SetPodSpec(o.Content, ps.Path, ps.Spec); err != nil {
					t.Fatalf("SetPodSpec(%v) = %v", ps.Path, err)
				}
			}
			if !reflect.DeepEqual(o.Content, before) {
				t.Fatalf("SetPodSpec of the unchanged specs changed the object:\n%v\n%v", before, o.Content)
			}
		}
	})
}

func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	data, err := utiljson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := utiljson.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
