package main

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// registryOptions are the registry flags that every command reading images
// shares. Values are checked as the flags are parsed, so that a typo fails
// the command at once rather than every lookup later.
type registryOptions struct {
	insecure       []string
	mirrors        map[string][]string // registry -> mirrors, in flag order
	caFile         caFileValue
	allowed        []string
	denied         []string
	allowLinkLocal bool
	denyNetworks   []netip.Prefix
}

func (o *registryOptions) addFlags(fs *pflag.FlagSet) {
	o.mirrors = map[string][]string{}
	fs.StringSliceVar(&o.insecure, "insecure-registry", nil,
		"registry HOST[:PORT] to reach over plain HTTP or unverified TLS (loopback registries already fall back to HTTP); repeatable")
	fs.Var(&mirrorsValue{o.mirrors}, "registry-mirror",
		"REGISTRY=MIRROR[,MIRROR...]: look up REGISTRY's images on its mirrors first, in order, then on REGISTRY itself, as containerd's hosts.toml pulls them "+
			"(docker.io=mirror.example:5000; a mirror may carry a repository prefix, harbor.example/dockerhub-proxy, or http://); repeatable")
	fs.Var(&o.caFile, "registry-ca-file", "PEM file of certificate authorities that registries' certificates are verified with, in addition to the system's")
	fs.Var(&patternsValue{&o.allowed}, "allowed-registries",
		"only look up images of registries matching these patterns, HOST[:PORT][/REPOSITORY-PREFIX] with * globs (docker.io, *.dkr.ecr.*.amazonaws.com, registry.local:*, ghcr.io/my-org); others fail without a request; repeatable")
	fs.Var(&patternsValue{&o.denied}, "denied-registries",
		"never look up images of registries matching these patterns (as --allowed-registries; wins over it); repeatable")
	fs.BoolVar(&o.allowLinkLocal, "allow-link-local", false,
		"let registries resolve to link-local addresses and cloud metadata endpoints (169.254.0.0/16, fe80::/10, fd00:ec2::254, ...), refused by default so that a pod spec cannot make volumeguard probe them")
	fs.Var(&networksValue{&o.denyNetworks}, "deny-networks",
		"never connect to registries at addresses in these networks, CIDR,... (the cluster's service and pod ranges, the API server: 10.96.0.0/12,10.244.0.0/16), as to link-local ones; repeatable")
}

// inspector is the registry client the flags describe, with extra options
// of the command (TTLs, metrics, ...).
func (o *registryOptions) inspector(extra ...imageinspect.Option) (*imageinspect.Inspector, error) {
	opts := []imageinspect.Option{
		imageinspect.WithInsecureRegistries(o.insecure...),
		imageinspect.WithUserAgent("volumeguard/" + version),
		imageinspect.WithMirrors(o.mirrors),
		imageinspect.WithAllowedRegistries(o.allowed...),
		imageinspect.WithDeniedRegistries(o.denied...),
		imageinspect.WithLinkLocalAllowed(o.allowLinkLocal),
		imageinspect.WithBlockedNetworks(o.denyNetworks...),
	}
	if o.caFile.pool != nil {
		opts = append(opts, imageinspect.WithRegistryCAs(o.caFile.pool))
	}
	in, err := imageinspect.New(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("configuring the registry client: %w", err)
	}
	return in, nil
}

// mirrorsValue parses --registry-mirror REGISTRY=MIRROR[,MIRROR...].
type mirrorsValue struct{ m map[string][]string }

func (v *mirrorsValue) Set(s string) error {
	registry, list, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(registry) == "" || strings.TrimSpace(list) == "" {
		return fmt.Errorf("want REGISTRY=MIRROR[,MIRROR...], got %q", s)
	}
	registry = strings.TrimSpace(registry)
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		if err := imageinspect.ValidateMirror(m); err != nil {
			return err
		}
		v.m[registry] = append(v.m[registry], m)
	}
	return nil
}

func (v *mirrorsValue) String() string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(v.m)) { // one order, whatever the map's
		parts = append(parts, r+"="+strings.Join(v.m[r], ","))
	}
	return strings.Join(parts, " ")
}

func (v *mirrorsValue) Type() string { return "registry=mirror" }

// patternsValue collects registry patterns, comma-separated or repeated.
type patternsValue struct{ p *[]string }

func (v *patternsValue) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if err := imageinspect.ValidateRegistryPattern(p); err != nil {
			return err
		}
		*v.p = append(*v.p, p)
	}
	return nil
}

func (v *patternsValue) String() string { return strings.Join(*v.p, ",") }

func (v *patternsValue) Type() string { return "patterns" }

// networksValue collects --deny-networks, comma-separated or repeated.
type networksValue struct{ p *[]netip.Prefix }

func (v *networksValue) Set(s string) error {
	for _, n := range strings.Split(s, ",") {
		p, err := imageinspect.ParseBlockedNetwork(n)
		if err != nil {
			return err
		}
		*v.p = append(*v.p, p)
	}
	return nil
}

func (v *networksValue) String() string {
	out := make([]string, len(*v.p))
	for i, p := range *v.p {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

func (v *networksValue) Type() string { return "networks" }

// caFileValue loads --registry-ca-file as it is parsed.
type caFileValue struct {
	path string
	pool *x509.CertPool
}

func (v *caFileValue) Set(path string) error {
	pool, err := imageinspect.LoadRegistryCAs(path)
	if err != nil {
		return err
	}
	v.path, v.pool = path, pool
	return nil
}

func (v *caFileValue) String() string { return v.path }

func (v *caFileValue) Type() string { return "file" }
