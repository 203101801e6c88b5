package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// After a failed revalidation (registry down, rate-limited, slow) the
// expired tag is served again for this long before the next try, so that an
// outage neither fails every admission nor sends a request per lookup.
const staleRetryAfter = 30 * time.Second

const tagEntrySize = 96 // a digest string

// tagEntry is what a tag resolved to, and when the registry last said so:
// how long it has been served stale counts from then.
type tagEntry struct {
	digest    string
	confirmed time.Time
}

// Cache keys. Tags and "not found" answers are keyed by the fingerprint of
// the credentials they were read with. Manifests are keyed by repository and
// digest, configs by digest alone: content-addressed, they are shared by
// every caller (a config is only asked for after a manifest naming it was
// read from the asking repository).
func tagKey(ref name.Reference, fp string) string { return ref.Name() + "\x00" + fp }

func manifestKey(repo name.Repository, digest string) string { return repo.Name() + "@" + digest }

// manifest returns the manifest ref points to, from the caches or the registry.
func (i *Inspector) manifest(ctx context.Context, lk *lookup, ref name.Reference) (*manifest, error) {
	m, err := i.resolveManifest(ctx, lk, ref)
	if err != nil {
		var ue *unsupportedMediaTypeError
		if errors.As(err, &ue) {
			return nil, unsupportedError("reading manifest of", ref.Name(), ue.mediaType)
		}
		return nil, registryError(ctx, "reading manifest of", ref.Name(), ref.Context().RegistryStr(), err)
	}
	return m, nil
}

func (i *Inspector) resolveManifest(ctx context.Context, lk *lookup, ref name.Reference) (*manifest, error) {
	fp, err := i.fingerprintFor(ctx, lk, ref.Context())
	if err != nil {
		return nil, err
	}
	if d, ok := ref.(name.Digest); ok {
		return i.byDigest(ctx, lk, ref.Context(), d.DigestStr(), fp)
	}
	t, expired, ok := i.tags.Peek(tagKey(ref, fp))
	i.opts.metrics.cacheLookup(CacheTag, ok && !expired)
	switch {
	case ok && !expired:
		return i.byDigest(ctx, lk, ref.Context(), t.digest, fp)
	case ok:
		return i.revalidate(ctx, lk, ref, t, fp)
	}
	return i.byTag(ctx, lk, ref, fp)
}

// byDigest returns the manifest digest names, cached or with one GET.
func (i *Inspector) byDigest(ctx context.Context, lk *lookup, repo name.Repository, digest, fp string) (*manifest, error) {
	if m, ok := i.manifests.Get(manifestKey(repo, digest)); ok {
		i.stats.cacheHits.Add(1)
		i.opts.metrics.cacheLookup(CacheManifest, true)
		return m, nil
	}
	i.opts.metrics.cacheLookup(CacheManifest, false)
	ref := repo.Digest(digest)
	if err := i.knownNotFound(ref, fp); err != nil {
		return nil, err
	}
	v, err := i.shared(ctx, "get\x00"+ref.Name()+"\x00"+fp, func(ctx context.Context) (any, error) {
		// A flight that ended between our cache miss and now filled it.
		if m, ok := i.manifests.Get(manifestKey(repo, digest)); ok {
			return m, nil
		}
		return i.fetchManifest(ctx, lk, ref, fp)
	})
	if err != nil {
		return nil, err
	}
	return v.(*manifest), nil
}

// byTag GETs the manifest a tag points to, once for concurrent callers.
func (i *Inspector) byTag(ctx context.Context, lk *lookup, ref name.Reference, fp string) (*manifest, error) {
	if err := i.knownNotFound(ref, fp); err != nil {
		return nil, err
	}
	v, err := i.shared(ctx, "get\x00tag\x00"+tagKey(ref, fp), func(ctx context.Context) (any, error) {
		if m := i.cachedTag(ref, fp); m != nil {
			return m, nil
		}
		return i.fetchManifest(ctx, lk, ref, fp)
	})
	if err != nil {
		return nil, err
	}
	return v.(*manifest), nil
}

// cachedTag returns the manifest of a fresh tag entry, if both are cached.
func (i *Inspector) cachedTag(ref name.Reference, fp string) *manifest {
	if t, ok := i.tags.Get(tagKey(ref, fp)); ok {
		if m, ok := i.manifests.Get(manifestKey(ref.Context(), t.digest)); ok {
			return m
		}
	}
	return nil
}

// revalidate asks, with a HEAD, whether an expired tag still points to old.
// Unchanged, the cached manifest and config serve: one HEAD, no GET.
func (i *Inspector) revalidate(ctx context.Context, lk *lookup, ref name.Reference, old tagEntry, fp string) (*manifest, error) {
	key := tagKey(ref, fp)
	v, err := i.shared(ctx, "head\x00tag\x00"+key, func(ctx context.Context) (any, error) {
		if t, ok := i.tags.Get(key); ok {
			return t.digest, nil // revalidated by a flight that just ended
		}
		var digest string
		err := i.onHosts(ctx, lk, ref.Context(), func(ctx context.Context, ep *endpoint) error {
			var err error
			digest, err = i.headManifest(ctx, ep, ref.Identifier())
			return err
		})
		if err == nil && digest != "" {
			i.tags.Add(key, tagEntry{digest: digest, confirmed: i.opts.now()}, tagEntrySize, i.opts.tagTTL)
		}
		return digest, err
	})
	kind, _ := classify(ctx, err, "")
	switch {
	case err == nil && v.(string) != "":
		return i.byDigest(ctx, lk, ref.Context(), v.(string), fp)
	case kind == ErrNotFound:
		i.tags.Remove(key)
		i.rememberNotFound(ref, fp, err)
		return nil, err
	case kind == ErrUnavailable || kind == ErrTimeout || kind == ErrRateLimited:
		// stale-if-error: what the tag pointed to a TTL ago beats no
		// answer, for a while (WithMaxStale).
		age := i.opts.now().Sub(old.confirmed)
		left := i.opts.maxStale - (age - i.opts.tagTTL)
		if left <= 0 {
			i.tags.Remove(key)
			return nil, fmt.Errorf("%w (the registry last confirmed the tag %s ago; an expired tag is served for at most %s while revalidating it fails)",
				err, age.Round(time.Second), i.opts.maxStale)
		}
		i.stats.staleServed.Add(1)
		i.log.V(1).Info("serving an expired tag: revalidating it failed", "reference", ref.Name(), "reason", kind.Error())
		i.tags.ExtendExpired(key, min(staleRetryAfter, i.opts.tagTTL, left), func(t tagEntry) bool { return t == old })
		return i.byDigest(ctx, lk, ref.Context(), old.digest, fp)
	}
	// The registry did not say (no Docker-Content-Digest, HEAD refused, a
	// 401 to look into): a GET does.
	return i.byTag(ctx, lk, ref, fp)
}

// fetchManifest GETs ref from its hosts, checks and caches it.
func (i *Inspector) fetchManifest(ctx context.Context, lk *lookup, ref name.Reference, fp string) (*manifest, error) {
	if m, err := i.persistedManifest(ref, fp); m != nil || err != nil {
		return m, err
	}
	var m *manifest
	var raw []byte
	err := i.onHosts(ctx, lk, ref.Context(), func(ctx context.Context, ep *endpoint) error {
		f, err := i.getManifest(ctx, ep, ref.Identifier())
		if err != nil {
			return err
		}
		digest, err := checkManifest(ref, f)
		if err != nil {
			return err
		}
		m, err = parseManifest(f.raw, f.contentType, digest)
		raw = f.raw
		return err
	})
	if err != nil {
		if kind, _ := classify(ctx, err, ""); kind == ErrNotFound {
			i.rememberNotFound(ref, fp, err)
		}
		return nil, err
	}
	i.manifests.Add(manifestKey(ref.Context(), m.digest), m, m.size, 0)
	if _, byDigest := ref.(name.Digest); !byDigest {
		i.tags.Add(tagKey(ref, fp), tagEntry{digest: m.digest, confirmed: i.opts.now()}, tagEntrySize, i.opts.tagTTL)
	}
	i.persistManifest(ref, m.digest, raw)
	return m, nil
}

// checkManifest verifies a manifest against the digest asked for, or for a
// tag against the Docker-Content-Digest the registry announced, as
// containerd does before pulling; it returns the manifest's digest.
func checkManifest(ref name.Reference, f *fetched) (string, error) {
	want := f.headerDigest
	if d, ok := ref.(name.Digest); ok {
		want = d.DigestStr()
	}
	if want == "" {
		return f.digest, nil
	}
	h, err := v1.NewHash(want)
	if err != nil {
		if _, byDigest := ref.(name.Digest); byDigest {
			return "", err
		}
		return f.digest, nil // an unreadable header says nothing
	}
	if err := verifyDigest("manifest", h, f.raw); err != nil {
		return "", err
	}
	return h.String(), nil
}

// knownNotFound returns the remembered "not found" answer for ref, if any.
func (i *Inspector) knownNotFound(ref name.Reference, fp string) error {
	if i.opts.notFoundTTL <= 0 {
		return nil
	}
	notFound, ok := i.notFound.Get(tagKey(ref, fp))
	i.opts.metrics.cacheLookup(CacheNotFound, ok)
	if !ok {
		return nil
	}
	i.stats.negativeHits.Add(1)
	return fmt.Errorf("%w (remembered from less than %s ago)", notFound, i.opts.notFoundTTL)
}

func (i *Inspector) rememberNotFound(ref name.Reference, fp string, err error) {
	if i.opts.notFoundTTL > 0 {
		i.notFound.Add(tagKey(ref, fp), err, int64(len(err.Error())), i.opts.notFoundTTL)
	}
}
