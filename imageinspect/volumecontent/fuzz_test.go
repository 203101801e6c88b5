package volumecontent

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzScanLayer feeds any bytes as the top layer of an image, over a base
// layer built here, and asks three paths: whatever the stream holds, the
// scan answers each, within its bounds, without panicking. The seed corpus
// is testdata/fuzz/FuzzScanLayer (regenerate: VOLUMEGUARD_WRITE_FUZZ_SEEDS=1
// go test -run TestWriteFuzzSeeds). Fuzz: make fuzz-content.
func FuzzScanLayer(f *testing.F) {
	base := layer(f, dir("data/", 0o755, 0, 0), file("data/a", 10), dir("a/", 0o755, 0, 0), dir("a/b/", 0o700, 1, 1),
		file("a/b/c", 3), symlink("l", "data"))
	const cacheBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewScanner(WithMaxLayerIndexBytes(16<<10), WithMaxEntries(500), WithByteBudget(4<<20),
			WithMaxTarBytes(32<<20), WithCacheSize(8, cacheBytes))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		paths := []string{"/data", "/a/b", "/l", "/"}
		got, stats := s.Scan(ctx, layers(base, newMemLayer(data)), paths)
		if len(got) != len(paths) {
			t.Fatalf("%d answers for %d paths", len(got), len(paths))
		}
		for _, c := range got {
			switch {
			case c.State == Unknown && c.Reason == "":
				t.Errorf("%s: Unknown without a reason", c.Path)
			case c.State != Unknown && c.Reason != "":
				t.Errorf("%s: %s with a reason: %s", c.Path, c.State, c.Reason)
			case c.State != Populated && c.State != Empty && c.State != Absent && c.State != Unknown:
				t.Errorf("%s: state %q", c.Path, c.State)
			case c.Exists() != (c.Kind != ""):
				t.Errorf("%s: %s of kind %q", c.Path, c.State, c.Kind)
			case c.Entries < 0 || c.Bytes < 0:
				t.Errorf("%s: %d entries, %d bytes", c.Path, c.Entries, c.Bytes)
			}
		}
		if _, bytes := s.CacheUsage(); bytes > cacheBytes {
			t.Errorf("cache holds %d bytes, bound %d", bytes, cacheBytes)
		}
		if stats.BytesRead > 4<<20+1 {
			t.Errorf("read %d bytes past the budget", stats.BytesRead)
		}
	})
}

// TestWriteFuzzSeeds writes the seed corpus of FuzzScanLayer: layers built
// as the other tests build them, and the hostile ones they refuse.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("VOLUMEGUARD_WRITE_FUZZ_SEEDS=1 writes testdata/fuzz/FuzzScanLayer")
	}
	union := tarBytes(t, dir("./data/", 0o750, 9, 9), file("data/x", 5), whiteout("data/a"), opaque("a/b/"),
		file("/a/b/d", 1), symlink("data/l", "../a"), hardlink("data/h", "data/x"), fifo("data/f"))
	gz := gzipBytes(t, union)
	seeds := map[string][]byte{
		"union-gzip":       gz,
		"union-zstd":       zstdBytes(t, union),
		"union-plain":      union,
		"truncated-gzip":   gz[:len(gz)/2],
		"whiteout-path":    gzipBytes(t, tarBytes(t, whiteout("data"), whiteout("a"))),
		"parent-replaced":  gzipBytes(t, tarBytes(t, file("a", 1), symlink("data", "/a/b"))),
		"escape":           gzipBytes(t, tarBytes(t, file("../../etc/passwd", 1))),
		"unknown-type":     tarBytes(t, tarEntry{tar.Header{Name: "data/x", Typeflag: 'Z'}}),
		"not-gzip":         []byte("\x1f\x8bnot really gzip at all"),
		"empty":            {},
		"link-loop":        tarBytes(t, symlink("data", "l"), symlink("l", "data")),
		"write-below-link": tarBytes(t, file("l/z", 1)),
	}
	dirPath := filepath.Join("testdata", "fuzz", "FuzzScanLayer")
	if err := os.MkdirAll(dirPath, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dirPath, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzScanAgainstModel builds well-formed layers from the fuzzer's bytes
// (directories, files, links, whiteouts, opaque markers over a few names)
// and checks every answer the scanner is sure of against unionModel, which
// applies the same layers bottom up, entry by entry. Fuzz: make
// fuzz-content.
func FuzzScanAgainstModel(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 1, 0, 1, 0xff, 5, 1, 0, 4, 1, 1, 3})
	f.Add([]byte{0, 1, 0, 0, 2, 2, 0, 2, 9, 0xff, 6, 1, 0, 2, 2, 0, 1, 4, 0xff, 4, 1, 1, 0})
	f.Add([]byte{4, 1, 0, 1, 0, 1, 2, 7, 2, 3, 1, 2, 0xff, 5, 2, 1, 1, 3, 2, 2, 1, 0, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithModel(t, buildLayers(data))
	})
}

// compareWithModel scans the layers built and fails on any answer the
// scanner is sure of that the model does not give; it returns how many of
// each state were compared.
func compareWithModel(t *testing.T, built [][]tarEntry) map[State]int {
	t.Helper()
	paths := []string{"/data", "/a", "/a/b", "/data/sub", "/sub/data", "/b"}
	model := newUnionModel()
	var ls []Layer
	for _, entries := range built {
		raw := tarBytes(t, entries...)
		ls = append(ls, newMemLayer(raw))
		model.apply(tarOrder(t, raw))
	}
	got, _ := NewScanner().Scan(context.Background(), ls, paths)
	compared := map[State]int{}
	for i, p := range paths {
		c := got[i]
		want, ok := model.answer(strings.TrimPrefix(p, "/"))
		if c.State == Unknown || !ok || !model.ok {
			continue
		}
		if c.Implicit = false; c != want {
			t.Fatalf("%s:\n scanner %+v\n   model %+v\nlayers %v", p, c, want, built)
		}
		compared[c.State]++
	}
	return compared
}

// tarOrder returns a layer's entries in their tar order (the index sorts
// them), for the model, which applies them one after another.
func tarOrder(t *testing.T, raw []byte) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(raw))
	var out []entry
	for {
		hdr, err := tr.Next()
		if err != nil {
			return out
		}
		e, ok, err := entryOf(hdr)
		if err != nil {
			t.Fatalf("a layer built here: %v", err)
		}
		if ok {
			out = append(out, e)
		}
	}
}

// buildLayers reads bytes as a program: each op makes an entry over the
// names data, a, b, sub; 0xff starts a new layer. Layers stay well-formed
// (as image builders write them): a name once per layer, nothing beneath a
// non-directory of the same layer.
func buildLayers(data []byte) [][]tarEntry {
	comps := []string{"data", "a", "b", "sub"}
	targets := []string{"/data", "a", "../a", "/a/b", "data/a", "sub", "/nowhere", ".", "../../data", "b/../a"}
	i := 0
	next := func() int {
		if i >= len(data) {
			i++
			return 0
		}
		i++
		return int(data[i-1])
	}
	var out [][]tarEntry
	var cur []tarEntry
	used := map[string]entryKind{}
	for i < len(data) && len(out) < 4 {
		op := next()
		if op == 0xff {
			out, cur, used = append(out, cur), nil, map[string]entryKind{}
			continue
		}
		var parts []string
		for range 1 + next()%3 {
			parts = append(parts, comps[next()%len(comps)])
		}
		name := strings.Join(parts, "/")
		var e tarEntry
		kind := kindDir
		switch op % 8 {
		case 0, 1:
			e = dir(name+"/", int64(0o700+next()%64), next()%3, next()%3)
		case 2, 3:
			e, kind = file(name, int64(next())), kindFile
		case 4:
			e, kind = symlink(name, targets[next()%len(targets)]), kindSymlink
		case 5:
			e, kind = whiteout(name), kindWhiteout
		case 6:
			e, kind = opaque(name+"/"), kindOpaque
		case 7:
			e, kind = hardlink(name, "data/a"), kindHardlink
		}
		if !wellFormed(used, name, kind) {
			continue
		}
		used[name+"\x00"+string(rune('0'+kind))] = kind
		cur = append(cur, e)
	}
	return append(out, cur)
}

func wellFormed(used map[string]entryKind, name string, kind entryKind) bool {
	for key, k := range used {
		n, _, _ := strings.Cut(key, "\x00")
		switch {
		case n == name && (k.real() == kind.real() || k == kind):
			return false // a name once per layer
		case k.real() && k != kindDir && atOrBeneath(name, n) && n != name:
			return false // beneath a non-directory of this layer
		case kind.real() && kind != kindDir && atOrBeneath(n, name) && n != name:
			return false // a non-directory over what this layer put beneath it
		}
	}
	return true
}
