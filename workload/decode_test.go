package workload

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	podYAML = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - {name: web, image: nginx}
`
	deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: zk
  namespace: default
spec:
  template:
    metadata: {labels: {app: zk}}
    spec:
      containers:
      - name: zk
        image: zookeeper:3.4.13
`
	serviceYAML = `apiVersion: v1
kind: Service
metadata: {name: zk}
spec: {ports: [{port: 2181}]}
`
	podJSON     = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	serviceJSON = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`
)

var (
	podWeb = summary{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "web", Specs: []string{"spec:web=nginx"}}
	depZK  = summary{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "default", Name: "zk", Specs: []string{"spec.template.spec:zk=zookeeper:3.4.13"}}
	podP1  = summary{APIVersion: "v1", Kind: "Pod", Name: "p1", Specs: []string{"spec:c=busybox"}}
)

func at(s summary, doc int) summary {
	s.Doc = doc
	return s
}

type decodeCase struct {
	name     string
	in       string
	want     []summary
	wantErrs []wantErr
}

// decodeCases is shared with FuzzDecode as its seed corpus.
func decodeCases() []decodeCase {
	return []decodeCase{
		{name: "empty input"},
		{name: "single Pod", in: podYAML, want: []summary{at(podWeb, 1)}},
		{
			name: "comments-only, empty and null documents are numbered and skipped",
			in: "# a comment before the first marker is not a document\n---\n# comments only\n---\n---\nnull\n---\n~\n---\n" +
				serviceYAML + "---\n" + deploymentYAML + "---\n",
			want: []summary{at(depZK, 6)},
		},
		{
			name: "first document without a marker",
			in:   deploymentYAML + "---\n" + podYAML,
			want: []summary{at(depZK, 1), at(podWeb, 2)},
		},
		{name: "Service and ConfigMap are skipped", in: serviceYAML + "---\napiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"},
		{
			name: "v1 List with a Deployment and a Service",
			in:   "apiVersion: v1\nkind: List\nitems:\n- " + indent(strings.TrimSpace(deploymentYAML), 2) + "\n- " + indent(strings.TrimSpace(serviceYAML), 2) + "\n",
			want: []summary{at(depZK, 1)},
		},
		{
			name: "DeploymentList items share the document number",
			in: serviceYAML + "---\napiVersion: apps/v1\nkind: DeploymentList\nitems:\n- " + indent(strings.TrimSpace(deploymentYAML), 2) +
				"\n- " + indent(strings.Replace(strings.TrimSpace(deploymentYAML), "name: zk\n  namespace", "name: zk2\n  namespace", 1), 2) + "\n",
			want: []summary{at(depZK, 2), func() summary { s := at(depZK, 2); s.Name = "zk2"; return s }()},
		},
		{name: "List without items", in: "apiVersion: v1\nkind: List\n"},
		{name: "List in a List", in: nestedLists(2, podJSON), want: []summary{at(podP1, 1)}},
		{name: "Lists nested too deep", in: nestedLists(maxListDepth+1, podJSON), wantErrs: []wantErr{{1, "Lists nested more than 8 deep"}}},
		{
			name:     "List with items of the wrong type",
			in:       "apiVersion: v1\nkind: List\nitems: x\n",
			wantErrs: []wantErr{{1, `t.yaml (document 1, List): items: expected a list, got string`}},
		},
		{
			name:     "List item without kind",
			in:       "apiVersion: v1\nkind: List\nitems:\n- " + indent(strings.TrimSpace(podYAML), 2) + "\n- {apiVersion: v1, metadata: {name: x}}\n- 5\n",
			want:     []summary{at(podWeb, 1)},
			wantErrs: []wantErr{{1, `(document 1, "x"): items[1]: missing kind`}, {1, "items[2]: expected an object, got number"}},
		},
		{name: "kind ending in List without items is an object", in: "apiVersion: x.io/v1\nkind: AllowList\nspec: {hosts: [a]}\n"},
		{name: "JSON object", in: "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p1\"},\n  \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"busybox\"}]}\n}\n", want: []summary{at(podP1, 1)}},
		{
			name: "concatenated JSON objects",
			in:   podJSON + strings.ReplaceAll(podJSON, "p1", "p2") + "\n\n" + serviceJSON + "\n" + podJSON,
			want: []summary{at(podP1, 1), func() summary { s := at(podP1, 2); s.Name = "p2"; return s }(), at(podP1, 4)},
		},
		{
			name:     "JSON array of objects",
			in:       "[" + podJSON + "," + serviceJSON + ", 5]",
			want:     []summary{at(podP1, 1)},
			wantErrs: []wantErr{{1, "[2]: expected an object, got number"}},
		},
		{
			name: "JSON followed by YAML documents",
			in:   podJSON + "\n---\n" + deploymentYAML,
			want: []summary{at(podP1, 1), at(depZK, 2)},
		},
		{
			name:     "YAML error lines count from the file start after JSON",
			in:       podJSON + "\n---\nkind: Pod\nspec: [x\n",
			want:     []summary{at(podP1, 1)},
			wantErrs: []wantErr{{2, "yaml: line 4: did not find expected"}},
		},
		{
			name:     "blank lines longer than the read buffer between JSON values",
			in:       podJSON + strings.Repeat("\n", 70000) + podJSON + strings.Repeat(" \n", 70000) + "---\nkind: [\n",
			want:     []summary{at(podP1, 1), at(podP1, 2)},
			wantErrs: []wantErr{{3, "yaml: line 140002: did not find expected node content"}},
		},
		{
			name:     "JSON syntax error ends the stream, earlier objects kept",
			in:       podJSON + "\n" + `{"kind": Pod}` + "\n" + podJSON,
			want:     []summary{at(podP1, 1)},
			wantErrs: []wantErr{{2, "decoding JSON: invalid character 'P'"}},
		},
		{
			name: "YAML flow mapping that is not JSON",
			in:   "{apiVersion: v1, kind: Pod, metadata: {name: p1}, spec: {containers: [{name: c, image: busybox}]}}\n",
			want: []summary{at(podP1, 1)},
		},
		{
			name:     "invalid YAML in the middle",
			in:       podYAML + "---\nkind: Pod\nspec: [unclosed\n---\n" + deploymentYAML,
			want:     []summary{at(podWeb, 1), at(depZK, 3)},
			wantErrs: []wantErr{{2, "t.yaml (document 2): yaml: line 9: did not find expected ',' or ']'"}},
		},
		{
			name:     "tab indentation",
			in:       "apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n",
			wantErrs: []wantErr{{1, "yaml: line 4: found character that cannot start any token"}},
		},
		{name: "scalar document", in: "just a string\n---\n" + podYAML, want: []summary{at(podWeb, 2)}, wantErrs: []wantErr{{1, "t.yaml (document 1): expected an object, got string"}}},
		{name: "YAML list document", in: "- " + indent(strings.TrimSpace(podYAML), 2) + "\n", wantErrs: []wantErr{{1, "expected an object, got list"}}},
		{name: "missing kind", in: "apiVersion: v1\nmetadata: {name: a}\nspec: {containers: []}\n", wantErrs: []wantErr{{1, `t.yaml (document 1, "a"): missing kind`}}},
		{name: "missing apiVersion", in: "kind: Pod\nspec: {containers: []}\n", wantErrs: []wantErr{{1, "t.yaml (document 1, Pod): missing apiVersion"}}},
		{name: "kind of wrong type", in: "apiVersion: v1\nkind: [Pod]\n", wantErrs: []wantErr{{1, "kind: expected a string, got list"}}},
		{
			name:     "containers of wrong type",
			in:       serviceYAML + "---\n" + strings.Replace(deploymentYAML, "containers:", "containers: x\n      old:", 1),
			wantErrs: []wantErr{{2, `t.yaml (document 2, Deployment "zk"): spec.template.spec.containers: expected a list, got string`}},
		},
		{
			name:     "metadata name of wrong type",
			in:       strings.Replace(podYAML, "name: web,", "name: 5,", 1),
			wantErrs: []wantErr{{1, "t.yaml (document 1, Pod): metadata.name: expected a string, got number"}},
		},
		{
			name: "generateName when name is empty",
			in:   strings.Replace(podYAML, "name: web,", "generateName: web-,", 1),
			want: []summary{func() summary { s := at(podWeb, 1); s.Name = "web-"; return s }()},
		},
		{name: "content on the marker line", in: "--- " + podJSON + "\n", want: []summary{at(podP1, 1)}},
		{name: "document end marker", in: podYAML + "...\n# trailing comment\n---\n" + podYAML + "...\n", want: []summary{at(podWeb, 1), at(podWeb, 2)}},
		{name: "CRLF line endings", in: strings.ReplaceAll(podYAML+"---\n"+deploymentYAML, "\n", "\r\n"), want: []summary{at(podWeb, 1), at(depZK, 2)}},
		{name: "byte order mark", in: utf8BOM + podJSON, want: []summary{at(podP1, 1)}},
		{name: "indented first document", in: "\n\n  " + indent(strings.TrimSpace(podYAML), 2) + "\n", want: []summary{at(podWeb, 1)}},
		{name: "duplicate keys", in: strings.Replace(podYAML, "image: nginx", "image: nginx, image: nginx", 1) + "kind: Pod\n", want: []summary{at(podWeb, 1)}},
		{
			name: "aliases within the limit",
			in:   "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers:\n  - &c {name: web, image: nginx}\n  initContainers:\n  - *c\n",
			want: []summary{at(podWeb, 1)},
		},
		{name: "alias cycle", in: "a: &a [*a]\n", wantErrs: []wantErr{{1, "refers to a value that contains it"}}},
		{name: "unknown alias", in: "a: *nope\n", wantErrs: []wantErr{{1, "unknown anchor"}}},
	}
}

// nestedLists wraps obj in depth v1 Lists.
func nestedLists(depth int, obj string) string {
	for range depth {
		obj = `{"apiVersion":"v1","kind":"List","items":[` + obj + `]}`
	}
	return obj
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := Decode("t.yaml", strings.NewReader(tt.in))
			checkSummary(t, objs, tt.want)
			checkErrors(t, "t.yaml", errs, tt.wantErrs)
			for _, o := range objs {
				if o.File != "t.yaml" {
					t.Errorf("object %s %q: file %q, want t.yaml", o.Kind, o.Name, o.File)
				}
			}
		})
	}
}

func TestDecodeNilReader(t *testing.T) {
	objs, errs := Decode("t.yaml", nil)
	if len(objs) != 0 {
		t.Errorf("objects = %v, want none", objs)
	}
	checkErrors(t, "t.yaml", errs, []wantErr{{0, "t.yaml: reading: no input"}})
}

func TestDecodeLabels(t *testing.T) {
	objs, errs := Decode("t.yaml", strings.NewReader(deploymentYAML))
	if len(errs) != 0 || len(objs) != 1 {
		t.Fatalf("Decode() = %v, %v", objs, errs)
	}
	if got := objs[0].PodSpecs[0].Labels["app"]; got != "zk" {
		t.Errorf("template label app = %q, want zk", got)
	}
}

func TestFromJSON(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantKind  string
		wantName  string
		wantSpecs int
		wantErr   string
	}{
		{name: "Pod", in: podJSON, wantKind: "Pod", wantName: "p1", wantSpecs: 1},
		{name: "Deployment", in: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"generateName":"d-"},"spec":{"template":{"spec":{"containers":[]}}}}`, wantKind: "Deployment", wantName: "d-", wantSpecs: 1},
		{name: "kind without pod specs", in: serviceJSON, wantKind: "Service", wantName: "s"},
		{name: "kind not required", in: `{"spec":{"template":{"spec":{"containers":[]}}}}`, wantSpecs: 1},
		{name: "wrong shape", in: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":"x"}}`, wantErr: `(Pod "p"): spec.containers: expected a list, got string`},
		{name: "not an object", in: `[1]`, wantErr: "expected an object, got list"},
		{name: "null", in: `null`, wantErr: "expected an object, got null"},
		{name: "invalid JSON", in: `{"kind":`, wantErr: "decoding JSON"},
		{name: "trailing data", in: podJSON + `{}`, wantErr: "decoding JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := FromJSON([]byte(tt.in))
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromJSON() error = %v, want an *Error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromJSON() error = %v", err)
			}
			if o.Kind != tt.wantKind || o.Name != tt.wantName || len(o.PodSpecs) != tt.wantSpecs || o.Document != 0 || o.File != "" {
				t.Errorf("FromJSON() = %+v, want kind %q, name %q, %d pod specs", o, tt.wantKind, tt.wantName, tt.wantSpecs)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"everything", &Error{File: "deploy.yaml", Document: 2, Kind: "Deployment", Name: "zk", Err: base}, `deploy.yaml (document 2, Deployment "zk"): boom`},
		{"stdin", &Error{File: "-", Document: 1, Err: base}, `<stdin> (document 1): boom`},
		{"path only", &Error{File: "missing.yaml", Err: base}, `missing.yaml: boom`},
		{"no file", &Error{Kind: "Pod", Name: "p", Err: base}, `(Pod "p"): boom`},
		{"name only", &Error{File: "a.yaml", Document: 3, Name: "x", Err: base}, `a.yaml (document 3, "x"): boom`},
		{"bare", &Error{Err: base}, `boom`},
		{"nil error", &Error{File: "a.yaml"}, `a.yaml: unknown error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if tt.err.Err != nil && !errors.Is(tt.err, base) {
				t.Errorf("errors.Is(err, base) = false")
			}
		})
	}
}

// TestErrorLines: a document that cannot be decoded is reported at the
// line the YAML parser names, counted from the start of the file, or else
// at the document's first line.
func TestErrorLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"a syntax error in the second document", podYAML + "---\napiVersion: v1\nkind: Pod\nmetadata: [\n", []int{10}},
		{"a syntax error in the first", "kind: Pod\nmetadata:\n  name: [x\n", []int{3}},
		{"a pod spec of the wrong shape", podYAML + "---\n# a comment\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: nope}\n", []int{8}},
		{"a document that is not an object", "--- 42\n", []int{1}},
		{"two in one file", "a: [\n---\n" + podYAML + "---\nkind: Pod\napiVersion: v1\nspec: []\n", []int{1, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := Decode("x.yaml", strings.NewReader(tt.in))
			var got []int
			for _, err := range errs {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%T is not an *Error", err)
				}
				got = append(got, e.Line)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines %v of errors %q, want %v", got, errs, tt.want)
			}
		})
	}
}
