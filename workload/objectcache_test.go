package workload

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestObjectCacheGivesWhatDecodingGives: a second read of the same files
// through the cache gives the same objects (positions, ranges, templates,
// annotations, specs) without decoding them, and the same errors for the
// files that have some; what changed is decoded again.
func TestObjectCacheGivesWhatDecodingGives(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(deploymentYAML), "\n", "\n  ") + "\n"
	files := map[string]string{
		"a.yaml":      podYAML,
		"b.yml":       "# Source: chart/templates/zk.yaml\n" + deploymentYAML + "---\n" + serviceYAML,
		"c.json":      podJSON,
		"crlf.yaml":   strings.ReplaceAll("metadata:\n  annotations: {volumeguard.io/ignore: /logs}\n"+strings.TrimPrefix(podYAML, ""), "\n", "\r\n"),
		"list.yaml":   list,
		"broken.yaml": podYAML + "---\nkind: [\n",
		"empty.yaml":  "# nothing\n",
	}
	root := writeTree(t, files)
	cachePath := filepath.Join(t.TempDir(), ObjectCacheFile)
	// read reads root through the cache and saves it; added says whether
	// the cache got new entries.
	read := func(version string) (in Input, c *ObjectCache, added bool) {
		t.Helper()
		c = OpenObjectCache(cachePath, version)
		in = NewDecoder(WithObjectCache(c)).ReadPaths(context.Background(), []string{root}, nil)
		<-c.loaded
		added = c.changed
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		return in, c, added
	}
	encode := func(in Input) string {
		t.Helper()
		var errs []string
		for _, err := range in.Errors {
			errs = append(errs, err.Error())
		}
		b, err := json.Marshal(struct {
			Objects   []Object
			Errors    []string
			Documents int
		}{in.Objects, errs, in.Documents})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	plain := NewDecoder().ReadPaths(context.Background(), []string{root}, nil)

	cold, c, _ := read("v1")
	if got, want := encode(cold), encode(plain); got != want {
		t.Fatalf("through an empty cache\n got  %s\n want %s", got, want)
	}
	if n := len(c.entries); n != len(files)-1 {
		t.Errorf("%d entries after the first read, want one per file that decoded without an error (%d)", n, len(files)-1)
	}

	warm, c, added := read("v1")
	if got, want := encode(warm), encode(plain); got != want {
		t.Fatalf("from the cache\n got  %s\n want %s", got, want)
	}
	if added || len(c.used) != len(files)-1 {
		t.Errorf("second read: %d entries used, entries added %v; want all %d from the cache", len(c.used), added, len(files)-1)
	}

	// A changed file is decoded again; another decoder's cache is not read.
	if err := os.WriteFile(filepath.Join(root, "a.yaml"), []byte(strings.Replace(podYAML, "nginx", "redis", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	again, _, added := read("v1")
	if !strings.Contains(encode(again), `"image":"redis"`) || !added {
		t.Errorf("a changed file was not decoded again (entries added %v): %s", added, encode(again))
	}
	if _, c, _ := read("v2"); len(c.entries) != len(files)-1 {
		t.Errorf("another version's cache was used: %d entries, want the %d of this read", len(c.entries), len(files)-1)
	}
}

// TestObjectCacheIgnoresDamage: a cache file that is cut short, foreign or
// unreadable is an empty cache, never an error or a wrong object.
func TestObjectCacheIgnoresDamage(t *testing.T) {
	root := writeTree(t, map[string]string{"a.yaml": podYAML})
	path := filepath.Join(t.TempDir(), ObjectCacheFile)
	c := OpenObjectCache(path, "v1")
	NewDecoder(WithObjectCache(c)).ReadPaths(context.Background(), []string{root}, nil)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"cut short":     good[:len(good)-3],
		"foreign":       []byte("something else\n"),
		"a bad length":  append(append([]byte{}, good[:len(good)-1]...), 0xff),
		"not JSON":      append(append([]byte{}, good[:len(good)-2]...), '}', '}'),
		"a directory":   nil,
		"nothing there": {},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ObjectCacheFile)
			switch {
			case data == nil:
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c := OpenObjectCache(p, "v1")
			in := NewDecoder(WithObjectCache(c)).ReadPaths(context.Background(), []string{root}, nil)
			if len(in.Objects) != 1 || len(in.Errors) != 0 || in.Objects[0].PodSpecs[0].Spec.Containers[0].Image != "nginx" {
				t.Errorf("objects %+v, errors %v; want the pod as decoded", in.Objects, in.Errors)
			}
		})
	}
}
