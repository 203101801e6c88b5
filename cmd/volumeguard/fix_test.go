package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/volumeguard/volumeguard/internal/testimage"
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

// TestFixWriteErrorIsCounted: a file --write cannot replace (a named pipe
// named as an argument) is an error of the report: its summary counts it
// and fix exits 2.
func TestFixWriteErrorIsCounted(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:1"
	if _, err := testimage.Push(ref, []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "pod.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: \"" + ref + "\"}]}\n"
	go func() {
		// Blocks until fix opens the pipe to read it.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			_, _ = io.WriteString(w, pod)
			_ = w.Close()
		}
	}()
	var out, errOut bytes.Buffer
	root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	root.SetArgs([]string{"fix", "--write", "--no-cache", fifo})
	err := root.ExecuteContext(context.Background())
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 2 {
		t.Errorf("err = %v, want exit code 2", err)
	}
	for _, w := range []string{"error: writing " + fifo + ": not a regular file\n", ", 1 error\n"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
		}
	}
}
