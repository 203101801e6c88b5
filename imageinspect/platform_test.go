package imageinspect

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestParsePlatform(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Platform
		wantErr bool
	}{
		{in: "linux/amd64", want: Platform{OS: "linux", Architecture: "amd64"}},
		{in: "linux/arm64/v8", want: Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{in: "windows/amd64", want: Platform{OS: "windows", Architecture: "amd64"}},
		{in: "", wantErr: true},
		{in: "linux", wantErr: true},
		{in: "linux/", wantErr: true},
		{in: "/amd64", wantErr: true},
		{in: "linux/arm64/", wantErr: true},
		{in: "linux/arm/v7/extra", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePlatform(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParsePlatform(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParsePlatform(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.in {
				t.Errorf("String() = %q, want %q", s, tc.in)
			}
		})
	}
}

func TestSelectEntries(t *testing.T) {
	entry := func(os, arch, variant string) v1.Descriptor {
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: os, Architecture: arch, Variant: variant}}
	}
	amd64, arm64, armv7 := entry("linux", "amd64", ""), entry("linux", "arm64", "v8"), entry("linux", "arm", "v7")
	windows := entry("windows", "amd64", "")
	attestation := entry("unknown", "unknown", "")
	annotated := entry("linux", "amd64", "")
	annotated.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest"}
	noPlatform := v1.Descriptor{MediaType: types.OCIManifestSchema1}
	nested := entry("linux", "amd64", "")
	nested.MediaType = types.OCIImageIndex

	all := []v1.Descriptor{amd64, arm64, armv7, windows, attestation, annotated, noPlatform, nested}
	for _, tc := range []struct {
		name    string
		entries []v1.Descriptor
		want    *Platform
		got     []v1.Descriptor
	}{
		{name: "nil: linux only, no attestations or artifacts", entries: all, got: []v1.Descriptor{amd64, arm64, armv7}},
		{name: "nil without linux: all", entries: []v1.Descriptor{windows, attestation}, got: []v1.Descriptor{windows}},
		{name: "os and arch", entries: all, want: &Platform{OS: "linux", Architecture: "arm64"}, got: []v1.Descriptor{arm64}},
		{name: "variant mismatch", entries: all, want: &Platform{"linux", "arm", "v6"}, got: nil},
		{name: "variant match", entries: all, want: &Platform{"linux", "arm", "v7"}, got: []v1.Descriptor{armv7}},
		{name: "arch only", entries: all, want: &Platform{Architecture: "amd64"}, got: []v1.Descriptor{amd64, windows}},
		{name: "windows", entries: all, want: &Platform{OS: "windows", Architecture: "amd64"}, got: []v1.Descriptor{windows}},
		{name: "no match", entries: all, want: &Platform{OS: "linux", Architecture: "s390x"}, got: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := selectEntries(tc.entries, tc.want); !reflect.DeepEqual(got, tc.got) {
				t.Errorf("selectEntries = %v, want %v", got, tc.got)
			}
		})
	}
}

func TestMediaTypeOf(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		want                    types.MediaType
	}{
		{"content type wins", string(types.DockerManifestSchema2), `{}`, types.DockerManifestSchema2},
		{"parameters ignored", string(types.OCIImageIndex) + "; charset=utf-8", `{}`, types.OCIImageIndex},
		{"generic content type, media type in body", "application/json", `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"}`, types.DockerManifestList},
		{"generic content type, schema 1 body", "text/plain", `{"schemaVersion":1,"fsLayers":[]}`, types.DockerManifestSchema1},
		{"oci without media type: index", "application/octet-stream", `{"schemaVersion":2,"manifests":[]}`, types.OCIImageIndex},
		{"oci without media type: manifest", "", `{"schemaVersion":2,"config":{}}`, types.OCIManifestSchema1},
		{"not json", "text/html", `<html>`, "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mediaTypeOf(tc.contentType, []byte(tc.body)); got != tc.want {
				t.Errorf("mediaTypeOf = %q, want %q", got, tc.want)
			}
		})
	}
}
