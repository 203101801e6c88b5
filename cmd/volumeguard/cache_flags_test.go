package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/workload"
)

// TestCheckPersistentCache runs check as a CI job would, run after run,
// against an in-process registry that counts every request.
func TestCheckPersistentCache(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // the user's credentials stay out
	var requests atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, ref := range []string{host + "/zk:1", host + "/pg:1"} {
		if _, err := testimage.Push(ref, []string{"/data"}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	manifest := func(images ...string) string {
		var b strings.Builder
		for k, img := range images {
			b.WriteString("---\napiVersion: v1\nkind: Pod\nmetadata: {name: p" + string(rune('a'+k)) + "}\nspec:\n  containers: [{name: c, image: " + img + "}]\n")
		}
		p := filepath.Join(t.TempDir(), "pods.yaml")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	known := manifest(host+"/zk:1", host+"/pg:1")
	check := func(args ...string) (checkReport, int) {
		t.Helper()
		out, err := runCommand(t, append([]string{"check", "-o", "json", "--cache-dir", dir}, args...)...)
		code := 0
		var exit exitError
		if errors.As(err, &exit) {
			code = exit.code
		} else if err != nil {
			t.Fatalf("check %v: %v", args, err)
		}
		var r checkReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("check %v: %v\n%s", args, err, out)
		}
		return r, code
	}
	tests := []struct {
		name         string
		args         []string
		wantCode     int
		wantFindings int
		wantErrors   []string // images named by errors
		wantRequests bool
	}{
		{"cold: the registry is read", []string{known}, 1, 2, nil, true},
		{"warm: zero requests", []string{known}, 1, 2, nil, false},
		{"offline, cached", []string{"--offline", known}, 1, 2, nil, false},
		{"offline names every image it lacks", []string{"--offline", manifest(host+"/zk:1", host+"/new:1", host+"/other:2")},
			2, 1, []string{host + "/new:1", host + "/other:2"}, false},
		{"--no-cache reads the registry", []string{"--no-cache", known}, 1, 2, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests.Load()
			r, code := check(tt.args...)
			if code != tt.wantCode || len(r.Findings) != tt.wantFindings {
				t.Errorf("exit %d with %d findings, want %d with %d", code, len(r.Findings), tt.wantCode, tt.wantFindings)
			}
			var named []string
			for _, e := range r.Errors {
				named = append(named, e.Image)
				if !strings.Contains(e.Message, "not in the cache") {
					t.Errorf("error %q does not say the cache lacks it", e.Message)
				}
			}
			if strings.Join(named, " ") != strings.Join(tt.wantErrors, " ") {
				t.Errorf("errors name %v, want %v", named, tt.wantErrors)
			}
			if sent := requests.Load() - before; (sent > 0) != tt.wantRequests {
				t.Errorf("%d registry requests, want some: %t", sent, tt.wantRequests)
			}
		})
	}
}

type checkReport struct {
	Findings []struct{ Image string }          `json:"findings"`
	Errors   []struct{ Image, Message string } `json:"errors"`
}

func TestCacheFlagsValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative TTL", []string{"--tag-ttl", "-1s"}, "--tag-ttl must not be negative"},
		{"offline without a cache", []string{"--offline", "--no-cache"}, "--offline needs the cache"},
		{"offline with an empty dir", []string{"--offline", "--cache-dir", ""}, "--offline needs the cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCommand(t, append([]string{"check"}, append(tt.args, "-")...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestCheckConcurrencyIsPerRegistryToo: --concurrency lookups reach one
// registry at once, not the webhook's 8 per host. The registry holds every
// manifest request until 12 are in flight; with fewer it would hold them
// until the run's --lookup-timeout.
func TestCheckConcurrencyIsPerRegistryToo(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	const want = 12
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var inFlight atomic.Int64
	all := make(chan struct{})
	var closeAll sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			if inFlight.Add(1) >= want {
				closeAll.Do(func() { close(all) })
			}
			select {
			case <-all:
			case <-r.Context().Done():
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	var b strings.Builder
	for k := range want {
		ref := fmt.Sprintf("%s/app-%d:1", host, k)
		if _, err := testimage.Push(ref, nil); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers: [{name: c, image: %s}]\n", k, ref)
	}
	inFlight.Store(0) // the pushes' own manifest reads
	p := filepath.Join(t.TempDir(), "pods.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCommand(t, "check", "--no-cache", "--concurrency", fmt.Sprint(want), "--lookup-timeout", "20s", p)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

// TestCheckReportFromDecodedManifests: a re-run reads unchanged manifests
// from the cache directory's decoded manifests and reports exactly what
// the first run did, lines, columns and templates included.
func TestCheckReportFromDecodedManifests(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	if _, err := testimage.Push(host+"/zk:1", []string{"/data", "/logs"}); err != nil {
		t.Fatal(err)
	}
	manifests := t.TempDir()
	for name, content := range map[string]string{
		"pod.yaml": "# a comment\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: " + host + "/zk:1}\n",
		"helm.yaml": "---\n# Source: chart/templates/zk.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n" +
			"  annotations: {volumeguard.io/ignore: /logs}\nspec:\n  template:\n    spec:\n      containers:\n      - name: zk\n        image: " + host + "/zk:1\n",
		"crlf.yaml": strings.ReplaceAll("apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  initContainers:\n  - name: i\n    image: "+host+"/zk:1\n", "\n", "\r\n"),
	} {
		if err := os.WriteFile(filepath.Join(manifests, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	run := func() string {
		t.Helper()
		out, err := runCommand(t, "check", "-o", "json", "--cache-dir", dir, manifests)
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 1 {
			t.Fatalf("check: %v, want exit 1\n%s", err, out)
		}
		return out
	}
	first := run()
	if _, err := os.Stat(filepath.Join(dir, workload.ObjectCacheFile)); err != nil {
		t.Fatalf("no decoded manifests after the first run: %v", err)
	}
	if second := run(); second != first {
		t.Errorf("second run\n%s\nfirst run\n%s", second, first)
	}
	for _, want := range []string{`"line": 7`, `"template": "chart/templates/zk.yaml"`} {
		if !strings.Contains(first, want) {
			t.Errorf("report lacks %s:\n%s", want, first)
		}
	}
}
