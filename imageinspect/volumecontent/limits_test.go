package volumecontent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScanIsUnknownWhenALayerCannotBeRead(t *testing.T) {
	good := tarBytes(t, dir("data/", 0o755, 0, 0), file("data/a", 4096))
	gz := gzipBytes(t, good)
	cases := []struct {
		name    string
		layer   *memLayer
		opts    []Option
		ctx     func() context.Context
		want    error  // errors.Is the reason, when it is one of ours
		wantMsg string // in the reason
	}{
		{name: "byte budget too small for the layer's size", layer: newMemLayer(gz),
			opts: []Option{WithByteBudget(10)}, want: ErrBudgetExhausted},
		{name: "byte budget runs out while reading", layer: func() *memLayer { l := newMemLayer(gz); l.size = 0; return l }(),
			opts: []Option{WithByteBudget(10)}, want: ErrBudgetExhausted},
		{name: "tar bytes run out", layer: newMemLayer(gz), opts: []Option{WithMaxTarBytes(1024)}, want: ErrTooLarge},
		{name: "deadline passed", layer: newMemLayer(gz), ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, want: context.Canceled},
		{name: "truncated gzip", layer: newMemLayer(gz[:len(gz)/2]), wantMsg: "unexpected EOF"},
		{name: "gzip cut after the tar's end", layer: newMemLayer(gz[:len(gz)-4]), wantMsg: "past the end of the tar"},
		{name: "not a tar", layer: newMemLayer([]byte(strings.Repeat("not a layer at all ", 64))), wantMsg: "tar header 1"},
		{name: "digest mismatch", layer: func() *memLayer { l := newMemLayer(gz); l.digest = newMemLayer(good).digest; return l }(),
			want: ErrDigestMismatch},
		{name: "unsupported digest", layer: func() *memLayer { l := newMemLayer(gz); l.digest = "md5:abc"; return l }(),
			wantMsg: "unsupported algorithm"},
		{name: "open fails", layer: func() *memLayer { l := newMemLayer(gz); l.openErr = errOpen; return l }(), want: errOpen},
		{name: "an entry escaping the root", layer: layer(t, file("../../etc/data", 1)), want: ErrHostileLayer},
		{name: "an entry climbing out from inside", layer: layer(t, file("data/../../x", 1)), want: ErrHostileLayer},
		{name: "an empty whiteout", layer: layer(t, file("data/.wh.", 0)), want: ErrHostileLayer},
		{name: "an unknown entry type", layer: layer(t, tarEntry{tar.Header{Name: "data/x", Typeflag: 'Z'}}), want: ErrHostileLayer},
		{name: "a layer writing through a link below", layer: nil, want: ErrHostileLayer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ls := []Layer{tc.layer}
			if tc.layer == nil {
				ls = layers(layer(t, symlink("data", "/srv")), layer(t, file("data/a", 1)))
			}
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			got, _ := NewScanner(tc.opts...).Scan(ctx, ls, []string{"/data"})
			c := got[0]
			if c.State != Unknown {
				t.Fatalf("Scan = %+v, want Unknown", c)
			}
			t.Logf("reason: %s", c.Reason)
			if tc.want != nil && !errors.Is(c.Err, tc.want) {
				t.Errorf("error %v, want %v", c.Err, tc.want)
			}
			if !strings.Contains(c.Reason, tc.wantMsg) {
				t.Errorf("reason %q, want it to say %q", c.Reason, tc.wantMsg)
			}
		})
	}
}

func TestScanDoesNotOpenALayerLargerThanTheBudgetLeft(t *testing.T) {
	big := layer(t, dir("data/", 0o755, 0, 0), file("data/a", 1<<20))
	big.data = append(big.data, make([]byte, 1<<20)...) // size as the manifest would say
	big.size = int64(len(big.data))
	got, stats := NewScanner(WithByteBudget(1<<20)).Scan(context.Background(), layers(big), []string{"/data"})
	if got[0].State != Unknown || big.opens.Load() != 0 || stats.BytesRead != 0 {
		t.Errorf("Scan = %+v after %d opens, %d bytes; want Unknown without opening", got[0], big.opens.Load(), stats.BytesRead)
	}
}

func TestScanReadsZstdAndPlainTar(t *testing.T) {
	raw := tarBytes(t, dir("data/", 0o700, 0, 0), file("data/a", 3))
	for name, data := range map[string][]byte{"zstd": zstdBytes(t, raw), "plain tar": raw, "gzip": gzipBytes(t, raw)} {
		t.Run(name, func(t *testing.T) {
			got := scanOne(t, NewScanner(), layers(newMemLayer(data)), "/data")
			if got.State != Populated || got.Entries != 1 || got.Bytes != 3 {
				t.Errorf("Scan = %+v, want 1 entry of 3 bytes", got)
			}
		})
	}
}

// A layer of many headers: its table is narrowed to the asked path and
// stays within the bound, and a path with more entries than the bound
// allows is Unknown rather than held.
func TestScanBoundsMemoryOnLayersOfManyHeaders(t *testing.T) {
	var entries []tarEntry
	for i := range 5000 {
		entries = append(entries, file(fmt.Sprintf("usr/share/doc/pkg%04d/copyright", i), 0))
	}
	entries = append(entries, dir("data/", 0o755, 0, 0), file("data/a", 1))
	l := layer(t, entries...)
	const bound = 64 << 10
	s := NewScanner(WithMaxLayerIndexBytes(bound), WithMaxEntries(100))

	got := scanOne(t, s, layers(l), "/data")
	if got.State != Populated || got.Entries != 1 {
		t.Errorf("Scan(/data) = %+v, want 1 entry", got)
	}
	x, ok := s.cache.Get(l.Digest())
	if !ok || x.scope == nil || x.bytes > bound {
		t.Fatalf("cached table: ok=%v scope=%v bytes=%d, want narrowed within %d", ok, x != nil && x.scope == nil, x.bytes, bound)
	}

	got = scanOne(t, s, layers(l), "/usr/share/doc")
	if got.State != Unknown || !strings.Contains(got.Reason, ErrTooLarge.Error()) {
		t.Errorf("Scan(/usr/share/doc) = %+v, want Unknown: too large", got)
	}
}

func TestScanAnswersEachPathOnItsOwn(t *testing.T) {
	ls := layers(
		layer(t, dir("a/", 0o755, 0, 0), file("a/x", 1), dir("b/", 0o755, 0, 0), file("b/y", 1)),
		layer(t, whiteout("a"), symlink("c", "b")),
	)
	got, stats := NewScanner().Scan(context.Background(), ls, []string{"/a", "/b", "/c", "/d"})
	want := []State{Absent, Populated, Populated, Absent}
	for i, c := range got {
		if c.State != want[i] {
			t.Errorf("%s: %s, want %s", c.Path, c.State, want[i])
		}
	}
	if stats.LayersRead != 2 {
		t.Errorf("read %d layers, want 2: one walk for all paths, the cache for the link", stats.LayersRead)
	}
}

func TestScanStopsFollowingLinksInALoop(t *testing.T) {
	got := scanOne(t, NewScanner(), layers(layer(t, symlink("a", "b"), symlink("b", "a"))), "/a")
	if got.State != Unknown || !strings.Contains(got.Reason, errUnresolvable.Error()) {
		t.Errorf("Scan = %+v, want Unknown: a loop", got)
	}
}

// A per-scan budget overrides the Scanner's for that scan alone, while the
// cache stays shared: the small scan is Unknown, the next one with the
// Scanner's budget reads the layer.
func TestScanBudgetAppliesToOneScan(t *testing.T) {
	l := layer(t, dir("data/", 0o755, 0, 0), file("data/a", 4096))
	s := NewScanner()
	got, _ := s.Scan(context.Background(), layers(l), []string{"/data"}, WithScanBudget(10))
	if got[0].State != Unknown || !errors.Is(got[0].Err, ErrBudgetExhausted) {
		t.Fatalf("Scan with a 10-byte budget = %+v, want Unknown for the budget", got[0])
	}
	if got := scanOne(t, s, layers(l), "/data"); got.State != Populated {
		t.Errorf("Scan with the Scanner's budget = %+v, want Populated", got)
	}
}
