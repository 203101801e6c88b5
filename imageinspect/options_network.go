package imageinspect

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// Five redirects: registries redirect blobs once (to object storage or a
// CDN), some twice; more is a misconfiguration or a trap.
const defaultMaxRedirects = 5

// networkOptions are where and how registries are reached.
type networkOptions struct {
	mirrors      map[string][]mirror // registry host -> mirrors, in order
	rootCAs      *x509.CertPool      // nil: the system's
	allowed      []registryPattern   // empty: every registry
	denied       []registryPattern
	guard        transport.Guard
	maxRedirects int
}

func defaultNetworkOptions() networkOptions {
	return networkOptions{mirrors: map[string][]mirror{}, maxRedirects: defaultMaxRedirects}
}

// WithInsecureRegistries makes the given registry hosts ("host" or
// "host:port") be spoken to over plain HTTP, or over HTTPS without verifying
// their certificate, as docker's insecure-registries. Loopback registries
// (localhost, 127.0.0.1, [::1]) already fall back to plain HTTP, as in
// go-containerregistry. A host that is not one is refused.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		var errs []error
		for _, h := range hosts {
			host, err := parseHost(h)
			if err != nil {
				errs = append(errs, fmt.Errorf("imageinspect.WithInsecureRegistries: %w", err))
				continue
			}
			o.insecure[host] = true
		}
		return errors.Join(errs...)
	}
}

// WithMirrors sends the lookups of a registry to its mirrors first, in
// order, and to the registry itself only when they all fail, as containerd's
// hosts.toml sends pulls: {"docker.io": {"mirror.example:5000"}}. A key
// "docker.io" means index.docker.io. A mirror is "host[:port]", optionally
// with a repository prefix ("harbor.example/dockerhub-proxy", as Harbor's
// proxy cache projects want) and "http://" for plain HTTP. Each mirror gets
// at most half the time left, so that the registry still has its chance.
// Credentials for a mirror are resolved for the mirror's host. An invalid
// registry or mirror is refused (ValidateMirror tells them).
func WithMirrors(mirrors map[string][]string) Option {
	return func(o *options) error {
		var errs []error
		// Sorted, so that the errors come out in one order.
		for _, registry := range slices.Sorted(maps.Keys(mirrors)) {
			key, err := parseHost(registry)
			if err != nil {
				errs = append(errs, fmt.Errorf("imageinspect.WithMirrors: %w", err))
				continue
			}
			for _, s := range mirrors[registry] {
				m, err := parseMirror(s)
				if err != nil {
					errs = append(errs, fmt.Errorf("imageinspect.WithMirrors: mirror of %s: %w", registry, err))
					continue
				}
				o.network.mirrors[key] = append(o.network.mirrors[key], m)
			}
		}
		return errors.Join(errs...)
	}
}

// WithRegistryCAs sets the certificate authorities registries' certificates
// are verified with (default: the system's). LoadRegistryCAs reads them from
// a PEM file, on top of the system's.
func WithRegistryCAs(pool *x509.CertPool) Option {
	return func(o *options) error {
		o.network.rootCAs = pool
		return nil
	}
}

// LoadRegistryCAs returns the system's certificate authorities plus those of
// the PEM file at path, for WithRegistryCAs.
func LoadRegistryCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading registry CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		if block, _ := pem.Decode(data); block == nil {
			return nil, fmt.Errorf("reading registry CA file %s: no PEM certificate in it", path)
		}
		return nil, fmt.Errorf("reading registry CA file %s: no valid certificate in it", path)
	}
	return pool, nil
}

// WithAllowedRegistries restricts lookups to the registries matching one of
// the patterns; an image elsewhere fails with ErrRegistryNotAllowed before
// any request. Patterns are "host[:port][/repository-prefix]" with
// path.Match globs in each part: "docker.io", "*.dkr.ecr.*.amazonaws.com",
// "registry.local:*", "ghcr.io/my-org". A prefix matches whole path
// segments ("ghcr.io/my-org" matches ghcr.io/my-org/app, not
// ghcr.io/my-organization). Official Docker Hub images are
// "docker.io/library/NAME". An invalid pattern is refused
// (ValidateRegistryPattern tells them). Default: every registry.
func WithAllowedRegistries(patterns ...string) Option {
	return registryPatterns("WithAllowedRegistries", patterns, func(o *options) *[]registryPattern { return &o.network.allowed })
}

// WithDeniedRegistries refuses the registries matching one of the patterns
// (see WithAllowedRegistries), even if allowed. An invalid pattern is
// refused, so that a typo cannot leave open what was meant to be closed.
func WithDeniedRegistries(patterns ...string) Option {
	return registryPatterns("WithDeniedRegistries", patterns, func(o *options) *[]registryPattern { return &o.network.denied })
}

func registryPatterns(option string, patterns []string, field func(*options) *[]registryPattern) Option {
	return func(o *options) error {
		var errs []error
		for _, p := range patterns {
			rp, err := parsePattern(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("imageinspect.%s: %w", option, err))
				continue
			}
			*field(o) = append(*field(o), rp)
		}
		return errors.Join(errs...)
	}
}

// WithLinkLocalAllowed lets the default transport connect to link-local
// addresses (169.254.0.0/16, fe80::/10) and the cloud metadata endpoints
// (fd00:ec2::254, 100.100.100.200, 168.63.129.16), which it refuses by
// default: an image reference is written by whoever writes a pod spec, and
// must not make the webhook probe its node's metadata service.
func WithLinkLocalAllowed(allow bool) Option {
	return func(o *options) error {
		o.network.guard.AllowLinkLocal = allow
		return nil
	}
}

// WithBlockedNetworks refuses connections to addresses in these networks
// too (the cluster's service and pod ranges, the API server, ...), as the
// link-local ones: after name resolution, before any packet is sent, and
// for IP literals sent through a proxy. ParseBlockedNetworks reads them
// from CIDR notation. The zero netip.Prefix, which is no network, is
// refused.
func WithBlockedNetworks(prefixes ...netip.Prefix) Option {
	return func(o *options) error {
		for i, p := range prefixes {
			if !p.IsValid() {
				return fmt.Errorf("imageinspect.WithBlockedNetworks: network %d of %d is not a valid prefix", i+1, len(prefixes))
			}
		}
		for _, p := range prefixes {
			o.network.guard.Blocked = append(o.network.guard.Blocked, p.Masked())
		}
		return nil
	}
}

// ParseBlockedNetwork reads a network in CIDR notation ("10.96.0.0/12",
// "fd00::/8") for WithBlockedNetworks; an address without a prefix length
// is that address alone.
func ParseBlockedNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parsing network %q: want CIDR notation, such as 10.96.0.0/12 or fd00::/8", s)
		}
		return netip.PrefixFrom(addr.WithZone(""), addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing network %q: want CIDR notation, such as 10.96.0.0/12 or fd00::/8", s)
	}
	return p, nil
}

// WithMaxRedirects bounds the redirects followed per request (default 5,
// 0 or more); a redirect loop is refused at once.
func WithMaxRedirects(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("imageinspect.WithMaxRedirects(%d): want 0 or more", n)
		}
		o.network.maxRedirects = n
		return nil
	}
}

// mirror is one mirror of a registry.
type mirror struct {
	registry string // host[:port]
	prefix   string // repository prefix on the mirror, "" for none
	insecure bool   // "http://" was given
}

// ValidateMirror reports whether s is a mirror WithMirrors accepts.
func ValidateMirror(s string) error {
	_, err := parseMirror(s)
	return err
}

func parseMirror(s string) (mirror, error) {
	var m mirror
	rest := strings.TrimSpace(s)
	if after, ok := strings.CutPrefix(rest, "http://"); ok {
		m.insecure, rest = true, after
	} else {
		rest = strings.TrimPrefix(rest, "https://")
	}
	hostPart, prefix, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	// containerd's hosts.toml spells a prefix "host/v2/prefix": only a whole
	// "v2" segment is that spelling ("v2proxy" is a project name).
	if prefix == "v2" {
		prefix = ""
	} else if after, ok := strings.CutPrefix(prefix, "v2/"); ok {
		prefix = after
	}
	reg, err := name.NewRegistry(hostPart, name.StrictValidation)
	if err != nil || hostPart == "" {
		return m, fmt.Errorf("parsing mirror %q: want host[:port][/prefix]", s)
	}
	m.registry, m.prefix = reg.RegistryStr(), prefix
	if prefix != "" {
		if _, err := name.NewRepository(m.registry+"/"+prefix+"/x", name.StrictValidation); err != nil {
			return m, fmt.Errorf("parsing mirror %q: invalid repository prefix %q", s, prefix)
		}
	}
	return m, nil
}
