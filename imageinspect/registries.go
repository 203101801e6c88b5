package imageinspect

import (
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// registryPattern matches registries and repository prefixes
// (WithAllowedRegistries).
type registryPattern struct {
	raw  string
	host string   // glob on host[:port]
	path []string // globs on the first repository segments
}

// ValidateRegistryPattern reports whether p is a valid registry pattern.
func ValidateRegistryPattern(p string) error {
	_, err := parsePattern(p)
	return err
}

func parsePattern(p string) (registryPattern, error) {
	rp := registryPattern{raw: p}
	bad := fmt.Errorf("parsing registry pattern %q: want host[:port][/repository-prefix] with * ? [...] globs", p)
	s := strings.TrimSpace(p)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	host, rest, _ := strings.Cut(s, "/")
	if host == "" {
		return rp, bad
	}
	if !strings.ContainsAny(host, "*?[") {
		h, err := parseHost(host) // docker.io is index.docker.io
		if err != nil {
			return rp, bad
		}
		host = h
	}
	rp.host = host
	if rest != "" {
		rp.path = strings.Split(rest, "/")
	}
	for _, part := range append([]string{host}, rp.path...) {
		if _, err := path.Match(part, ""); err != nil || part == "" {
			return rp, bad
		}
	}
	return rp, nil
}

func (p registryPattern) matches(repo name.Repository) bool {
	if ok, _ := path.Match(p.host, repo.RegistryStr()); !ok {
		return false
	}
	segments := strings.Split(repo.RepositoryStr(), "/")
	if len(p.path) > len(segments) {
		return false
	}
	for k, glob := range p.path {
		if ok, _ := path.Match(glob, segments[k]); !ok {
			return false
		}
	}
	return true
}

// admit refuses repositories the allowed and denied patterns rule out.
func (o *networkOptions) admit(repo name.Repository) error {
	for _, p := range o.denied {
		if p.matches(repo) {
			return &transport.NotAllowedError{Target: repo.Name(), Why: fmt.Sprintf("denied by the registry pattern %q", p.raw)}
		}
	}
	if len(o.allowed) == 0 {
		return nil
	}
	var raws []string
	for _, p := range o.allowed {
		if p.matches(repo) {
			return nil
		}
		raws = append(raws, fmt.Sprintf("%q", p.raw))
	}
	return &transport.NotAllowedError{Target: repo.Name(), Why: "not among the allowed registries (" + strings.Join(raws, ", ") + ")"}
}
