package imageinspect

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/volumeguard/volumeguard/imageinspect/diskcache"
)

// countedRegistry serves the in-process registry and counts every request
// it receives (pings and token requests included), not only those a
// transport of ours sends.
func countedRegistry(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	return host, &n
}

func TestPersistentCache(t *testing.T) {
	host, requests := countedRegistry(t)
	pushImage(t, host, "single:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	pushIndex(t, host, "multi:1", buildMultiArch(t, types.OCIImageIndex))
	refs := []string{host + "/single:1", host + "/multi:1"}
	requests.Store(0) // the pushes
	dir := t.TempDir()
	clk := newClock()
	store := func(t *testing.T) *diskcache.Cache {
		c, err := diskcache.Open(dir, diskcache.WithTagTTL(time.Hour), diskcache.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// run is one CLI run: a new Inspector, whose memory is empty.
	run := func(t *testing.T, opts ...Option) (volumes [][]string, errs []error) {
		t.Helper()
		in := newTestInspector(t, append([]Option{WithPersistentCache(store(t)), WithClock(clk.Now)}, opts...)...)
		for _, ref := range refs {
			img, err := in.Inspect(context.Background(), ref, nil)
			errs = append(errs, err)
			var v []string
			if img != nil {
				for _, p := range img.Platforms {
					v = append(v, p.Volumes...)
				}
			}
			volumes = append(volumes, v)
		}
		return volumes, errs
	}
	want := [][]string{{"/data"}, {"/data", "/data", "/logs"}}

	t.Run("offline with an empty cache names every image and sends nothing", func(t *testing.T) {
		_, errs := run(t, WithOffline())
		for k, err := range errs {
			if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), refs[k]) {
				t.Errorf("%s: error %v, want ErrNotCached naming it", refs[k], err)
			}
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("%d registry requests offline, want 0", n)
		}
	})
	t.Run("a cold run reads the registry", func(t *testing.T) {
		got, errs := run(t)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("volumes %v, want %v", got, want)
		}
		if requests.Load() == 0 {
			t.Error("no registry request on a cold cache")
		}
	})
	t.Run("a re-run within the TTL sends zero requests", func(t *testing.T) {
		before := requests.Load()
		got, errs := run(t)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("volumes %v, want %v", got, want)
		}
		if n := requests.Load() - before; n != 0 {
			t.Errorf("%d registry requests on a warm cache, want 0", n)
		}
	})
	t.Run("offline serves expired tags", func(t *testing.T) {
		clk.advance(2 * time.Hour)
		before := requests.Load()
		got, errs := run(t, WithOffline())
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || requests.Load() != before {
			t.Errorf("volumes %v with %d requests, want %v with none", got, requests.Load()-before, want)
		}
	})
	t.Run("an expired tag is asked again, its digests are not", func(t *testing.T) {
		ct := newCountingTransport()
		if _, errs := run(t, WithTransport(ct)); errors.Join(errs...) != nil {
			t.Fatal(errors.Join(errs...))
		}
		if got := ct.counts(); got != [3]int64{2, 0, 0} {
			t.Errorf("[manifest GETs, HEADs, blob GETs] = %v, want one tag GET per image and nothing else", got)
		}
	})
	t.Run("corrupt entries are refetched", func(t *testing.T) {
		blobs, err := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
		if err != nil || len(blobs) == 0 {
			t.Fatalf("no cached blobs (%v)", err)
		}
		for _, b := range blobs {
			if err := os.WriteFile(b, []byte(`{"schemaVersion":2}`), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		before := requests.Load()
		got, errs := run(t)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || requests.Load() == before {
			t.Errorf("volumes %v after %d requests, want %v refetched", got, requests.Load()-before, want)
		}
	})
}
