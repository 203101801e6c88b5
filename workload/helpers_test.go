package workload

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// summary is what the tests assert about an Object.
type summary struct {
	Doc        int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Specs      []string // per pod spec: dotted path, then container names
}

func summarize(objs []Object) []summary {
	var out []summary
	for _, o := range objs {
		s := summary{Doc: o.Document, APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		for _, ps := range o.PodSpecs {
			desc := dotted(ps.Path) + ":"
			var names []string
			for _, c := range ps.Spec.Containers {
				names = append(names, c.Name+"="+c.Image)
			}
			s.Specs = append(s.Specs, desc+strings.Join(names, ","))
		}
		out = append(out, s)
	}
	return out
}

// wantErr is an expected error: its document and a part of its message.
type wantErr struct {
	Doc  int
	Text string
}

func checkErrors(t *testing.T, file string, errs []error, want []wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %q, want %d %+v", len(errs), errs, len(want), want)
	}
	for i, err := range errs {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %d is %T, want *Error: %v", i, err, err)
		}
		if e.File != file || e.Document != want[i].Doc || !strings.Contains(err.Error(), want[i].Text) {
			t.Errorf("error %d = %q (file %q, document %d), want file %q, document %d, containing %q",
				i, err, e.File, e.Document, file, want[i].Doc, want[i].Text)
		}
	}
}

func checkSummary(t *testing.T, got []Object, want []summary) {
	t.Helper()
	if s := summarize(got); !reflect.DeepEqual(s, want) {
		t.Errorf("objects:\n got  %+v\n want %+v", s, want)
	}
}

// object parses one YAML object for tests.
func object(t testing.TB, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatalf("parsing test object: %v", err)
	}
	return m
}
