package imageinspect

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// NormalizeReference returns ref fully qualified as a runtime resolves it:
// "zookeeper" is "index.docker.io/library/zookeeper:latest", and a digest
// wins over a tag ("repo:tag@sha256:..." is "repo@sha256:..."). It does not
// contact any registry.
func NormalizeReference(ref string) (string, error) {
	r, err := parseReference(ref, nil)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

// parseReference parses ref with docker's defaults (weak validation: default
// registry, "library/" and "latest") and marks it insecure when its registry
// is one of the insecure hosts.
func parseReference(ref string, insecure map[string]bool) (name.Reference, error) {
	if ref == "" || strings.TrimSpace(ref) != ref {
		return nil, fmt.Errorf("parsing image reference %q: %w: empty or surrounded by spaces", ref, ErrInvalidReference)
	}
	if strings.Contains(ref, "://") {
		return nil, fmt.Errorf("parsing image reference %q: %w: an image reference has no URL scheme; use host/repository:tag", ref, ErrInvalidReference)
	}
	opts := []name.Option{name.WeakValidation}
	r, err := parseDigestFirst(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w: %w", ref, ErrInvalidReference, err)
	}
	if insecure[r.Context().RegistryStr()] {
		// Parse again: name.Insecure is how go-containerregistry picks http.
		if r, err = parseDigestFirst(ref, append(opts, name.Insecure)...); err != nil {
			return nil, fmt.Errorf("parsing image reference %q: %w: %w", ref, ErrInvalidReference, err)
		}
	}
	return r, nil
}

// parseDigestFirst makes a digest win over a tag, as runtimes do.
// name.ParseReference tries a tag first, which only fails on "name:tag@digest"
// because "@" is not allowed in a repository; parsing the digest form first
// states the rule instead of depending on that. Without "@",
// name.ParseReference also refuses URLs ("https://host/app").
func parseDigestFirst(ref string, opts ...name.Option) (name.Reference, error) {
	if strings.Contains(ref, "@") {
		return name.NewDigest(ref, opts...)
	}
	return name.ParseReference(ref, opts...)
}

// parseHost spells a registry host as references parse it ("docker.io" is
// "index.docker.io"), or says why h is not one.
func parseHost(h string) (string, error) {
	trimmed := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "https://"), "http://"), "/")
	reg, err := name.NewRegistry(trimmed, name.WeakValidation)
	if err != nil || trimmed == "" || strings.Contains(trimmed, "/") {
		return "", fmt.Errorf("parsing registry host %q: want host[:port]", h)
	}
	return reg.RegistryStr(), nil
}
