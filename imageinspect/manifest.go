package imageinspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifest is what is kept of a fetched manifest or index: enough to go on
// without fetching it again, not the raw bytes.
type manifest struct {
	digest    string
	mediaType types.MediaType
	config    v1.Descriptor   // image manifests
	layers    layerList       // image manifests, base first: what ScanContent reads
	entries   []v1.Descriptor // indexes
	size      int64           // estimated bytes held, for the cache
}

func (m *manifest) isIndex() bool { return m.mediaType.IsIndex() }

// maxIndexEntries bounds the entries an index may list. Real indexes list
// a dozen platforms, each with its attestation; a hostile one listing
// thousands would cost a request per entry and push everything else out of
// the cache. Refused as ErrTooLarge before any entry is decoded.
const maxIndexEntries = 1024

// parseManifest decodes raw, whose media type the registry gave as
// contentType, refusing anything that is not a current image manifest or
// index. Only what is kept is decoded: an image manifest's layers are
// counted before they are built, an index's entries too.
func parseManifest(raw []byte, contentType, digest string) (*manifest, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		// Valid JSON, and an empty manifest to encoding/json.
		return nil, errors.New("parsing manifest: the registry sent an empty body or JSON null instead of a manifest (a broken registry, proxy or cache)")
	}
	mt := mediaTypeOf(contentType, raw)
	// What is kept is a fraction of raw, but grows with it (index entries).
	m := &manifest{digest: digest, mediaType: mt, size: int64(len(raw))}
	switch mt {
	case types.DockerManifestList, types.OCIImageIndex:
		idx := indexDoc{Manifests: entryList{limit: maxIndexEntries}}
		if err := json.Unmarshal(raw, &idx); err != nil {
			if errors.As(err, new(*limitError)) {
				return nil, err
			}
			return nil, fmt.Errorf("parsing index: %w", err)
		}
		m.entries = idx.Manifests.entries
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
		mf := struct {
			Config v1.Descriptor `json:"config"`
			Layers layerList     `json:"layers"`
		}{Layers: layerList{limit: maxLayers}}
		if err := json.Unmarshal(raw, &mf); err != nil {
			return nil, fmt.Errorf("parsing manifest: %w", err)
		}
		if ct := mf.Config.MediaType; ct != "" && ct != types.DockerConfigJSON && ct != types.OCIConfigJSON {
			// An OCI artifact (Helm chart, signature, ...): no runtime runs it.
			return nil, fmt.Errorf("%w: config media type %s is not a container image config", ErrUnsupportedMediaType, ct)
		}
		if mf.Config.Digest.Algorithm == "" {
			return nil, errors.New("parsing manifest: it names no config digest")
		}
		m.config, m.layers = mf.Config, mf.Layers
	default:
		return nil, &unsupportedMediaTypeError{mediaType: string(mt)}
	}
	return m, nil
}

// indexDoc is the part of an index that is read.
type indexDoc struct {
	Manifests entryList `json:"manifests"`
}

// entryList decodes an index's entries, refusing more than limit.
type entryList struct {
	limit   int
	entries []v1.Descriptor
}

func (l *entryList) UnmarshalJSON(raw []byte) error {
	if n := countElements(raw); n > l.limit {
		return &limitError{fmt.Sprintf("index lists %d entries, over the limit of %d", n, l.limit)}
	}
	return json.Unmarshal(raw, &l.entries)
}

// maxLayers bounds the layer descriptors kept per image manifest. Real
// images have some dozens (overlayfs mounts at most ~500 lower layers); a
// manifest listing more is still inspected, and its content is Unknown.
const maxLayers = 512

// layerList decodes an image manifest's layers, keeping none when there are
// more than limit: they stay counted in over.
type layerList struct {
	limit int
	descs []v1.Descriptor
	over  int // how many the manifest lists, when over limit
}

func (l *layerList) UnmarshalJSON(raw []byte) error {
	if n := countElements(raw); n > l.limit {
		l.over = n
		return nil
	}
	return json.Unmarshal(raw, &l.descs)
}

// knownManifestTypes are the manifest media types a registry may answer.
var knownManifestTypes = map[types.MediaType]bool{
	types.DockerManifestSchema2:       true,
	types.OCIManifestSchema1:          true,
	types.DockerManifestList:          true,
	types.OCIImageIndex:               true,
	types.DockerManifestSchema1:       true,
	types.DockerManifestSchema1Signed: true,
}

// mediaTypeOf trusts the Content-Type when it is a manifest type; some
// registries (static file servers, old proxies) send a generic one, and then
// the body says what it is.
func mediaTypeOf(contentType string, raw []byte) types.MediaType {
	ct, _, _ := strings.Cut(contentType, ";")
	mt := types.MediaType(strings.TrimSpace(ct))
	if knownManifestTypes[mt] {
		return mt
	}
	var probe struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Config        json.RawMessage `json:"config"`
		Manifests     json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return mt
	}
	switch {
	case probe.SchemaVersion == 1:
		return types.DockerManifestSchema1
	case knownManifestTypes[probe.MediaType]:
		return probe.MediaType
	case probe.SchemaVersion == 2 && probe.Manifests != nil:
		return types.OCIImageIndex
	case probe.SchemaVersion == 2 && probe.Config != nil:
		return types.OCIManifestSchema1
	}
	return mt
}

func isSchema1(mt string) bool {
	return types.MediaType(mt) == types.DockerManifestSchema1 || types.MediaType(mt) == types.DockerManifestSchema1Signed
}

// isImageManifest reports whether an index entry points at an image manifest.
// Indexes may omit entry media types; the fetched manifest is checked again.
func isImageManifest(mt types.MediaType) bool {
	return mt == "" || mt == types.DockerManifestSchema2 || mt == types.OCIManifestSchema1
}

// unsupportedMediaTypeError is a manifest media type we refuse; Inspect
// rewrites it with the image and what to do (unsupportedError).
type unsupportedMediaTypeError struct{ mediaType string }

func (e *unsupportedMediaTypeError) Error() string {
	return fmt.Sprintf("unsupported media type %q", e.mediaType)
}

func (e *unsupportedMediaTypeError) Is(target error) bool { return target == ErrUnsupportedMediaType }
