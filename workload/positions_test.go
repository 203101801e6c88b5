package workload

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/volumeguard/volumeguard/policy"
)

// textAt is the input from a position on, lines counted at LF and columns
// in characters, as Position counts them; ok is false when the position is
// not in the input.
func textAt(in string, p Position) (string, bool) {
	if !p.IsValid() {
		return "", false
	}
	lines := strings.SplitAfter(in, "\n")
	if p.Line > len(lines) {
		return "", false
	}
	line := lines[p.Line-1]
	for range p.Column - 1 {
		if line == "" {
			return "", false
		}
		_, size := utf8.DecodeRuneInString(line)
		line = line[size:]
	}
	return line + strings.Join(lines[p.Line:], ""), true
}

// imageSite is what the tests assert about a container's position.
type imageSite struct {
	Type  policy.ContainerType
	Name  string
	Image string // "line:column"
}

func imageSites(objs []Object) [][]imageSite {
	var out [][]imageSite
	for _, o := range objs {
		for _, ps := range o.PodSpecs {
			var sites []imageSite
			for _, c := range ps.Containers {
				sites = append(sites, imageSite{c.Type, c.Name, c.Image.String()})
			}
			out = append(out, sites)
		}
	}
	return out
}

func TestPositions(t *testing.T) {
	cronJob := `# a comment
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: migrate
            image: "zookeeper:3.4.13"
          containers:
          - image: 'nginx:1'
            name: job
`
	tests := []struct {
		name      string
		in        string
		want      [][]imageSite
		templates []string
	}{
		{
			name: "multi-document YAML, init and ephemeral containers",
			in: serviceYAML + "---\n" + deploymentYAML + "---\n" + `apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
  - {name: app, image: app:1}
  ephemeralContainers:
  - name: dbg
    image: busybox
`,
			want: [][]imageSite{
				{{policy.Container, "zk", "17:16"}},
				{{policy.Container, "app", "24:24"}, {policy.EphemeralContainer, "dbg", "27:12"}},
			},
		},
		{
			name: "CronJob, quoted images",
			in:   cronJob,
			want: [][]imageSite{{{policy.InitContainer, "migrate", "13:20"}, {policy.Container, "job", "15:20"}}},
		},
		{
			name: "CRLF line endings",
			in:   strings.ReplaceAll(cronJob, "\n", "\r\n"),
			want: [][]imageSite{{{policy.InitContainer, "migrate", "13:20"}, {policy.Container, "job", "15:20"}}},
		},
		{
			name: "lone CR and LS break YAML lines but not editors'",
			in:   "apiVersion: v1\nkind: Pod\r# x\u2028metadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n",
			want: [][]imageSite{{{policy.Container, "c", "4:33"}}},
		},
		{
			name: "a document on the marker's line, and a BOM",
			in:   "\ufeff" + podYAML + "--- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}}\n",
			want: [][]imageSite{{{policy.Container, "web", "6:24"}}, {{policy.Container, "c", "7:91"}}},
		},
		{
			name: "List items",
			in:   "apiVersion: v1\nkind: List\nitems:\n- " + indent(strings.TrimSpace(serviceYAML), 2) + "\n- " + indent(strings.TrimSpace(podYAML), 2) + "\n",
			want: [][]imageSite{{{policy.Container, "web", "13:26"}}},
		},
		{
			name: "concatenated JSON values, one on the line of another",
			in:   "\n  " + podJSON + " " + podJSON + "\n" + podJSON + "\n",
			want: [][]imageSite{
				{{policy.Container, "c", "2:102"}},
				{{policy.Container, "c", "2:215"}},
				{{policy.Container, "c", "3:100"}},
			},
		},
		{
			name: "a JSON array, indented with tabs",
			in:   "[\n\t" + podJSON + ",\n\t{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": [\n\t\t" + podJSON + "\n\t]}\n]\n",
			want: [][]imageSite{{{policy.Container, "c", "2:101"}}, {{policy.Container, "c", "4:102"}}},
		},
		{
			name: "YAML after JSON values",
			in:   podJSON + "\n---\n" + podYAML,
			want: [][]imageSite{{{policy.Container, "c", "1:100"}}, {{policy.Container, "web", "8:24"}}},
		},
		{
			name: "anchors, aliases and merge keys point at what is written",
			in: `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
x-base: &base
  image: base:1
spec:
  template:
    spec:
      containers:
      - <<: *base
        name: a
      - &b
        name: b
        image: b:1
      initContainers:
      - *b
`,
			want: [][]imageSite{{{policy.InitContainer, "b", "14:16"}, {policy.Container, "a", "5:10"}, {policy.Container, "b", "14:16"}}},
		},
		{
			name:      "Helm templates",
			in:        "---\n# Source: zk/templates/svc.yaml\n" + serviceYAML + "---\n# Source: zk/templates/statefulset.yaml\n" + strings.Replace(deploymentYAML, "Deployment", "StatefulSet", 1),
			want:      [][]imageSite{{{policy.Container, "zk", "20:16"}}},
			templates: []string{"zk/templates/statefulset.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := Decode("-", strings.NewReader(tt.in))
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			var templates []string
			for _, o := range objs {
				if o.Template != "" {
					templates = append(templates, o.Template)
				}
				checkObjectPositions(t, tt.in, o)
			}
			if got := imageSites(objs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("image positions\n got  %v\n want %v", got, tt.want)
			}
			if !reflect.DeepEqual(templates, tt.templates) {
				t.Errorf("templates %q, want %q", templates, tt.templates)
			}
		})
	}
}

// checkObjectPositions checks that every position of o points at what it
// names in the input, and that its document range holds it.
func checkObjectPositions(t *testing.T, in string, o Object) {
	t.Helper()
	r := o.DocumentRange
	if r.Start < 0 || r.End > int64(len(in)) || r.Start >= r.End {
		t.Fatalf("%s %q: document range %v outside the input of %d bytes", o.Kind, o.Name, r, len(in))
	}
	if doc := in[r.Start:r.End]; !strings.Contains(doc, o.Kind) {
		t.Errorf("%s %q: document range %v holds %q", o.Kind, o.Name, r, doc)
	}
	if _, ok := textAt(in, o.Position); !ok {
		t.Errorf("%s %q: position %v not in the input", o.Kind, o.Name, o.Position)
	}
	for _, ps := range o.PodSpecs {
		if _, ok := textAt(in, ps.Position); !ok {
			t.Errorf("%s %q: pod spec position %v not in the input", o.Kind, o.Name, ps.Position)
		}
		for _, c := range ps.Containers {
			spec := ps.Spec.Containers
			if c.Type == policy.InitContainer {
				spec = ps.Spec.InitContainers
			}
			image := ""
			if c.Type == policy.EphemeralContainer {
				image = ps.Spec.EphemeralContainers[c.Index].Image
			} else {
				image = spec[c.Index].Image
			}
			text, ok := textAt(in, c.Image)
			text = strings.TrimLeft(text, `"'`)
			if !ok || !strings.HasPrefix(text, image) {
				t.Errorf("%s %q container %q: image %q at %v, where the input holds %.20q", o.Kind, o.Name, c.Name, image, c.Image, text)
			}
			if got := ps.ImagePosition(c.Type, c.Name); got != c.Image {
				t.Errorf("ImagePosition(%s, %q) = %v, want %v", c.Type, c.Name, got, c.Image)
			}
		}
	}
}

func TestPositionsFromFiles(t *testing.T) {
	content := "# header\n\n" + deploymentYAML
	dir := writeTree(t, map[string]string{"a/zk.yaml": content})
	in := ReadPaths(context.Background(), []string{dir}, nil)
	if len(in.Errors) > 0 || len(in.Objects) != 1 {
		t.Fatalf("objects %v, errors %v", in.Objects, in.Errors)
	}
	o := in.Objects[0]
	if got := o.PodSpecs[0].ImagePosition(policy.Container, "zk"); got != (Position{Line: 14, Column: 16}) {
		t.Errorf("image position %v, want 14:16", got)
	}
	if o.DocumentRange != (ByteRange{0, int64(len(content))}) {
		t.Errorf("document range %v, want the whole file", o.DocumentRange)
	}
}

func TestImagePositionUnknown(t *testing.T) {
	obj, err := FromJSON([]byte(podJSON))
	if err != nil {
		t.Fatal(err)
	}
	if p := obj.PodSpecs[0].ImagePosition(policy.Container, "c"); p.IsValid() || p.String() != "-" {
		t.Errorf("FromJSON: position %v, want unknown", p)
	}
}

// TestPositionsOfLargeLists checks that a List of many pods is positioned
// without reading its document once per container.
func TestPositionsOfLargeLists(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	const n = 2000
	for i := range n {
		fmt.Fprintf(&b, "- {apiVersion: v1, kind: Pod, metadata: {name: p%d}, spec: {containers: [{name: c, image: x}]}}\r\n", i)
	}
	objs, errs := Decode("big.yaml", &b)
	if len(errs) > 0 || len(objs) != n {
		t.Fatalf("%d objects, errors %v", len(objs), errs)
	}
	if got := objs[n-1].PodSpecs[0].Containers[0].Image; got != (Position{Line: 3 + n, Column: 89 + len(fmt.Sprint(n-1))}) {
		t.Errorf("last image at %v", got)
	}
}
