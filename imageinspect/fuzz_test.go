package imageinspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The fuzz targets run on their seeds (f.Add and testdata/fuzz/) with every
// `go test`; fuzzing itself is `make fuzz`.

// maxParseAllocBytes bounds what parsing raw may allocate: a multiple of
// its size, whatever it declares (before the caps, a 1.4 MB config of
// 100,000 VOLUMEs was decoded into tens of MB).
func maxParseAllocBytes(raw []byte) uint64 {
	return 1<<20 + 32*uint64(len(raw))
}

// FuzzParseManifest: whatever a registry answers for a manifest, with
// whatever Content-Type, parseManifest does not panic, allocates a bounded
// multiple of the body, and accepts only a known image manifest naming its
// config, or an index of at most maxIndexEntries entries.
func FuzzParseManifest(f *testing.F) {
	for _, s := range []struct{ raw, contentType string }{
		{`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2}}`, "application/vnd.oci.image.manifest.v1+json"},
		{`{"schemaVersion":2,"config":{"digest":"sha256:` + strings.Repeat("b", 64) + `"},"layers":[{"digest":"sha256:` + strings.Repeat("c", 64) + `"}]}`, "application/octet-stream"},
		{`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("d", 64) + `","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}`, "text/plain; charset=utf-8"},
		{`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{},{},{}]}`, ""},
		{`{"schemaVersion":1,"fsLayers":[]}`, "application/json"},
		{`{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:` + strings.Repeat("e", 64) + `"}}`, "application/vnd.oci.image.manifest.v1+json"},
		{`null`, "application/vnd.oci.image.manifest.v1+json"},
		{``, ""},
		{`{"manifests":{"a":1}}`, "application/vnd.oci.image.index.v1+json"},
		{`{"config":{"digest":"md5:x"}}`, "application/vnd.docker.distribution.manifest.v2+json"},
	} {
		f.Add([]byte(s.raw), s.contentType)
	}
	f.Add(indexOfEntries(maxIndexEntries+1), "application/vnd.oci.image.index.v1+json")
	f.Fuzz(func(t *testing.T, raw []byte, contentType string) {
		before := allocatedBytes()
		m, err := parseManifest(raw, contentType, "sha256:fuzz")
		if got, limit := allocatedBytes()-before, maxParseAllocBytes(raw); got > limit {
			t.Errorf("parsing %d bytes allocated %d, over %d", len(raw), got, limit)
		}
		if err != nil {
			_ = err.Error()
			return
		}
		switch {
		case m.isIndex():
			if len(m.entries) > maxIndexEntries {
				t.Fatalf("index of %d entries accepted, over %d", len(m.entries), maxIndexEntries)
			}
		case m.mediaType == types.DockerManifestSchema2 || m.mediaType == types.OCIManifestSchema1:
			if m.config.Digest.Algorithm == "" {
				t.Fatalf("image manifest accepted without a config digest")
			}
		default:
			t.Fatalf("accepted media type %q", m.mediaType)
		}
		if m.size != int64(len(raw)) {
			t.Errorf("size %d, want the body's %d", m.size, len(raw))
		}
	})
}

// FuzzParseConfig: whatever a config blob holds, parseConfig does not
// panic, allocates a bounded multiple of it, and keeps at most maxVolumes
// sorted, distinct paths of at most maxVolumePathBytes, or refuses with
// ErrTooLarge or a parse error.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"os":"linux","architecture":"amd64","config":{"Volumes":{"/data":{},"/logs":{}}}}`,
		`{"config":{"Volumes":{"/a":{},"/a":{}},"Volumes":{"/b":{}}}}`,
		`{"config":{"Volumes":null}}`,
		`{"config":{"Volumes":[]}}`,
		`{"config":{"Volumes":{"/a,{[\"":{},"/b":{"x":[1,2]}}}}`,
		`{"config":{"Volumes":{"/\u001b[31m":{},"/a\nb":{},"":{}}}}`,
		`{"config":`,
		`null`,
	} {
		f.Add([]byte(s), 256)
	}
	f.Add(configWithVolumes(300), 256)
	f.Add(configWithVolumes(3), 2)
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		limit = min(max(limit, 0), 4*defaultMaxVolumes)
		before := allocatedBytes()
		info, err := parseConfig(raw, limit)
		if got, bound := allocatedBytes()-before, maxParseAllocBytes(raw); got > bound {
			t.Errorf("parsing %d bytes allocated %d, over %d", len(raw), got, bound)
		}
		if err != nil {
			var le *limitError
			if errors.As(err, &le) != errors.Is(err, ErrTooLarge) {
				t.Fatalf("%v: a limit error must be ErrTooLarge and only it", err)
			}
			return
		}
		if len(info.volumes) > limit {
			t.Fatalf("%d volumes kept, over the limit of %d", len(info.volumes), limit)
		}
		for _, v := range info.volumes {
			if len(v) > maxVolumePathBytes {
				t.Fatalf("a path of %d bytes kept, over %d", len(v), maxVolumePathBytes)
			}
		}
		if !slices.IsSorted(info.volumes) || len(slices.Compact(slices.Clone(info.volumes))) != len(info.volumes) {
			t.Fatalf("volumes %q: want sorted and distinct", info.volumes)
		}
	})
}

// FuzzCountElements checks the hand-written counter that refuses oversized
// lists before decoding them against encoding/json, on every valid JSON
// object or array.
func FuzzCountElements(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a,b":{"c":[1,2,{"d":","}]},"e\"f,":1}`, `["\\",","]`, `[[],[[]],{}]`, ` [ 1 , "]" ] `, `{"\u0022,":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			t.Skip() // encoding/json hands countElements valid JSON only
		}
		want, ok := jsonElements(raw)
		if !ok {
			t.Skip()
		}
		if got := countElements(raw); got != want {
			t.Fatalf("countElements(%s) = %d, want %d", raw, got, want)
		}
	})
}

// jsonElements counts the members of a JSON object or the elements of an
// array with encoding/json; ok is false for other values.
func jsonElements(raw []byte) (int, bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return 0, false
	}
	if trimmed[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return 0, false
		}
		return len(list), true
	}
	// Members one by one: a map would merge repeated keys.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return 0, false
	}
	n := 0
	for dec.More() {
		var value json.RawMessage
		if _, err := dec.Token(); err != nil || dec.Decode(&value) != nil {
			return 0, false
		}
		n++
	}
	return n, true
}

func indexOfEntries(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"schemaVersion":2,"manifests":[`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"digest":"sha256:` + strings.Repeat("f", 64) + `","size":1,"platform":{"os":"linux","architecture":"amd64"}}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// allocatedBytes is the heap allocated by the process so far; reading it
// does not stop the world, unlike runtime.ReadMemStats.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
