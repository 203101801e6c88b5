package imageinspect

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
)

// ContentScan says what one ScanContent cost and found, for metrics.
type ContentScan struct {
	LayersRead   int   // layers streamed from the registry
	LayersCached int   // layer tables the Inspector's cache answered
	BytesRead    int64 // compressed bytes streamed
	Paths        int   // paths asked
	Unknown      int   // paths answered Unknown
}

// ScanContent tells what the platform image ref names by manifestDigest (a
// PlatformVolumes.ManifestDigest that Inspect returned) ships at each of
// paths, in their order, reading only its layers' tar headers
// (volumecontent). Layer tables are cached by digest in the Inspector and
// shared by every image and caller: layers are content-addressed.
//
// Layers are streamed through the same hosts, credentials, limits and
// circuit breakers as Inspect; each is hashed against its digest. At most
// the content budget (WithContentBudget, or ContentBudget for this call) of
// compressed bytes is read, within ctx. A path the layers could not decide
// is Unknown with the reason, never a guess. The error is for what comes
// before the layers: a bad reference or a manifest that cannot be read.
//
// opts apply to this scan alone (UsingKeychain, ForTenant, ContentBudget).
func (i *Inspector) ScanContent(ctx context.Context, ref, manifestDigest string, paths []string, opts ...InspectOption) ([]volumecontent.Content, error) {
	o, r, lk, err := i.begin(ref, "scanning", opts)
	if err != nil {
		return nil, err
	}
	if _, err := v1.NewHash(manifestDigest); err != nil {
		return nil, fmt.Errorf("scanning %q: manifest digest %q: %w", r.Name(), manifestDigest, err)
	}
	if contents, ok := i.persistedScan(manifestDigest, paths); ok {
		return contents, nil
	}
	if i.opts.offline {
		// An offline run sends nothing: a scan not kept by an earlier run
		// cannot be made, so what the image ships is unknown.
		return nil, fmt.Errorf("scanning %q: layers: %w", r.Name(), ErrNotCached)
	}
	ctx = withTenant(ctx, o.tenant)
	repo := r.Context()
	fp, err := i.fingerprintFor(ctx, lk, repo)
	if err != nil {
		return nil, fmt.Errorf("scanning %q: %w", r.Name(), err)
	}
	m, err := i.byDigest(ctx, lk, repo, manifestDigest, fp)
	if err != nil {
		return nil, registryError(ctx, "reading manifest "+manifestDigest+" of", r.Name(), repo.RegistryStr(), err)
	}
	if m.isIndex() {
		return nil, fmt.Errorf("scanning %q: %s is an index, not a platform image", r.Name(), manifestDigest)
	}
	if m.layers.over > 0 {
		return allUnknown(paths, fmt.Sprintf("the manifest lists %d layers, over the limit of %d read", m.layers.over, maxLayers)), nil
	}
	layers := make([]volumecontent.Layer, len(m.layers.descs))
	for k, d := range m.layers.descs {
		layers[k] = &registryLayer{i: i, lk: lk, repo: repo, desc: d}
	}
	budget := i.opts.contentBudget
	if o.contentBudget > 0 {
		budget = o.contentBudget
	}
	contents, stats := i.scanner.Scan(ctx, layers, paths, volumecontent.WithScanBudget(budget))
	scan := ContentScan{LayersRead: stats.LayersRead, LayersCached: stats.LayersCached, BytesRead: stats.BytesRead, Paths: len(paths)}
	for _, c := range contents {
		if c.State == volumecontent.Unknown {
			scan.Unknown++
		}
	}
	i.stats.contentScans.Add(1)
	i.stats.layerBytes.Add(stats.BytesRead)
	i.opts.metrics.contentScanned(scan)
	i.log.V(1).Info("scanned content", "reference", r.Name(), "manifest", manifestDigest,
		"layersRead", stats.LayersRead, "layersCached", stats.LayersCached, "bytesRead", stats.BytesRead, "unknown", scan.Unknown)
	i.persistScan(manifestDigest, paths, contents)
	return contents, nil
}

func allUnknown(paths []string, reason string) []volumecontent.Content {
	out := make([]volumecontent.Content, len(paths))
	for k, p := range paths {
		out[k] = volumecontent.Content{Path: p, State: volumecontent.Unknown, Reason: reason}
	}
	return out
}

// registryLayer is a layer blob in a repository, opened as a stream.
type registryLayer struct {
	i    *Inspector
	lk   *lookup
	repo name.Repository
	desc v1.Descriptor
}

func (l *registryLayer) Digest() string { return l.desc.Digest.String() }
func (l *registryLayer) Size() int64    { return l.desc.Size }

// Open GETs the blob from the first host of the repository that serves it.
// The body is the caller's to read and close: the host's slot is held only
// until the response headers come, so that a slow read of a large layer
// does not hold back the manifests and configs of other lookups.
func (l *registryLayer) Open(ctx context.Context) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := l.i.onHosts(ctx, l.lk, l.repo, func(hctx context.Context, ep *endpoint) error {
		l.i.log.V(1).Info("fetching layer", "repository", ep.repo.Name(), "digest", l.Digest())
		l.i.stats.layerFetches.Add(1)
		// The request runs on ctx, not on hctx: onHosts ends hctx when this
		// returns, and the body is read after. hctx's values (the slots
		// held) matter only until then.
		resp, err := send(transport.Streamed(ctx), ep, http.MethodGet, endpointURL(ep, "blobs", l.Digest()), "")
		if err != nil {
			return err
		}
		body = resp.Body
		return nil
	})
	if err != nil {
		return nil, registryError(ctx, "reading layer "+l.Digest()+" of", l.repo.Name(), l.repo.RegistryStr(), err)
	}
	return body, nil
}
