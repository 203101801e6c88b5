package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckBadUsage(t *testing.T) {
	// On loopback, so that a usage error this test misses reads nothing
	// from a public registry.
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: \"127.0.0.1:1/nginx:1\"}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "yaml"}, "--output"},
		{[]string{"--concurrency", "0"}, "--concurrency must be between 1 and 256, not 0"},
		{[]string{"--concurrency", "257"}, "--concurrency must be between 1 and 256, not 257"},
		{[]string{"--concurrency", "100000000"}, "--concurrency must be between 1 and 256"},
		{[]string{"--timeout", "-1s"}, "--timeout"},
		{[]string{"--timeout", "soon"}, "--timeout"},
		{[]string{"--lookup-timeout", "-1s"}, "--lookup-timeout"},
		{[]string{"--size-limit", "lots"}, "--size-limit"},
		{[]string{"--size-limit", "0"}, "--size-limit must be a positive quantity"},
		{[]string{"--size-limit", "-1Gi"}, "--size-limit must be a positive quantity"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runCommand(t, append(append([]string{"check"}, tt.args...), manifest)...)
			var exit exitError
			if err == nil || errors.As(err, &exit) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error (exit %d) naming %s", err, usageExitCode, tt.want)
			}
		})
	}
}

// TestRunExitsWithTheSignalsCode: a command stopped by a signal exits
// 128+n, as a shell reports a process the signal killed; one that ends
// well anyway exits 0.
func TestRunExitsWithTheSignalsCode(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "never-read.yaml")
	tests := []struct {
		name     string
		sig      os.Signal
		args     []string
		wantCode int
		wantErr  string
	}{
		{"check interrupted", os.Interrupt, []string{"check", missing}, 130, "interrupted (SIGINT)"},
		{"check terminated", syscall.SIGTERM, []string{"check", "-o", "json", missing}, 143, "terminated (SIGTERM)"},
		{"a command that succeeds anyway", syscall.SIGTERM, []string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(interrupted{tt.sig})
			code, err := run(ctx, tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (error %v)", code, tt.wantCode, err)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestCheckValidateAllInFlagOrder: every bad flag is reported in one run,
// in the order of the flags, so a user fixes them all at once.
func TestCheckValidateAllInFlagOrder(t *testing.T) {
	o := checkOptions{output: "yaml", platform: "linux/", concurrency: 0, sizeLimit: "lots", timeout: -1, lookupTimeout: -1,
		ciFormats: true, ci: ciOutputOptions{files: []string{"report.sarif"}}}
	_, err := o.validate()
	if err == nil {
		t.Fatal("validate() = nil, want errors")
	}
	at := -1
	for _, w := range []string{"--output", "--platform", "--concurrency", "--size-limit", "--timeout", "--lookup-timeout", "--output-file"} {
		i := strings.Index(err.Error(), w)
		if i <= at {
			t.Errorf("%s at %d, want it after the previous problem (at %d) in:\n%s", w, i, at, err)
		}
		at = i
	}
}

// TestCheckSizeLimitHelp: check's --size-limit says the pod template's
// annotation wins in the fix it prints, as fix's does; audit's, which
// does not read it, does not say so.
func TestCheckSizeLimitHelp(t *testing.T) {
	for cmd, want := range map[string]bool{"check": true, "fix": true, "audit": false} {
		out, err := runCommand(t, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		var usage string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "--size-limit") {
				usage = line
			}
		}
		if got := strings.Contains(usage, "volumeguard.io/size-limit"); got != want {
			t.Errorf("%s --help: --size-limit names the annotation: %v, want %v:\n%s", cmd, got, want, usage)
		}
	}
}
