package imageinspect

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PersistentStore is a cache that outlives the Inspector (diskcache on
// disk), consulted after the in-memory cache and before the registry.
// Blobs (manifests and configs) are content-addressed: Blob returns only
// bytes that hash to digest. Tags are keyed by the fully qualified
// reference alone, not by credentials: the store belongs to one user.
type PersistentStore interface {
	Blob(digest string) ([]byte, bool)
	PutBlob(digest string, raw []byte) error
	// Tag says what ref resolved to when stored, and whether that is
	// recent enough to trust without asking the registry.
	Tag(ref string) (digest string, fresh, ok bool)
	PutTag(ref, digest string) error
}

// ErrNotCached: an offline Inspector (WithOffline) lacks what it was asked
// for in its persistent cache.
var ErrNotCached = errors.New("not in the cache, and offline")

// WithPersistentCache consults s before every registry request for a
// manifest or config, and stores what the registry answers in it.
func WithPersistentCache(s PersistentStore) Option {
	return func(o *options) error {
		if s == nil {
			return errors.New("imageinspect.WithPersistentCache(nil): want a store")
		}
		o.persistent = s
		return nil
	}
}

// WithOffline answers from the persistent cache alone: what it lacks fails
// with ErrNotCached and no request is sent. Stored tags serve however old.
func WithOffline() Option {
	return func(o *options) error {
		o.offline = true
		return nil
	}
}

// persistedManifest returns ref's manifest from the persistent store, and
// caches it in memory; or for an offline Inspector an ErrNotCached error.
// It returns nil, nil when the registry must be asked.
func (i *Inspector) persistedManifest(ref name.Reference, fp string) (*manifest, error) {
	s := i.opts.persistent
	if s == nil {
		return nil, i.offlineMiss(ref, "manifest")
	}
	digest, byDigest := "", false
	if d, ok := ref.(name.Digest); ok {
		digest, byDigest = d.DigestStr(), true
	} else if dg, fresh, ok := s.Tag(ref.Name()); ok && (fresh || i.opts.offline) {
		digest = dg
	}
	if digest == "" {
		return nil, i.offlineMiss(ref, "tag")
	}
	raw, ok := s.Blob(digest)
	if !ok {
		return nil, i.offlineMiss(ref, "manifest")
	}
	m, err := parseManifest(raw, "", digest)
	if err != nil {
		return nil, nil // stored by an older version, or unreadable: ask again
	}
	i.manifests.Add(manifestKey(ref.Context(), m.digest), m, m.size, 0)
	if !byDigest {
		i.tags.Add(tagKey(ref, fp), tagEntry{digest: m.digest, confirmed: i.opts.now()}, tagEntrySize, i.opts.tagTTL)
	}
	return m, nil
}

// persistManifest stores a manifest read from the registry, and for a tag
// what it resolved to. A store that fails costs a refetch next run, not
// this lookup.
func (i *Inspector) persistManifest(ref name.Reference, digest string, raw []byte) {
	s := i.opts.persistent
	if s == nil {
		return
	}
	err := s.PutBlob(digest, raw)
	if _, byDigest := ref.(name.Digest); !byDigest && err == nil {
		err = s.PutTag(ref.Name(), digest)
	}
	if err != nil {
		i.log.V(1).Info("not caching a manifest on disk", "reference", ref.Name(), "error", err.Error())
	}
}

// persistedConfig returns the config d names from the persistent store;
// nil, nil when the registry must be asked.
func (i *Inspector) persistedConfig(repo name.Repository, d v1.Descriptor) (*configInfo, error) {
	if s := i.opts.persistent; s != nil {
		if raw, ok := s.Blob(d.Digest.String()); ok {
			if info, err := parseConfig(raw, i.opts.maxVolumes); err == nil {
				return info, nil
			}
		}
	}
	return nil, i.offlineMiss(repo.Digest(d.Digest.String()), "config")
}

func (i *Inspector) persistConfig(d v1.Descriptor, raw []byte) {
	if s := i.opts.persistent; s != nil {
		if err := s.PutBlob(d.Digest.String(), raw); err != nil {
			i.log.V(1).Info("not caching a config on disk", "digest", d.Digest.String(), "error", err.Error())
		}
	}
}

func (i *Inspector) offlineMiss(ref name.Reference, what string) error {
	if !i.opts.offline {
		return nil
	}
	return fmt.Errorf("%w: the %s of %s (run once online to fill the cache)", ErrNotCached, what, ref.Name())
}
