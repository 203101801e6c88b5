package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFixBadUsage(t *testing.T) {
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
		{[]string{"-o", "json", manifest}, "unknown shorthand flag: 'o'"},
		{[]string{"--write", "-"}, "--write cannot replace stdin"},
		{[]string{"--write", manifest, "-"}, "--write cannot replace stdin"},
		{[]string{"--size-limit", "0", manifest}, "--size-limit must be a positive quantity"},
		{[]string{"--size-limit", "lots", manifest}, "--size-limit"},
		{[]string{"--concurrency", "0", manifest}, "--concurrency must be between 1 and 256, not 0"},
		{[]string{"--lookup-timeout", "-1s", manifest}, "--lookup-timeout"},
		{[]string{}, "requires at least 1 arg"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runCommand(t, append([]string{"fix"}, tt.args...)...)
			var exit exitError
			if err == nil || errors.As(err, &exit) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error (exit %d) naming %s", err, usageExitCode, tt.want)
			}
		})
	}
}
