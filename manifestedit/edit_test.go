package manifestedit

import (
	"errors"
	"strings"
	"testing"
)

func zkMounts(list, container string, paths ...string) []Mount {
	var out []Mount
	for _, p := range paths {
		out = append(out, Mount{List: list, Container: container, VolumeName: "vg-" + container + strings.ReplaceAll(p, "/", "-"), MountPath: p, SizeLimit: "1Gi"})
	}
	return out
}

func podEdit(mounts ...Mount) []SpecEdit {
	return []SpecEdit{{SpecPath: []string{"spec"}, Mounts: mounts}}
}

func TestEdit(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits []SpecEdit
		want  string
	}{
		{
			name: "indented lists, four-space mappings, last line without a line break",
			in: "kind: Pod\nspec:\n    containers:\n      -   name: zk\n          image: zk\n" +
				"    nodeSelector:\n        disk: ssd",
			edits: podEdit(zkMounts("containers", "zk", "/data")...),
			want: "kind: Pod\nspec:\n    containers:\n      -   name: zk\n          image: zk\n" +
				"          volumeMounts:\n            -   name: vg-zk-data\n                mountPath: /data\n" +
				"    nodeSelector:\n        disk: ssd\n" +
				"    volumes:\n      -   name: vg-zk-data\n          emptyDir:\n              sizeLimit: 1Gi",
		},
		{
			name:  "init containers, paths that need quotes",
			in:    "spec:\n  initContainers:\n  - name: init\n    image: x\n  containers:\n  - name: app\n    image: y\n",
			edits: podEdit(append(zkMounts("initContainers", "init", "/a b"), zkMounts("containers", "app", "/on")...)...),
			want: "spec:\n  initContainers:\n  - name: init\n    image: x\n    volumeMounts:\n    - name: \"vg-init-a b\"\n      mountPath: \"/a b\"\n" +
				"  containers:\n  - name: app\n    image: y\n    volumeMounts:\n    - name: vg-app-on\n      mountPath: /on\n" +
				"  volumes:\n  - name: \"vg-init-a b\"\n    emptyDir:\n      sizeLimit: 1Gi\n  - name: vg-app-on\n    emptyDir:\n      sizeLimit: 1Gi\n",
		},
		{
			name:  "the first of two containers of one name",
			in:    "spec:\n  containers:\n  - name: a\n    image: x\n  - name: a\n    image: y\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want: "spec:\n  containers:\n  - name: a\n    image: x\n    volumeMounts:\n    - name: vg-a-d\n      mountPath: /d\n" +
				"  - name: a\n    image: y\n  volumes:\n  - name: vg-a-d\n    emptyDir:\n      sizeLimit: 1Gi\n",
		},
		{
			name: "flow collections with quotes, brackets and comments inside, a plain scalar ending at a bracket",
			in: "spec: {containers: [{name: zk, image: \"a]b\", args: ['it''s', x]}], # a comment with ] and }\n" +
				"  dnsPolicy: it's}\n",
			edits: podEdit(zkMounts("containers", "zk", "/d")...),
			want: "spec: {containers: [{name: zk, image: \"a]b\", args: ['it''s', x], volumeMounts: [{name: vg-zk-d, mountPath: /d}]}], # a comment with ] and }\n" +
				"  dnsPolicy: it's,\n  volumes: [{name: vg-zk-d, emptyDir: {sizeLimit: 1Gi}}]}\n",
		},
		{
			name:  "a multi-line flow sequence with a trailing comma",
			in:    "spec:\n  containers: [\n    {name: a, image: x, volumeMounts: [\n      {name: v, mountPath: /v},\n    ]},\n  ]\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want: "spec:\n  containers: [\n    {name: a, image: x, volumeMounts: [\n      {name: v, mountPath: /v},\n      {name: vg-a-d, mountPath: /d},\n    ]},\n  ]\n" +
				"  volumes:\n  - name: vg-a-d\n    emptyDir:\n      sizeLimit: 1Gi\n",
		},
		{
			name:  "JSON indented with tabs",
			in:    "{\n\t\"spec\": {\n\t\t\"containers\": [\n\t\t\t{\n\t\t\t\t\"name\": \"a\",\n\t\t\t\t\"image\": \"x\"\n\t\t\t}\n\t\t]\n\t}\n}\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want: "{\n\t\"spec\": {\n\t\t\"containers\": [\n\t\t\t{\n\t\t\t\t\"name\": \"a\",\n\t\t\t\t\"image\": \"x\",\n" +
				"\t\t\t\t\"volumeMounts\": [\n\t\t\t\t\t{\n\t\t\t\t\t\t\"name\": \"vg-a-d\",\n\t\t\t\t\t\t\"mountPath\": \"/d\"\n\t\t\t\t\t}\n\t\t\t\t]\n" +
				"\t\t\t}\n\t\t],\n" +
				"\t\t\"volumes\": [\n\t\t\t{\n\t\t\t\t\"name\": \"vg-a-d\",\n\t\t\t\t\"emptyDir\": {\n\t\t\t\t\t\"sizeLimit\": \"1Gi\"\n\t\t\t\t}\n\t\t\t}\n\t\t]\n" +
				"\t}\n}\n",
		},
		{
			name:  "compact JSON, volumeMounts null",
			in:    `{"spec":{"containers":[{"name":"a","image":"x","volumeMounts":null}]}}`,
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  `{"spec":{"containers":[{"name":"a","image":"x","volumeMounts":[{"name":"vg-a-d","mountPath":"/d"}]}],"volumes":[{"name":"vg-a-d","emptyDir":{"sizeLimit":"1Gi"}}]}}`,
		},
		{
			name:  "a List item, keep chomping kept",
			in:    "kind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n      image: x\n      command:\n      - |+\n        run\n\n    # end\n",
			edits: []SpecEdit{{ObjectPath: []string{"items", "[0]"}, SpecPath: []string{"spec"}, Mounts: zkMounts("containers", "a", "/d")}},
			want: "kind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n      image: x\n      command:\n      - |+\n        run\n\n" +
				"      volumeMounts:\n      - name: vg-a-d\n        mountPath: /d\n    volumes:\n    - name: vg-a-d\n      emptyDir:\n        sizeLimit: 1Gi\n    # end\n",
		},
		{
			name:  "an anchored spec no alias repeats, and a merge key without volumeMounts",
			in:    "base: &base {image: x}\nspec: &s\n  containers:\n  - <<: *base\n    name: a\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want: "base: &base {image: x}\nspec: &s\n  containers:\n  - <<: *base\n    name: a\n    volumeMounts:\n    - name: vg-a-d\n      mountPath: /d\n" +
				"  volumes:\n  - name: vg-a-d\n    emptyDir:\n      sizeLimit: 1Gi\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changes, err := Edit([]byte(tt.in), tt.edits)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("edited\n got  %q\n want %q", out, tt.want)
			}
			checkChanges(t, tt.in, string(out), changes)
			// A second edit of the result is refused or adds again:
			// idempotency is the caller's (policy.Mutate adds nothing for
			// a path already mounted). The result must be editable.
			if _, _, err := Edit(out, tt.edits); err != nil {
				t.Errorf("the result cannot be edited again: %v", err)
			}
		})
	}
}

// checkChanges checks that changes turn in into out, and that they remove
// nothing but blanks and an empty value (`[]`, `null`, `~`).
func checkChanges(t *testing.T, in, out string, changes []Change) {
	t.Helper()
	var b strings.Builder
	at := 0
	for _, c := range changes {
		b.WriteString(in[at:c.Offset])
		b.WriteString(c.Inserted)
		if deleted := strings.TrimSpace(in[c.Offset : c.Offset+c.Deleted]); deleted != "" && deleted != "[]" && deleted != "null" && deleted != "~" {
			t.Errorf("change at %d deletes %q", c.Offset, deleted)
		}
		at = c.Offset + c.Deleted
	}
	b.WriteString(in[at:])
	if b.String() != out {
		t.Errorf("the changes do not make the output: %q", b.String())
	}
}

func TestEditRefuses(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits []SpecEdit
		want  string
	}{
		{
			name:  "volumeMounts from a merge key",
			in:    "base: &b {volumeMounts: [{name: v, mountPath: /v}]}\nspec:\n  containers:\n  - <<: *b\n    name: a\n    image: x\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "volumeMounts comes from a merge key",
		},
		{
			name:  "a container repeated through an alias",
			in:    "spec:\n  containers:\n  - &c {name: a, image: x}\n  initContainers:\n  - *c\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "shared through the YAML anchor &c",
		},
		{
			name:  "a pod template repeated through an alias",
			in:    "kind: List\nitems:\n- spec: &s\n    containers: [{name: a, image: x}]\n- spec: *s\n",
			edits: []SpecEdit{{ObjectPath: []string{"items", "[0]"}, SpecPath: []string{"spec"}, Mounts: zkMounts("containers", "a", "/d")}},
			want:  "shared through the YAML anchor &s",
		},
		{
			name:  "no such container",
			in:    "spec:\n  containers: [{name: a, image: x}]\n",
			edits: podEdit(zkMounts("containers", "b", "/d")...),
			want:  `no container named "b"`,
		},
		{
			name:  "a repeated key",
			in:    "spec:\n  containers: [{name: a, image: x}]\n  volumes: []\n  volumes: []\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "volumes is repeated",
		},
		{
			name:  "volumes is not a list",
			in:    "spec:\n  containers: [{name: a, image: x}]\n  volumes: {a: b}\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "volumes is not a list",
		},
		{
			name:  "a block scalar at the end of the document without a line break",
			in:    "spec:\n  containers:\n  - name: a\n    image: x\n  volumes:\n  - name: v\n    x: |\n      y",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "would change more than",
		},
		{
			name:  "not YAML",
			in:    "spec: [\n",
			edits: podEdit(zkMounts("containers", "a", "/d")...),
			want:  "parsing the document",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Edit([]byte(tt.in), tt.edits)
			var ne *NotEditableError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a NotEditableError saying %q", err, tt.want)
			}
		})
	}
}

func TestSuggestion(t *testing.T) {
	got := Suggestion(append(zkMounts("containers", "zk", "/data", "/logs"), zkMounts("initContainers", "init", "/x")...))
	want := `# in the pod spec, add to volumes:
volumes:
- name: vg-zk-data
  emptyDir:
    sizeLimit: 1Gi
- name: vg-zk-logs
  emptyDir:
    sizeLimit: 1Gi
- name: vg-init-x
  emptyDir:
    sizeLimit: 1Gi
# in containers, to the container named "zk", add to volumeMounts:
volumeMounts:
- name: vg-zk-data
  mountPath: /data
- name: vg-zk-logs
  mountPath: /logs
# in initContainers, to the container named "init", add to volumeMounts:
volumeMounts:
- name: vg-init-x
  mountPath: /x
`
	if got != want {
		t.Errorf("suggestion\n got  %q\n want %q", got, want)
	}
}

func TestEditFollowsTheSurroundingBlock(t *testing.T) {
	// The document mostly indents its lists; this container's own lists
	// sit under their keys, with items three columns from their dashes.
	in := "spec:\n  initContainers:\n    - name: i\n      image: x\n  containers:\n  - name: a\n    image: x\n    ports:\n    -  containerPort: 1\n" +
		"  tolerations:\n    - key: a\n  hostAliases:\n    - ip: 1.1.1.1\n"
	want := "spec:\n  initContainers:\n    - name: i\n      image: x\n  containers:\n  - name: a\n    image: x\n    ports:\n    -  containerPort: 1\n" +
		"    volumeMounts:\n    -  name: vg-a-d\n       mountPath: /d\n" +
		"  tolerations:\n    - key: a\n  hostAliases:\n    - ip: 1.1.1.1\n" +
		"  volumes:\n    - name: vg-a-d\n      emptyDir:\n        sizeLimit: 1Gi\n"
	out, changes, err := Edit([]byte(in), podEdit(zkMounts("containers", "a", "/d")...))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("edited\n got  %q\n want %q", out, want)
	}
	checkChanges(t, in, string(out), changes)
}
