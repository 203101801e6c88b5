package runtime

import (
	"context"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/policy"
)

// scanFacts reads the image from the loopback registry and scans its
// layers for what it ships under volumes, as the analysis does.
func scanFacts(t *testing.T, ref string, volumes []string) policy.ImageFacts {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var scanned []volumecontent.Layer
	for _, l := range layers {
		scanned = append(scanned, registryLayer{l})
	}
	contents, _ := volumecontent.NewScanner().Scan(t.Context(), scanned, volumes)
	pv := policy.PlatformVolumes{Platform: policy.Platform{OS: "linux", Architecture: "amd64"}, Volumes: volumes, Content: map[string]policy.Content{}}
	for i, c := range contents {
		pv.Content[volumes[i]] = policy.Content{
			State: policy.ContentState(c.State), Entries: c.Entries, Bytes: c.Bytes,
			UID: c.UID, GID: c.GID, Mode: c.Mode, Kind: policy.ContentKind(c.Kind), Reason: c.Reason,
		}
	}
	return policy.ImageFacts{Platforms: []policy.PlatformVolumes{pv}}
}

// registryLayer is a v1.Layer as the scanner reads it.
type registryLayer struct{ l v1.Layer }

func (r registryLayer) Digest() string {
	d, err := r.l.Digest()
	if err != nil {
		return ""
	}
	return d.String()
}

func (r registryLayer) Size() int64 {
	n, _ := r.l.Size()
	return n
}

func (r registryLayer) Open(context.Context) (io.ReadCloser, error) { return r.l.Compressed() }

// slashed appends "/" to each path, so that a listing follows a VOLUME
// path that is a symbolic link to what the runtime mounted.
func slashed(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p + "/"
	}
	return out
}
