package crirun

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// appPackage is the program every image runs (app/main.go).
const appPackage = "github.com/volumeguard/volumeguard/internal/crirun/app"

// AppPath is where the app binary sits in every image.
const AppPath = "/app"

// Image is a test image: a base layer holding only AppPath, then Layers in
// order, and Volumes declared in its config. It runs `AppPath` (wait for
// SIGTERM) as User ("" is root, as in an image without USER).
type Image struct {
	Layers  [][]Entry
	Volumes []string
	User    string
}

// startRegistry serves an in-process registry on 127.0.0.1 until the test
// ends and returns its host:port.
func startRegistry(t interface{ Cleanup(func()) }) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// buildApp compiles the app statically for this machine into dir.
func buildApp(t testing.TB, goBin, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "app")
	build(t, goBin, out, appPackage)
	return out
}

// BuildProgram compiles the Go package pkg (an import path of this module)
// static and stripped for this machine, as the Dockerfile builds
// volumeguard, into a temporary directory of t, and returns its path. It
// skips or fails as Start does without the tools.
func BuildProgram(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), path.Base(pkg))
	build(t, requireTools(t).goBin, out, "-ldflags=-s -w", pkg)
	return out
}

// build runs go build -o out with args.
func build(t testing.TB, goBin, out string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append([]string{"build", "-trimpath", "-o", out}, args...)...)
	// No cgo: the image has no libc. GOFLAGS is cleared so that a -race in
	// it (which needs cgo) cannot reach this build.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH, "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", args[len(args)-1], err, msg)
	}
}

// baseLayer puts the app binary at AppPath.
func baseLayer(app string) (v1.Layer, error) {
	bin, err := os.ReadFile(app)
	if err != nil {
		return nil, fmt.Errorf("reading the app binary: %w", err)
	}
	return Layer(File(AppPath, 0o755, 0, 0, string(bin)))
}

// pushImage writes img, on top of base, to ref.
func pushImage(ref string, base v1.Layer, img Image) error {
	layers := []v1.Layer{base}
	for i, entries := range img.Layers {
		l, err := Layer(entries...)
		if err != nil {
			return fmt.Errorf("building layer %d of %s: %w", i+1, ref, err)
		}
		layers = append(layers, l)
	}
	image, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return fmt.Errorf("stacking the layers of %s: %w", ref, err)
	}
	cfg, err := image.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the config of %s: %w", ref, err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", goruntime.GOARCH
	cfg.Config.Entrypoint = []string{AppPath}
	cfg.Config.User = img.User
	cfg.Config.Volumes = map[string]struct{}{}
	for _, v := range img.Volumes {
		cfg.Config.Volumes[v] = struct{}{}
	}
	image, err = mutate.ConfigFile(image, cfg)
	if err != nil {
		return fmt.Errorf("writing the config of %s: %w", ref, err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", ref, err)
	}
	if err := remote.Write(r, image); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
