// Package testimage makes small images that declare VOLUMEs and pushes them:
// what the tests, the demo and the benchmarks all need from a registry.
package testimage

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// New returns a random one-layer linux/amd64 image whose config declares volumes.
func New(volumes ...string) (v1.Image, error) {
	return ForPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}, volumes...)
}

// ForPlatform is New for another platform.
func ForPlatform(p v1.Platform, volumes ...string) (v1.Image, error) {
	img, err := random.Image(128, 1)
	if err != nil {
		return nil, fmt.Errorf("making a random image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the random image's config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Config.Volumes = map[string]struct{}{}
	for _, v := range volumes {
		cfg.Config.Volumes[v] = struct{}{}
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("declaring volumes %v: %w", volumes, err)
	}
	return img, nil
}

// Push writes a new image declaring volumes to ref and returns its digest.
func Push(ref string, volumes []string, opts ...remote.Option) (string, error) {
	img, err := New(volumes...)
	if err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", ref, err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return "", fmt.Errorf("pushing %q: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("digesting %q: %w", ref, err)
	}
	return d.String(), nil
}
