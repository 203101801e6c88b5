package main

import (
	"context"
	"strings"
	"testing"
)

// TestServeBadUsage: flags are checked all at once, before anything starts,
// and bad usage exits 2 like every other command.
func TestServeBadUsage(t *testing.T) {
	code, err := run(context.Background(), []string{"serve", "--mode", "strict", "--default-size-limit", "lots"})
	if code != usageExitCode || err == nil {
		t.Fatalf("run() = %d, %v; want %d and an error", code, err, usageExitCode)
	}
	for _, want := range []string{"--mode", "--default-size-limit", "--tls-cert-file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
