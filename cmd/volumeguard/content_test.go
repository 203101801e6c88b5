package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/volumeguard/volumeguard/internal/testimage"
)

// pushPostgres18 pushes a postgres-18-like image (VOLUME
// /var/lib/postgresql, 3 entries beneath it owned 999:999 0750) to an
// in-process registry and returns its reference.
func pushPostgres18(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/postgres:18"
	img, err := testimage.WithContent([]string{"/var/lib/postgresql"}, []testimage.Entry{
		testimage.Dir("var/lib/postgresql", 0o750, 999, 999), testimage.Dir("var/lib/postgresql/18", 0o750, 999, 999),
		testimage.File("var/lib/postgresql/18/PG_VERSION", 1126),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestCheckReportsContentAndNearMounts(t *testing.T) {
	ref := pushPostgres18(t)
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers: [{name: db, image: " + ref +
		", volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}]\n  volumes: [{name: data, emptyDir: {}}]\n"
	if err := os.WriteFile(manifest, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string) {
		var out, errOut bytes.Buffer
		root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
		root.SetArgs(append(append([]string{"check"}, args...), manifest))
		_ = root.ExecuteContext(context.Background()) // exit 1: findings
		return out.String(), errOut.String()
	}
	t.Run("json", func(t *testing.T) {
		out, stderr := run("-o", "json")
		var doc struct {
			Findings []struct {
				Path       string          `json:"path"`
				Content    json.RawMessage `json:"content"`
				NearMounts []string        `json:"nearMounts"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Findings) != 1 {
			t.Fatalf("output %s (%v), want one finding", out, err)
		}
		f := doc.Findings[0]
		want := `{"state":"populated","entries":2,"bytes":1126,"uid":999,"gid":999,"mode":"0750"}`
		var compact bytes.Buffer
		_ = json.Compact(&compact, f.Content)
		if compact.String() != want || len(f.NearMounts) != 1 || f.NearMounts[0] != "/var/lib/postgresql/data" {
			t.Errorf("finding %s %s %v, want content %s and the near mount", f.Path, f.Content, f.NearMounts, want)
		}
		if stderr != "" {
			t.Errorf("stderr %q, want nothing beside the JSON", stderr)
		}
	})
	t.Run("text", func(t *testing.T) {
		out, stderr := run()
		if !strings.Contains(stderr, "--scan-content") {
			t.Errorf("stderr %q, want the note that content was scanned", stderr)
		}
		for _, w := range []string{"ships 2 files, 1.1 KiB", "goes to an anonymous volume", "mount at /var/lib/postgresql itself"} {
			if !strings.Contains(out, w) {
				t.Errorf("text report lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("scan disabled", func(t *testing.T) {
		out, stderr := run("-o", "json", "--scan-content=false")
		if strings.Contains(out, `"content"`) || stderr != "" {
			t.Errorf("output %s / %s, want no content without the scan", out, stderr)
		}
	})
}

func TestInspectShowsContentPerPlatform(t *testing.T) {
	ref := pushPostgres18(t)
	out, err := runCommand(t, "inspect", ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/var/lib/postgresql: ships 2 files, 1.1 KiB (directory 0750, owner 999:999)"; !strings.Contains(out, want) {
		t.Errorf("inspect text lacks %q:\n%s", want, out)
	}
	out, err = runCommand(t, "inspect", "-o", "json", ref)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Platforms []struct {
			Content map[string]struct {
				State string `json:"state"`
				Mode  string `json:"mode"`
			} `json:"content"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if c := doc.Platforms[0].Content["/var/lib/postgresql"]; c.State != "populated" || c.Mode != "0750" {
		t.Errorf("inspect json content %+v, want populated 0750:\n%s", c, out)
	}
}

func TestFixSkipsPopulatedPathsWithANote(t *testing.T) {
	ref := pushPostgres18(t)
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers: [{name: db, image: " + ref + "}]\n"
	if err := os.WriteFile(manifest, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	root.SetArgs([]string{"fix", manifest})
	// Exit 1: the path is left to a person, who mounts a volume holding
	// the files, or has the webhook copy them.
	var exit exitError
	if err := root.ExecuteContext(context.Background()); !errors.As(err, &exit) || exit.code != 1 {
		t.Errorf("fix: %v, want exit 1", err)
	}
	if strings.Contains(out.String(), "emptyDir") {
		t.Errorf("fix covered a populated path with an emptyDir:\n%s", out.String())
	}
	for _, w := range []string{"note:", "left VOLUME /var/lib/postgresql as it is", "ships 2 files", "1 path left as it is"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
		}
	}
}
