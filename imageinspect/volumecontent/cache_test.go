package volumecontent

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func baseLayer(t *testing.T) *memLayer {
	var entries []tarEntry
	for i := range 50 {
		entries = append(entries, file(fmt.Sprintf("usr/lib/f%02d", i), 1000))
	}
	return layer(t, append(entries, dir("var/", 0o755, 0, 0), dir("var/lib/", 0o755, 0, 0),
		dir("var/lib/postgresql/", 0o755, 999, 999), dir("var/lib/mysql/", 0o700, 27, 27), file("var/lib/mysql/ibdata", 5))...)
}

func TestScanReadsASharedBaseLayerOnce(t *testing.T) {
	base := baseLayer(t)
	postgres := layer(t, file("usr/bin/postgres", 10))
	mysql := layer(t, file("usr/bin/mysqld", 10))
	s := NewScanner()

	got, stats := s.Scan(context.Background(), layers(base, postgres), []string{"/var/lib/postgresql"})
	if got[0].State != Empty || stats.LayersRead != 2 || stats.BytesRead != base.size+postgres.size {
		t.Errorf("first image: %+v, %+v; want Empty after reading both layers", got[0], stats)
	}
	// Another image, another path, the same base layer: its table answers.
	got, stats = s.Scan(context.Background(), layers(base, mysql), []string{"/var/lib/mysql"})
	if got[0].State != Populated || stats.LayersRead != 1 || stats.LayersCached != 1 || stats.BytesRead != mysql.size {
		t.Errorf("second image: %+v, %+v; want Populated, the base layer from the cache", got[0], stats)
	}
	if n := base.opens.Load(); n != 1 {
		t.Errorf("base layer opened %d times, want 1", n)
	}
}

func TestScanCostsNothingForCachedLayersAgainstTheBudget(t *testing.T) {
	base := baseLayer(t)
	top := layer(t, file("app", 1))
	s := NewScanner(WithByteBudget(base.size + top.size))
	s.Scan(context.Background(), layers(base, top), []string{"/var/lib/mysql"})

	other := layer(t, file("other", 1))
	got, _ := NewScanner(WithByteBudget(other.size)).Scan(context.Background(), layers(base, other), []string{"/var/lib/mysql"})
	if got[0].State != Unknown {
		t.Fatalf("a cold scanner with a budget below the base layer: %+v, want Unknown", got[0])
	}
	s.opts.byteBudget = other.size
	if got, _ := s.Scan(context.Background(), layers(base, other), []string{"/var/lib/mysql"}); got[0].State != Populated {
		t.Errorf("with the base layer cached: %+v, want Populated within a budget that only fits the top layer", got[0])
	}
}

func TestScanReadsANarrowedLayerAgainOnlyForNewPaths(t *testing.T) {
	base := baseLayer(t)
	s := NewScanner(WithMaxLayerIndexBytes(2 << 10)) // too small for the whole table
	for i, tc := range []struct {
		path      string
		wantOpens int32
	}{
		{"/var/lib/mysql", 1},
		{"/var/lib/mysql", 1},        // the narrowed table covers it
		{"/var/lib/mysql/sub", 1},    // and what lies beneath it
		{"/var/lib/postgresql", 2},   // not this one
		{"/var/lib/postgresql", 2},   // now it does
		{"/var/lib/mysql", 2},        // and still the first
		{"/usr/lib/nonexistent", 3},  // another path again
		{"/var/lib/postgresql", 3},   // kept with it
		{"/var/lib/mysql/ibdata", 3}, // beneath a path kept
	} {
		got := scanOne(t, s, layers(base), tc.path)
		if got.State == Unknown {
			t.Errorf("step %d, %s: %+v", i, tc.path, got)
		}
		if n := base.opens.Load(); n != tc.wantOpens {
			t.Errorf("step %d, %s: layer opened %d times in all, want %d", i, tc.path, n, tc.wantOpens)
		}
	}
}

func TestScanCacheIsBounded(t *testing.T) {
	a, b := baseLayer(t), layer(t, file("x", 1))
	s := NewScanner(WithCacheSize(1, 1<<20))
	for range 2 {
		s.Scan(context.Background(), layers(a), []string{"/var"})
		s.Scan(context.Background(), layers(b), []string{"/var"})
	}
	if n, _ := s.CacheUsage(); n != 1 {
		t.Errorf("cache holds %d layers, want 1", n)
	}
	if a.opens.Load() != 2 || b.opens.Load() != 2 {
		t.Errorf("opened %d and %d times, want 2 each: each pushes the other out", a.opens.Load(), b.opens.Load())
	}

	s = NewScanner(WithCacheSize(100, 1024)) // bytes too few for the base table
	s.Scan(context.Background(), layers(a), []string{"/var"})
	if n, bytes := s.CacheUsage(); n != 0 || bytes != 0 {
		t.Errorf("cache holds %d layers of %d bytes, want none: larger than the cache", n, bytes)
	}
}

func TestScanDoesNotCacheALayerThatFailedItsDigest(t *testing.T) {
	l := baseLayer(t)
	l.digest = layer(t, file("other", 1)).digest
	s := NewScanner()
	for range 2 {
		if got := scanOne(t, s, layers(l), "/var/lib/mysql"); got.State != Unknown {
			t.Fatalf("Scan = %+v, want Unknown", got)
		}
	}
	if n := l.opens.Load(); n != 2 {
		t.Errorf("opened %d times, want 2: nothing cached", n)
	}
}

func TestScanConcurrentlyOnSharedLayers(t *testing.T) {
	base := baseLayer(t)
	tops := []*memLayer{layer(t, file("a", 1)), layer(t, whiteout("var/lib/mysql")), layer(t, opaque("var/lib/mysql/"))}
	want := []State{Populated, Absent, Empty}
	s := NewScanner()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			got, _ := s.Scan(context.Background(), layers(base, tops[i%3]), []string{"/var/lib/mysql", "/var/lib/postgresql"})
			if got[0].State != want[i%3] || got[1].State != Empty {
				t.Errorf("scan %d: %s and %s, want %s and empty", i, got[0].State, got[1].State, want[i%3])
			}
		})
	}
	wg.Wait()
}
