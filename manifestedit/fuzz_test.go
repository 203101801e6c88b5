package manifestedit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEdit feeds arbitrary documents to Edit: it must not panic, must
// refuse with a *NotEditableError only, and what it returns must hold the
// document's bytes with text added (Edit's own check makes sure it means
// the document plus the mounts).
func FuzzEdit(f *testing.F) {
	for _, tt := range []string{
		"spec:\n  containers:\n  - name: a\n    image: x\n",
		"spec: {containers: [{name: a, image: x}], volumes: null}\n",
		"{\"spec\": {\"containers\": [{\"name\": \"a\", \"volumeMounts\": []}]}}",
		"kind: List\nitems:\n- spec:\n    containers:\n    - {name: a}\n    volumes: []\n",
		"spec: &s\n  containers:\n  - &c\n    name: a\n    command: [|\n      x]\n",
	} {
		f.Add([]byte(tt))
	}
	seeds, _ := filepath.Glob(filepath.Join("..", "manifestfix", "testdata", "*.yaml"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	edits := []SpecEdit{
		{SpecPath: []string{"spec"}, Mounts: zkMounts("containers", "a", "/d", "/e f")},
		{ObjectPath: []string{"items", "[0]"}, SpecPath: []string{"spec"}, Mounts: zkMounts("containers", "a", "/d")},
		{SpecPath: []string{"spec", "template", "spec"}, Mounts: zkMounts("initContainers", "zk", "/data")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range edits {
			out, changes, err := Edit(data, []SpecEdit{e})
			if err != nil {
				var ne *NotEditableError
				if !errors.As(err, &ne) {
					t.Fatalf("error %T %v, want a *NotEditableError", err, err)
				}
				continue
			}
			checkChanges(t, string(data), string(out), changes)
		}
	})
}
