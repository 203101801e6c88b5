package imageinspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
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
	entries   []v1.Descriptor // indexes
	size      int64           // estimated bytes held, for the cache
}

func (m *manifest) isIndex() bool { return m.mediaType.IsIndex() }

// configInfo is what is kept of an image config.
type configInfo struct {
	platform Platform
	volumes  []string // sorted, as declared
}

// size estimates the bytes a configInfo holds, for the cache.
func (c *configInfo) size() int64 {
	n := int64(64 + len(c.platform.String()))
	for _, v := range c.volumes {
		n += int64(16 + len(v))
	}
	return n
}

// parseManifest decodes raw, whose media type the registry gave as
// contentType, refusing anything that is not a current image manifest or
// index.
func parseManifest(raw []byte, contentType, digest string) (*manifest, error) {
	mt := mediaTypeOf(contentType, raw)
	// What is kept is a fraction of raw, but grows with it (index entries).
	m := &manifest{digest: digest, mediaType: mt, size: int64(len(raw))}
	switch mt {
	case types.DockerManifestList, types.OCIImageIndex:
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing index: %w", err)
		}
		m.entries = idx.Manifests
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
		mf, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing manifest: %w", err)
		}
		if ct := mf.Config.MediaType; ct != "" && ct != types.DockerConfigJSON && ct != types.OCIConfigJSON {
			// An OCI artifact (Helm chart, signature, ...): no runtime runs it.
			return nil, fmt.Errorf("%w: config media type %s is not a container image config", ErrUnsupportedMediaType, ct)
		}
		m.config = mf.Config
	default:
		return nil, &unsupportedMediaTypeError{mediaType: string(mt)}
	}
	return m, nil
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

// parseConfig decodes an image config into what is kept of it.
func parseConfig(raw []byte) (*configInfo, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	info := &configInfo{platform: Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}
	for v := range cf.Config.Volumes {
		info.volumes = append(info.volumes, v)
	}
	sort.Strings(info.volumes)
	return info, nil
}

// unsupportedMediaTypeError is a manifest media type we refuse; Inspect
// rewrites it with the image and what to do (unsupportedError).
type unsupportedMediaTypeError struct{ mediaType string }

func (e *unsupportedMediaTypeError) Error() string {
	return fmt.Sprintf("unsupported media type %q", e.mediaType)
}

func (e *unsupportedMediaTypeError) Is(target error) bool { return target == ErrUnsupportedMediaType }
