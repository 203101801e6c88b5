package imageinspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// manifestAccept lists what a manifest request accepts. Schema 1 is accepted
// only to refuse it with a useful message rather than a 404.
var manifestAccept = strings.Join([]string{
	string(types.OCIImageIndex),
	string(types.DockerManifestList),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestSchema2),
	string(types.DockerManifestSchema1),
	string(types.DockerManifestSchema1Signed),
}, ",")

// fetched is a manifest as the registry sent it.
type fetched struct {
	raw          []byte
	contentType  string
	digest       string // sha256 of raw
	headerDigest string // Docker-Content-Digest, "" when absent
}

func endpointURL(ep *endpoint, kind, reference string) string {
	// The scheme is set by the authenticated transport from what the ping
	// found (https, or http for insecure and loopback registries).
	return fmt.Sprintf("https://%s/v2/%s/%s/%s", ep.repo.RegistryStr(), ep.repo.RepositoryStr(), kind, reference)
}

// send sends one request and returns a 200 response, whose body the
// transport has already read within its cap; anything else is an error.
func send(ctx context.Context, ep *endpoint, method, url, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: ep.rt}).Do(req)
	if err != nil {
		return nil, transport.RedactError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, ggcrtransport.CheckError(resp, http.StatusOK)
	}
	return resp, nil
}

// get GETs url and returns its body (already read within the transport's
// cap) and headers.
func get(ctx context.Context, ep *endpoint, url, accept string) ([]byte, http.Header, error) {
	resp, err := send(ctx, ep, http.MethodGet, url, accept)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	return raw, resp.Header, nil
}

// getManifest GETs a manifest by tag or digest.
func (i *Inspector) getManifest(ctx context.Context, ep *endpoint, reference string) (*fetched, error) {
	i.log.V(1).Info("fetching manifest", "repository", ep.repo.Name(), "reference", reference)
	i.stats.manifestFetches.Add(1)
	raw, header, err := get(ctx, ep, endpointURL(ep, "manifests", reference), manifestAccept)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &fetched{
		raw:          raw,
		contentType:  header.Get("Content-Type"),
		digest:       "sha256:" + hex.EncodeToString(sum[:]),
		headerDigest: header.Get("Docker-Content-Digest"),
	}, nil
}

// headManifest asks what a tag points to without downloading it: registries
// answer HEAD with Docker-Content-Digest, and Docker Hub does not count HEADs
// against its pull limits. "" when the registry does not say.
func (i *Inspector) headManifest(ctx context.Context, ep *endpoint, reference string) (string, error) {
	i.log.V(1).Info("revalidating tag", "repository", ep.repo.Name(), "reference", reference)
	i.stats.manifestHeads.Add(1)
	resp, err := send(ctx, ep, http.MethodHead, endpointURL(ep, "manifests", reference), manifestAccept)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	d := resp.Header.Get("Docker-Content-Digest")
	if _, err := v1.NewHash(d); err != nil {
		return "", nil
	}
	return d, nil
}

// getBlob GETs a config blob and checks it against its descriptor.
func (i *Inspector) getBlob(ctx context.Context, ep *endpoint, d v1.Descriptor) ([]byte, error) {
	i.log.V(1).Info("fetching config", "repository", ep.repo.Name(), "digest", d.Digest.String())
	i.stats.configFetches.Add(1)
	raw, _, err := get(ctx, ep, endpointURL(ep, "blobs", d.Digest.String()), "")
	if err != nil {
		return nil, err
	}
	if err := verifyDigest("config", d.Digest, raw); err != nil {
		return nil, err
	}
	if d.Size > 0 && int64(len(raw)) != d.Size {
		return nil, fmt.Errorf("verifying config size: got %d bytes, the manifest says %d", len(raw), d.Size)
	}
	return raw, nil
}

// verifyDigest checks content against the digest naming it.
func verifyDigest(what string, want v1.Hash, raw []byte) error {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", what, err)
	}
	h.Write(raw)
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return &digestMismatchError{what: what, want: want.String(), got: want.Algorithm + ":" + got}
	}
	return nil
}
