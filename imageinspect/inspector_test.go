package imageinspect

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestInspectSingleImage(t *testing.T) {
	host := startRegistry(t, nil)
	for _, tc := range []struct {
		name      string
		mediaType types.MediaType
		platform  Platform
		volumes   []string
		want      []string
	}{
		{
			name:      "docker schema 2",
			mediaType: types.DockerManifestSchema2,
			platform:  Platform{"linux", "amd64", ""},
			volumes:   []string{"/datalog", "/data", "/logs"},
			want:      []string{"/data", "/datalog", "/logs"},
		},
		{
			name:      "oci, paths kept as declared",
			mediaType: types.OCIManifestSchema1,
			platform:  Platform{"linux", "arm64", "v8"},
			volumes:   []string{"/var/lib/mysql/", "data", "/tmp//x"},
			want:      []string{"/tmp//x", "/var/lib/mysql/", "data"},
		},
		{
			name:      "no volumes",
			mediaType: types.DockerManifestSchema2,
			platform:  Platform{"linux", "amd64", ""},
			want:      []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := "single/" + strings.NewReplacer(" ", "-", ",", "").Replace(tc.name) + ":1"
			img := pushImage(t, host, repo, imageSpec{mediaType: tc.mediaType, platform: tc.platform, volumes: tc.volumes})

			got, err := newTestInspector(t).Inspect(context.Background(), host+"/"+repo, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfgName, _ := img.ConfigName()
			want := &Image{
				Reference: host + "/" + repo,
				Digest:    digestOf(t, img),
				MediaType: string(tc.mediaType),
				Platforms: []PlatformVolumes{{
					Platform:       tc.platform,
					ManifestDigest: digestOf(t, img),
					ConfigDigest:   cfgName.String(),
					Volumes:        tc.want,
				}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Inspect:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInspectSingleImageIgnoresPlatform(t *testing.T) {
	// Runtimes run a single-platform image whatever the node: report it.
	host := startRegistry(t, nil)
	pushImage(t, host, "amd64only:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	got, err := newTestInspector(t).Inspect(context.Background(), host+"/amd64only:1", &Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if p := platformStrings(got.Platforms); !reflect.DeepEqual(p, []string{"linux/amd64"}) {
		t.Errorf("platforms = %v, want [linux/amd64]", p)
	}
}

func TestInspectDigestReferences(t *testing.T) {
	host := startRegistry(t, nil)
	img := pushImage(t, host, "bydigest:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	pushImage(t, host, "bydigest:other", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/other"}})
	dig := digestOf(t, img)

	for _, tc := range []struct{ name, ref string }{
		{"digest", host + "/bydigest@" + dig},
		{"tag and digest: the digest wins", host + "/bydigest:other@" + dig},
		{"missing tag and digest: the digest wins", host + "/bydigest:nosuchtag@" + dig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newTestInspector(t).Inspect(context.Background(), tc.ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := host + "/bydigest@" + dig; got.Reference != want {
				t.Errorf("Reference = %s, want %s", got.Reference, want)
			}
			if got.Digest != dig || !reflect.DeepEqual(got.Platforms[0].Volumes, []string{"/data"}) {
				t.Errorf("got %s %v, want %s [/data]", got.Digest, got.Platforms[0].Volumes, dig)
			}
		})
	}
}

func TestInspectCoalescesAndCaches(t *testing.T) {
	host := startRegistry(t, nil)
	img := pushImage(t, host, "zk:3.4.13", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data", "/datalog", "/logs"}})
	write(t, host+"/zk:latest", img) // a second tag of the same image
	ct := newCountingTransport()
	in := newTestInspector(t, WithTransport(ct))

	inspectConcurrently := func(ref string, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				if _, err := in.Inspect(context.Background(), ref, nil); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	inspectConcurrently(host+"/zk:3.4.13", 50)
	if m, b := ct.manifests.Load(), ct.blobs.Load(); m != 1 || b != 1 {
		t.Errorf("50 concurrent inspections sent %d manifest and %d blob GETs, want 1 and 1", m, b)
	}
	inspectConcurrently(host+"/zk:3.4.13", 50)
	if m, b := ct.manifests.Load(), ct.blobs.Load(); m != 1 || b != 1 {
		t.Errorf("warm cache: %d manifest and %d blob GETs in all, want still 1 and 1", m, b)
	}
	inspectConcurrently(host+"/zk:latest", 10)
	if m, b := ct.manifests.Load(), ct.blobs.Load(); m != 2 || b != 1 {
		t.Errorf("second tag of the same image: %d manifest and %d blob GETs in all, want 2 and 1 (config shared)", m, b)
	}
	st := in.Stats()
	if st.ManifestFetches != 2 || st.ConfigFetches != 1 || st.CacheHits == 0 {
		t.Errorf("Stats = %+v, want 2 manifest fetches, 1 config fetch, some cache hits", st)
	}
}

func TestInspectManyImages(t *testing.T) {
	// 1,000 inspections over 100 distinct images cost 100 manifest GETs and
	// 100 config GETs.
	host := startRegistry(t, nil)
	const images, rounds = 100, 10
	for k := range images {
		pushImage(t, host, fmt.Sprintf("many/img%d:1", k), imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	}
	ct := newCountingTransport()
	in := newTestInspector(t, WithTransport(ct))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var failed sync.Once
	for r := range rounds * images {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := in.Inspect(context.Background(), fmt.Sprintf("%s/many/img%d:1", host, r%images), nil); err != nil {
				failed.Do(func() { t.Error(err) })
			}
		})
	}
	wg.Wait()
	if m, b := ct.manifests.Load(), ct.blobs.Load(); m != images || b != images {
		t.Errorf("sent %d manifest and %d blob GETs, want %d and %d", m, b, images, images)
	}
}

func TestInspectTagTTL(t *testing.T) {
	host := startRegistry(t, nil)
	pushImage(t, host, "moving:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/old"}})
	now := time.Now()
	in := newTestInspector(t, WithTagTTL(time.Minute), WithClock(func() time.Time { return now }))

	inspect := func() []string {
		t.Helper()
		img, err := in.Inspect(context.Background(), host+"/moving:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return img.Platforms[0].Volumes
	}
	if got := inspect(); !reflect.DeepEqual(got, []string{"/old"}) {
		t.Fatalf("volumes = %v, want [/old]", got)
	}
	pushImage(t, host, "moving:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/new"}})
	if got := inspect(); !reflect.DeepEqual(got, []string{"/old"}) {
		t.Errorf("within the TTL: volumes = %v, want the cached [/old]", got)
	}
	now = now.Add(time.Minute)
	if got := inspect(); !reflect.DeepEqual(got, []string{"/new"}) {
		t.Errorf("after the TTL: volumes = %v, want [/new]", got)
	}
}

func TestInspectDoesNotShareResults(t *testing.T) {
	// Callers may change what they get; the cache must not see it.
	host := startRegistry(t, nil)
	pushImage(t, host, "owned:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	in := newTestInspector(t)
	first, err := in.Inspect(context.Background(), host+"/owned:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Platforms[0].Volumes[0] = "/changed"
	second, err := in.Inspect(context.Background(), host+"/owned:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Platforms[0].Volumes; !reflect.DeepEqual(got, []string{"/data"}) {
		t.Errorf("volumes = %v, want [/data]", got)
	}
}

func BenchmarkInspectCached(b *testing.B) {
	host := startRegistry(b, nil)
	pushImage(b, host, "bench/single:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	pushIndex(b, host, "bench/index:1", buildMultiArch(b, types.OCIImageIndex))
	for _, ref := range []string{"bench/single:1", "bench/index:1"} {
		b.Run(ref, func(b *testing.B) {
			in := newTestInspector(b)
			ctx := context.Background()
			if _, err := in.Inspect(ctx, host+"/"+ref, nil); err != nil {
				b.Fatal(err)
			}
			before := in.Stats()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := in.Inspect(ctx, host+"/"+ref, nil); err != nil {
					b.Fatal(err)
				}
			}
			if after := in.Stats(); after.ManifestFetches != before.ManifestFetches || after.ConfigFetches != before.ConfigFetches {
				b.Fatalf("warm cache fetched: %+v -> %+v", before, after)
			}
		})
	}
}
