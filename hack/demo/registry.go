package main

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/volumeguard/volumeguard/internal/testimage"
)

// demoImage is an image the demo pushes: a random layer under a config
// that declares the VOLUMEs of the real image of that name.
type demoImage struct {
	repo, tag string
	volumes   []string
	platforms []string // more than one: pushed as a multi-arch index
}

// images are what examples/ refers to as REGISTRY/<repo>:<tag>.
var images = []demoImage{
	{repo: "zookeeper", tag: "3.4.13", volumes: []string{"/data", "/datalog", "/logs"}, platforms: []string{"linux/amd64"}},
	{repo: "mysql", tag: "8.0", volumes: []string{"/var/lib/mysql"}, platforms: []string{"linux/amd64"}},
	{repo: "nginx", tag: "1.27", platforms: []string{"linux/amd64"}},
	{repo: "redis", tag: "7.2", volumes: []string{"/data"}, platforms: []string{"linux/amd64", "linux/arm64"}},
}

func (i demoImage) describe() string {
	declares := "no VOLUME"
	if len(i.volumes) > 0 {
		declares = "VOLUME " + strings.Join(i.volumes, " ")
	}
	what := fmt.Sprintf("%-18s %s", i.repo+":"+i.tag, declares)
	if len(i.platforms) > 1 {
		what += "  (multi-arch: " + strings.Join(i.platforms, ", ") + ")"
	}
	return what
}

type localRegistry struct {
	*httptest.Server
	host string // 127.0.0.1:port; loopback registries are spoken to over plain HTTP
}

// startRegistry runs go-containerregistry's in-memory registry on
// 127.0.0.1 and pushes images to it.
func startRegistry() (*localRegistry, []demoImage, error) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	reg := &localRegistry{Server: srv, host: strings.TrimPrefix(srv.URL, "http://")}
	for _, img := range images {
		if err := reg.push(img); err != nil {
			srv.Close()
			return nil, nil, err
		}
	}
	return reg, images, nil
}

func (r *localRegistry) push(img demoImage) error {
	ref := fmt.Sprintf("%s/%s:%s", r.host, img.repo, img.tag)
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	var manifests []mutate.IndexAddendum
	for _, platform := range img.platforms {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return err
		}
		image, err := testimage.ForPlatform(*p, img.volumes...)
		if err != nil {
			return fmt.Errorf("building %s: %w", ref, err)
		}
		manifests = append(manifests, mutate.IndexAddendum{Add: image, Descriptor: v1.Descriptor{Platform: p}})
	}
	if len(manifests) == 1 {
		err = remote.Write(tag, manifests[0].Add.(v1.Image))
	} else {
		idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, manifests...), types.OCIImageIndex)
		err = remote.WriteIndex(tag, idx)
	}
	if err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
