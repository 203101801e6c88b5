package imageinspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// maxVolumePathBytes bounds one declared VOLUME path: PATH_MAX, the longest
// path a Linux runtime could mount at.
const maxVolumePathBytes = 4096

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

// configDoc is the part of an image config that is read; encoding/json
// skips the rest (history, rootfs, env...) without building it.
type configDoc struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
	Config       struct {
		Volumes volumeList `json:"Volumes"`
	} `json:"config"`
}

// parseConfig decodes an image config into what is kept of it, refusing
// more than maxVolumes VOLUMEs, or one longer than maxVolumePathBytes, as
// ErrTooLarge.
//
// Why bounded here: every declared path becomes a finding per container, a
// line of a denial and, in mutate mode, a volume; a 1.4 MB config can
// declare 100,000 of them. They are counted before any is decoded.
func parseConfig(raw []byte, maxVolumes int) (*configInfo, error) {
	var doc configDoc
	doc.Config.Volumes.limit = maxVolumes
	if err := json.Unmarshal(raw, &doc); err != nil {
		if errors.As(err, new(*limitError)) {
			return nil, err // says what it is already
		}
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	return &configInfo{
		platform: Platform{OS: doc.OS, Architecture: doc.Architecture, Variant: doc.Variant},
		volumes:  doc.Config.Volumes.paths,
	}, nil
}

// volumeList decodes config.Volumes ({"/data": {}, ...}) into sorted paths.
type volumeList struct {
	limit int
	paths []string
}

func (l *volumeList) UnmarshalJSON(raw []byte) error {
	if n := len(l.paths) + countElements(raw); n > l.limit {
		return &limitError{fmt.Sprintf("config declares %d VOLUMEs, over the limit of %d", n, l.limit)}
	}
	var m map[string]struct{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for p := range m {
		if len(p) > maxVolumePathBytes {
			return &limitError{fmt.Sprintf("config declares a VOLUME path of %d bytes, over the limit of %d", len(p), maxVolumePathBytes)}
		}
		l.paths = append(l.paths, p)
	}
	// A key repeated in the object, or "Volumes" repeated, is one volume.
	slices.Sort(l.paths)
	l.paths = slices.Compact(l.paths)
	return nil
}

// countElements counts the members of the JSON object, or the elements of
// the JSON array, raw: the commas at its first level, outside strings, plus
// one. raw must be valid JSON, as encoding/json hands it to an UnmarshalJSON.
// It allocates nothing, so that an oversized list is refused before anything
// is built from it.
func countElements(raw []byte) int {
	depth, commas := 0, 0
	inString, escaped, content := false, false, false
	for _, b := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			if depth++; depth == 1 {
				continue
			}
		case '}', ']':
			if depth--; depth == 0 {
				continue
			}
		case ',':
			if depth == 1 {
				commas++
			}
		case '"':
			inString = true
		}
		content = content || depth >= 1
	}
	if !content {
		return 0
	}
	return commas + 1
}

// config returns what the config described by d declares, from the cache or
// with one GET of the config blob. ref names the image in errors.
func (i *Inspector) config(ctx context.Context, lk *lookup, ref name.Reference, d v1.Descriptor) (*configInfo, error) {
	key := d.Digest.String()
	if c, ok := i.configs.Get(key); ok {
		i.stats.cacheHits.Add(1)
		i.opts.metrics.cacheLookup(CacheConfig, true)
		return c, nil
	}
	i.opts.metrics.cacheLookup(CacheConfig, false)
	doing := fmt.Sprintf("reading config %s of", d.Digest)
	if d.Size > i.opts.maxConfigBytes {
		// Refused before asking: the manifest says how big it is.
		return nil, fmt.Errorf("%s %q: %w", doing, ref.Name(), &transport.TooLargeError{What: "config", Size: d.Size, Limit: i.opts.maxConfigBytes})
	}
	fp, err := i.fingerprintFor(ctx, lk, ref.Context())
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", doing, ref.Name(), err)
	}
	v, err := i.shared(ctx, "config\x00"+d.Digest.String()+"\x00"+fp, func(ctx context.Context) (any, error) {
		if c, ok := i.configs.Get(key); ok {
			return c, nil // a flight that ended between our miss and now
		}
		return i.fetchConfig(ctx, lk, ref.Context(), d)
	})
	if err != nil {
		return nil, registryError(ctx, doing, ref.Name(), ref.Context().RegistryStr(), err)
	}
	return v.(*configInfo), nil
}

func (i *Inspector) fetchConfig(ctx context.Context, lk *lookup, repo name.Repository, d v1.Descriptor) (*configInfo, error) {
	var info *configInfo
	if d.Data != nil {
		// Embedded in the manifest (OCI "data"): nobody checked it yet.
		if err := verifyDigest("config", d.Digest, d.Data); err != nil {
			return nil, err
		}
		var err error
		if info, err = parseConfig(d.Data, i.opts.maxVolumes); err != nil {
			return nil, err
		}
	} else if cached, err := i.persistedConfig(repo, d); cached != nil || err != nil {
		info = cached
		if err != nil {
			return nil, err
		}
	} else {
		err := i.onHosts(ctx, lk, repo, func(ctx context.Context, ep *endpoint) error {
			raw, err := i.getBlob(ctx, ep, d)
			if err != nil {
				return err
			}
			if info, err = parseConfig(raw, i.opts.maxVolumes); err == nil {
				i.persistConfig(d, raw)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	i.configs.Add(d.Digest.String(), info, info.size(), 0)
	return info, nil
}
