package imageinspect

import (
	"context"
	"reflect"
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
			got, err := newTestInspector().Inspect(context.Background(), host+"/"+tc.repo, tc.platform)
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
		_, err := newTestInspector().Inspect(context.Background(), host+"/multi/oci:1", &Platform{OS: "linux", Architecture: "s390x"})
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
