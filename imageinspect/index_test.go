package imageinspect

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestInspectIndex(t *testing.T) {
	host := startRegistry(t, nil)
	docker := buildMultiArch(t, types.DockerManifestList)
	oci := buildMultiArch(t, types.OCIImageIndex)
	pushIndex(t, host, "multi/docker:1", docker)
	pushIndex(t, host, "multi/oci:1", oci)
	windowsOnly := buildIndexOf(t, Platform{"windows", "amd64", ""}, `C:\data`)
	pushIndex(t, host, "multi/windows:1", windowsOnly)

	type platVols map[string][]string
	for _, tc := range []struct {
		name     string
		repo     string
		index    v1.ImageIndex
		platform *Platform
		want     platVols
	}{
		{"docker list, all linux platforms", "multi/docker:1", docker, nil,
			platVols{"linux/amd64": {"/data"}, "linux/arm64/v8": {"/data", "/logs"}}},
		{"oci index, all linux platforms", "multi/oci:1", oci, nil,
			platVols{"linux/amd64": {"/data"}, "linux/arm64/v8": {"/data", "/logs"}}},
		{"linux/arm64 matches arm64/v8", "multi/oci:1", oci, &Platform{OS: "linux", Architecture: "arm64"},
			platVols{"linux/arm64/v8": {"/data", "/logs"}}},
		{"linux/arm64/v8", "multi/docker:1", docker, &Platform{"linux", "arm64", "v8"},
			platVols{"linux/arm64/v8": {"/data", "/logs"}}},
		{"linux/amd64", "multi/docker:1", docker, &Platform{OS: "linux", Architecture: "amd64"},
			platVols{"linux/amd64": {"/data"}}},
		{"windows/amd64 when asked", "multi/oci:1", oci, &Platform{OS: "windows", Architecture: "amd64"},
			platVols{"windows/amd64": {`C:\data`}}},
		{"os only", "multi/oci:1", oci, &Platform{OS: "linux"},
			platVols{"linux/amd64": {"/data"}, "linux/arm64/v8": {"/data", "/logs"}}},
		{"no linux platform: all of them", "multi/windows:1", windowsOnly, nil,
			platVols{"windows/amd64": {`C:\data`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newTestInspector(t).Inspect(context.Background(), host+"/"+tc.repo, tc.platform)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != digestOf(t, tc.index) {
				t.Errorf("Digest = %s, want the index digest %s", got.Digest, digestOf(t, tc.index))
			}
			mt, _ := tc.index.MediaType()
			if got.MediaType != string(mt) {
				t.Errorf("MediaType = %s, want %s", got.MediaType, mt)
			}
			gotVols := platVols{}
			var order []string
			for _, p := range got.Platforms {
				gotVols[p.Platform.String()] = p.Volumes
				order = append(order, p.Platform.String())
				if p.ManifestDigest == "" || p.ConfigDigest == "" {
					t.Errorf("%s: empty digests: %+v", p.Platform, p)
				}
			}
			if !reflect.DeepEqual(gotVols, tc.want) {
				t.Errorf("volumes = %v, want %v", gotVols, tc.want)
			}
			if !sortedStrings(order) {
				t.Errorf("platforms not sorted: %v", order)
			}
		})
	}

	t.Run("no matching platform", func(t *testing.T) {
		_, err := newTestInspector(t).Inspect(context.Background(), host+"/multi/oci:1", &Platform{OS: "linux", Architecture: "s390x"})
		assertErr(t, err, ErrNoMatchingPlatform, "linux/s390x", "linux/amd64, linux/arm64/v8")
	})
}

// buildIndexOf is an OCI index of one image.
func buildIndexOf(t *testing.T, p Platform, volumes ...string) v1.ImageIndex {
	t.Helper()
	img := buildImage(t, imageSpec{mediaType: types.OCIManifestSchema1, platform: p, volumes: volumes})
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
	})
}

func sortedStrings(s []string) bool {
	for k := 1; k < len(s); k++ {
		if s[k-1] > s[k] {
			return false
		}
	}
	return true
}

func TestIndexLimits(t *testing.T) {
	host := startRegistry(t, nil)
	var adds []mutate.IndexAddendum
	for k := range 40 {
		p := Platform{"linux", fmt.Sprintf("arch%d", k), ""}
		img := buildImage(t, imageSpec{mediaType: types.OCIManifestSchema1, platform: p, volumes: []string{"/data"}})
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture}}})
	}
	pushIndex(t, host, "wide:1", mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...))

	// The index: 10,000 entries, 2 MB, under the manifest cap.
	var entries []string
	for k := range 10_000 {
		entries = append(entries, fmt.Sprintf(`{"mediaType":%q,"size":500,"digest":"sha256:%064x","platform":{"os":"linux","architecture":"amd64"}}`, types.OCIManifestSchema1, k))
	}
	fake := serve(t, fakeRegistry(map[string]fakeManifest{
		"huge/manifests/v1": {contentType: string(types.OCIImageIndex),
			body: fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, types.OCIImageIndex, strings.Join(entries, ","))},
	}))

	for _, tc := range []struct {
		name     string
		ref      string
		platform *Platform
		err      string // a too_large error saying this; "" succeeds
		counts   [3]int64
	}{
		{name: "10,000 entries: refused from the index alone", ref: fake + "/huge:v1", err: "index lists 10000 entries, over the limit of 1024", counts: [3]int64{1, 0, 0}},
		{name: "40 linux images: refused before reading any", ref: host + "/wide:1",
			err: "the index has 40 images for linux, over the limit of 32 read per index; pin the pod's platform", counts: [3]int64{1, 0, 0}},
		{name: "40 linux images, one pinned: read", ref: host + "/wide:1", platform: &Platform{OS: "linux", Architecture: "arch7"}, counts: [3]int64{2, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := newCountingTransport()
			img, err := newTestInspector(t, WithTransport(ct)).Inspect(context.Background(), tc.ref, tc.platform)
			if tc.err != "" {
				assertErr(t, err, ErrTooLarge, tc.err, tc.ref)
			} else if err != nil {
				t.Fatal(err)
			} else if got := platformStrings(img.Platforms); !reflect.DeepEqual(got, []string{"linux/arch7"}) {
				t.Errorf("platforms = %v, want [linux/arch7]", got)
			}
			if got := ct.counts(); got != tc.counts {
				t.Errorf("[manifest GETs, HEADs, blob GETs] = %v, want %v", got, tc.counts)
			}
		})
	}
}

func TestNestedIndex(t *testing.T) {
	host := startRegistry(t, nil)
	inner := buildIndexOf(t, Platform{"linux", "amd64", ""}, "/data")
	outer := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{
		Add:        inner,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}},
	})
	pushIndex(t, host, "nested:1", outer)
	innerDigest := digestOf(t, inner)

	for _, tc := range []struct {
		name     string
		platform *Platform
		kind     error
		says     []string
	}{
		{name: "any platform", kind: ErrUnsupportedMediaType, says: []string{"the entry for linux/amd64 (" + innerDigest + ") is itself an index", "nested indexes are not read"}},
		{name: "its platform", platform: &Platform{OS: "linux", Architecture: "amd64"}, kind: ErrUnsupportedMediaType, says: []string{"is itself an index"}},
		{name: "another platform", platform: &Platform{OS: "linux", Architecture: "s390x"}, kind: ErrNoMatchingPlatform, says: []string{"no image for platform linux/s390x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTestInspector(t).Inspect(context.Background(), host+"/nested:1", tc.platform)
			assertErr(t, err, tc.kind, tc.says...)
		})
	}
}
