package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestRegistryFlags(t *testing.T) {
	dir := t.TempDir()
	noPEM := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(noPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, o *registryOptions)
		bad   string // error says it
	}{
		{
			name: "mirrors, repeated and comma-separated",
			args: []string{"--registry-mirror", "docker.io=mirror.example:5000,http://10.0.0.5:5000", "--registry-mirror", "ghcr.io=harbor.example/ghcr-proxy"},
			check: func(t *testing.T, o *registryOptions) {
				want := map[string][]string{"docker.io": {"mirror.example:5000", "http://10.0.0.5:5000"}, "ghcr.io": {"harbor.example/ghcr-proxy"}}
				if !reflect.DeepEqual(o.mirrors, want) {
					t.Errorf("mirrors = %v, want %v", o.mirrors, want)
				}
			},
		},
		{
			name: "registry patterns",
			args: []string{"--allowed-registries", "docker.io,ghcr.io/my-org", "--allowed-registries", "*.dkr.ecr.*.amazonaws.com", "--denied-registries", "docker.io/evil"},
			check: func(t *testing.T, o *registryOptions) {
				if !reflect.DeepEqual(o.allowed, []string{"docker.io", "ghcr.io/my-org", "*.dkr.ecr.*.amazonaws.com"}) || !reflect.DeepEqual(o.denied, []string{"docker.io/evil"}) {
					t.Errorf("allowed %v, denied %v", o.allowed, o.denied)
				}
			},
		},
		{
			name: "link-local off by default",
			check: func(t *testing.T, o *registryOptions) {
				if o.allowLinkLocal || o.caFile.pool != nil || len(o.denyNetworks) != 0 {
					t.Errorf("defaults: allowLinkLocal %v, CA pool %v, deny networks %v", o.allowLinkLocal, o.caFile.pool, o.denyNetworks)
				}
				if in, err := o.inspector(); in == nil || err != nil {
					t.Errorf("no inspector from the defaults: %v", err)
				}
			},
		},
		{
			name: "networks denied, repeated and comma-separated",
			args: []string{"--deny-networks", "10.96.0.0/12, 10.244.0.0/16", "--deny-networks", "fd00::/8,10.0.0.1"},
			check: func(t *testing.T, o *registryOptions) {
				v := networksValue{&o.denyNetworks}
				if got := v.String(); got != "10.96.0.0/12,10.244.0.0/16,fd00::/8,10.0.0.1/32" {
					t.Errorf("--deny-networks = %s", got)
				}
				if in, err := o.inspector(); in == nil || err != nil {
					t.Errorf("inspector: %v", err)
				}
			},
		},
		{name: "an invalid network", args: []string{"--deny-networks", "10.96.0.0/12,10.0.0.0/33"}, bad: `parsing network "10.0.0.0/33": want CIDR notation`},
		{name: "a mirror without registry", args: []string{"--registry-mirror", "mirror.example"}, bad: "REGISTRY=MIRROR"},
		{name: "an invalid mirror", args: []string{"--registry-mirror", "docker.io=bad host"}, bad: "parsing mirror"},
		{name: "an invalid pattern", args: []string{"--denied-registries", "ghcr.io/[x"}, bad: "parsing registry pattern"},
		{name: "a missing CA file", args: []string{"--registry-ca-file", filepath.Join(dir, "missing.pem")}, bad: "reading registry CA file"},
		{name: "a CA file without certificates", args: []string{"--registry-ca-file", noPEM}, bad: "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o registryOptions
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.SetOutput(new(strings.Builder))
			o.addFlags(fs)
			err := fs.Parse(tc.args)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("error = %v, want one saying %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, &o)
		})
	}
}
