package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestServeAuditFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   string // "" for none
		alongside bool
	}{
		{name: "off by default", args: nil},
		{name: "on", args: []string{"--audit-interval=10m", "--reports", "--events", "--report-api=wgpolicyk8s"}, alongside: true},
		{name: "a typo in seconds", args: []string{"--audit-interval=10s"}, wantErr: "--audit-interval 10s"},
		{name: "reports without the audit", args: []string{"--reports"}, wantErr: "need --audit-interval"},
		{name: "events without the audit", args: []string{"--events"}, wantErr: "need --audit-interval"},
		{name: "an unknown report API", args: []string{"--audit-interval=10m", "--report-api=kyverno"}, wantErr: "--report-api"},
		{name: "no concurrency", args: []string{"--audit-interval=10m", "--audit-concurrency=0"}, wantErr: "--audit-concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := newServeOptions()
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			so.addFlags(fs)
			base := []string{"--tls-cert-file=tls.crt", "--tls-private-key-file=tls.key", "--kubeconfig=" + writeKubeconfig(t)}
			if err := fs.Parse(append(base, tt.args...)); err != nil {
				t.Fatal(err)
			}
			cfg, err := so.config(io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Alongside != nil; got != tt.alongside {
				t.Errorf("background audit set up: %v, want %v", got, tt.alongside)
			}
		})
	}
}

func TestServeAuditDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "guard")
	so := newServeOptions()
	so.addFlags(pflag.NewFlagSet("serve", pflag.ContinueOnError))
	a := so.audit
	if a.interval != 0 || a.reports.enabled || a.events || a.reports.api != "auto" || a.leaseNamespace != "guard" || a.leaseName != "volumeguard-audit" {
		t.Errorf("defaults %+v: want off, auto, the Lease volumeguard-audit in POD_NAMESPACE", a)
	}
}
