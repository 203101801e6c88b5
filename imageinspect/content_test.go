package imageinspect

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/volumeguard/volumeguard/imageinspect/diskcache"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// contentImage is the test image of content scans: a base layer with a
// populated /data and an empty /srv owned 1000:1000 0750, and a top layer
// that whites out /data/old and adds a 5 MiB file (over the 4 MiB cap of
// buffered config blobs: it must be streamed).
func contentImage(t *testing.T) [][]testimage.Entry {
	t.Helper()
	return [][]testimage.Entry{
		{testimage.Dir("data", 0o755, 0, 0), testimage.File("data/a", 100), testimage.File("data/old", 7),
			testimage.Dir("srv", 0o750, 1000, 1000)},
		{testimage.Dir("data", 0o755, 0, 0), testimage.File("data/.wh.old", 0), testimage.File("data/big", 5<<20)},
	}
}

func pushContentImage(t *testing.T, host, repoTag string) (ref, manifestDigest string) {
	t.Helper()
	img, err := testimage.WithContent([]string{"/data", "/srv", "/none"}, contentImage(t)...)
	if err != nil {
		t.Fatal(err)
	}
	write(t, host+"/"+repoTag, img)
	return host + "/" + repoTag, digestOf(t, img)
}

func TestScanContentReadsLayersOfARegistry(t *testing.T) {
	var layerGets atomic.Int64
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
				layerGets.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	ref, digest := pushContentImage(t, host, "app:1")
	var scans []ContentScan
	in := newTestInspector(t, WithMetrics(Metrics{ContentScanned: func(s ContentScan) { scans = append(scans, s) }}))
	img, err := in.Inspect(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.Platforms[0].ManifestDigest != digest {
		t.Fatalf("manifest digest %s, want %s", img.Platforms[0].ManifestDigest, digest)
	}
	before := layerGets.Load()
	got, err := in.ScanContent(context.Background(), ref, digest, []string{"/data", "/srv", "/none"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		state          volumecontent.State
		entries, bytes int64
		uid            int64
		mode           string
	}{
		{volumecontent.Populated, 2, 100 + 5<<20, 0, "0755"},
		{volumecontent.Empty, 0, 0, 1000, "0750"},
		{volumecontent.Absent, 0, 0, 0, "0000"},
	}
	for k, w := range want {
		c := got[k]
		if c.State != w.state || c.Entries != w.entries || c.Bytes != w.bytes || c.UID != w.uid || c.OctalMode() != w.mode {
			t.Errorf("%s: %+v, want %+v", c.Path, c, w)
		}
	}
	if n := layerGets.Load() - before; n != 2 {
		t.Errorf("%d layer GETs, want 2 (each layer once)", n)
	}
	// Again: the layer tables come from the Inspector's cache.
	if _, err := in.ScanContent(context.Background(), ref, digest, []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	if n := layerGets.Load() - before; n != 2 {
		t.Errorf("%d layer GETs after a second scan, want still 2", n)
	}
	if len(scans) != 2 || scans[0].LayersRead != 2 || scans[0].BytesRead == 0 || scans[1].LayersCached != 2 || scans[1].BytesRead != 0 {
		t.Errorf("metrics %+v, want a cold scan of 2 layers then a cached one", scans)
	}
	if st := in.Stats(); st.ContentScans != 2 || st.LayerFetches != 2 {
		t.Errorf("stats %+v, want 2 scans and 2 layer fetches", st)
	}
}

func TestScanContentIsUnknownPastItsBudgetOrDeadline(t *testing.T) {
	host := startRegistry(t, nil)
	ref, digest := pushContentImage(t, host, "app:1")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		in   *Inspector
		ctx  context.Context
		opts []InspectOption
		want error
	}{
		{name: "inspector budget", in: newTestInspector(t, WithContentBudget(1024)), ctx: context.Background(), want: volumecontent.ErrBudgetExhausted},
		{name: "per-scan budget", in: newTestInspector(t), ctx: context.Background(), opts: []InspectOption{ContentBudget(1024)}, want: volumecontent.ErrBudgetExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.ScanContent(tc.ctx, ref, digest, []string{"/data"}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].State != volumecontent.Unknown || !errors.Is(got[0].Err, tc.want) {
				t.Errorf("%+v, want Unknown for %v", got[0], tc.want)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		in := newTestInspector(t)
		if _, err := in.Inspect(context.Background(), ref, nil); err != nil {
			t.Fatal(err)
		}
		got, err := in.ScanContent(canceled, ref, digest, []string{"/data"})
		if err == nil && got[0].State != volumecontent.Unknown {
			t.Errorf("%+v, want Unknown or an error once ctx has ended", got[0])
		}
	})
}

// A registry serving a layer whose bytes do not match its digest: the
// answer is Unknown, and nothing is cached for the next scan.
func TestScanContentVerifiesLayerDigests(t *testing.T) {
	corrupt := atomic.Bool{}
	corrupt.Store(true)
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if corrupt.Load() && strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
				next.ServeHTTP(&flipWriter{ResponseWriter: w}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	ref, digest := pushContentImage(t, host, "app:1")
	in := newTestInspector(t)
	corrupt.Store(false)
	if _, err := in.Inspect(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	corrupt.Store(true)
	got, err := in.ScanContent(context.Background(), ref, digest, []string{"/srv"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].State != volumecontent.Unknown {
		t.Fatalf("%+v, want Unknown for corrupt layers", got[0])
	}
	corrupt.Store(false)
	if got, _ = in.ScanContent(context.Background(), ref, digest, []string{"/srv"}); got[0].State != volumecontent.Empty {
		t.Errorf("%+v after the registry healed, want Empty", got[0])
	}
}

func TestScanContentRefusesWhatIsNotAPlatformImage(t *testing.T) {
	host := startRegistry(t, nil)
	ref, _ := pushContentImage(t, host, "app:1")
	in := newTestInspector(t)
	for _, digest := range []string{"sha256:nothex", "sha256:" + strings.Repeat("0", 64)} {
		if _, err := in.ScanContent(context.Background(), ref, digest, []string{"/data"}); err == nil {
			t.Errorf("ScanContent(%s) = nil error", digest)
		}
	}
}

// countedContentImage pushes a content image to a registry that counts the
// requests it gets after the push.
func countedContentImage(t *testing.T) (ref, digest string, asked *atomic.Int64) {
	t.Helper()
	asked = &atomic.Int64{}
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	ref, digest = pushContentImage(t, host, "app:1")
	asked.Store(0)
	return ref, digest, asked
}

// TestScanContentOffline: an offline Inspector reads no layer (the
// persistent cache keeps none) and says so, sending nothing.
func TestScanContentOffline(t *testing.T) {
	ref, digest, asked := countedContentImage(t)
	in := newTestInspector(t, WithOffline())
	_, err := in.ScanContent(context.Background(), ref, digest, []string{"/srv"})
	if !errors.Is(err, ErrNotCached) {
		t.Errorf("ScanContent offline = %v, want ErrNotCached", err)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("%d requests offline, want 0", n)
	}
}

// TestScanContentPersisted: a definite scan is kept in the persistent
// cache, so that the next run (a new Inspector), online or offline, answers
// it without a request.
func TestScanContentPersisted(t *testing.T) {
	ref, digest, asked := countedContentImage(t)
	store, err := diskcache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/srv", "/nowhere"}
	first, err := newTestInspector(t, WithPersistentCache(store)).ScanContent(context.Background(), ref, digest, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]Option{{WithPersistentCache(store)}, {WithPersistentCache(store), WithOffline()}} {
		asked.Store(0)
		again, err := newTestInspector(t, opts...).ScanContent(context.Background(), ref, digest, paths)
		if err != nil {
			t.Fatal(err)
		}
		if n := asked.Load(); n != 0 {
			t.Errorf("%d requests for a scan kept in the cache, want 0", n)
		}
		for k := range first {
			if again[k].Path != first[k].Path || again[k].State != first[k].State || again[k].Entries != first[k].Entries ||
				again[k].Bytes != first[k].Bytes || again[k].Mode != first[k].Mode || again[k].UID != first[k].UID {
				t.Errorf("kept %+v, scanned %+v", again[k], first[k])
			}
		}
	}
}

// flipWriter flips the last byte of each write: a registry or proxy that
// corrupts blobs.
type flipWriter struct{ http.ResponseWriter }

func (f *flipWriter) Write(p []byte) (int, error) {
	q := append([]byte{}, p...)
	if len(q) > 0 {
		q[len(q)-1] ^= 0xff
	}
	return f.ResponseWriter.Write(q)
}
