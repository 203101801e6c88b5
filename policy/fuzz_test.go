package policy

import (
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The fuzz targets run on their seeds (f.Add and testdata/fuzz/) with every
// `go test`; fuzzing itself is `go test -run=^$ -fuzz=FuzzX ./policy/`.

// FuzzQuotePathRoundTrip: whatever an image declares, QuotePath prints one
// line of printable UTF-8 that is the path itself or its exact Go quoting.
func FuzzQuotePathRoundTrip(f *testing.F) {
	for _, s := range []string{"/data", "", "/data\n", "\x1b[31m/x", " /a", `"/q"`, "/\xff", "/a\u202eb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		assertQuoteRoundTrip(t, p, QuotePath(p))
	})
}

// FuzzFixYAMLRoundTrip: for any declared path and container name, Mutate
// does not panic, and the suggested YAML parses back to exactly the mount
// path and names Mutate adds (or there is none, for an unfixable path).
func FuzzFixYAMLRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"zk", "/data"}, {"zk", "/"}, {"zk", "//."}, {"zk", "/data\nvolumes: []"}, {"no", "/a: b"}, {"123", "data"}} {
		f.Add(s[0], s[1])
	}
	limit := resource.MustParse("1Gi")
	f.Fuzz(func(t *testing.T, container, p string) {
		if !utf8.ValidString(container) {
			// Pod specs are decoded from JSON or YAML, so their names are
			// valid UTF-8; no YAML can carry other bytes.
			t.Skip()
		}
		assertFixYAMLRoundTrip(t, container, p, limit)
	})
}
