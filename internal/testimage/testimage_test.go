package testimage

import (
	"io"
	"log"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushDeclaresVolumes(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:v1"
	digest, err := Push(ref, []string{"/data", "/logs"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var volumes []string
	for v := range cfg.Config.Volumes {
		volumes = append(volumes, v)
	}
	sort.Strings(volumes)
	if !reflect.DeepEqual(volumes, []string{"/data", "/logs"}) || cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config declares %v on %s/%s, want /data /logs on linux/amd64", volumes, cfg.OS, cfg.Architecture)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Errorf("digest %s, Push said %s", d, digest)
	}
}
