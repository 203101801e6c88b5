package imageinspect

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Platform is an image platform: OS "linux", Architecture "amd64",
// Variant "v8" ...
type Platform struct {
	OS, Architecture, Variant string
}

// String returns "os/arch" or "os/arch/variant", as docker and containerd
// print platforms.
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParsePlatform parses "os/arch" or "os/arch/variant".
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, fmt.Errorf("parsing platform %q: want os/arch or os/arch/variant", s)
	}
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return Platform{}, fmt.Errorf("parsing platform %q: empty part", s)
		}
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// matches reports whether an image of platform got satisfies the wanted
// one. Each field is compared only when both sides set it: a pod may pin
// only kubernetes.io/os or only kubernetes.io/arch, and an index entry
// without a variant runs on any variant of its architecture.
func (want Platform) matches(got Platform) bool {
	return fieldMatches(want.OS, got.OS) &&
		fieldMatches(want.Architecture, got.Architecture) &&
		fieldMatches(want.Variant, got.Variant)
}

func fieldMatches(want, got string) bool {
	return want == "" || got == "" || want == got
}

// isAttestation reports whether an index entry is a build attestation
// (BuildKit provenance, SBOM) rather than a runnable image.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && (d.Platform.OS == "unknown" || d.Platform.Architecture == "unknown")
}

func platformOf(p *v1.Platform) Platform {
	if p == nil {
		return Platform{}
	}
	return Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}
