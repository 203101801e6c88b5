package imageinspect

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Cache keys. Manifests are keyed by repository and digest, so that a digest
// read from one repository is not taken as readable from another. Configs are
// keyed by digest alone: a config is only ever asked for after a manifest
// naming it was read from the asking repository.
func tagKey(ref name.Reference) string { return "tag\x00" + ref.Name() }

func manifestKey(repo name.Repository, digest string) string {
	return "manifest\x00" + repo.Name() + "@" + digest
}

func configKey(d string) string { return "config\x00" + d }

// manifest returns the manifest ref points to, from the cache or with one GET.
func (i *Inspector) manifest(ctx context.Context, ref name.Reference) (*manifest, error) {
	repo := ref.Context()
	d, byDigest := ref.(name.Digest)
	digest := d.DigestStr()
	if !byDigest {
		if v, ok := i.cache.get(tagKey(ref)); ok {
			digest = v.(string)
		}
	}
	if digest != "" {
		if v, ok := i.cache.get(manifestKey(repo, digest)); ok {
			i.stats.cacheHits.Add(1)
			return v.(*manifest), nil
		}
	}
	v, err := i.shared(ctx, "manifest\x00"+ref.Name(), func(ctx context.Context) (any, error) {
		return i.fetchManifest(ctx, ref)
	})
	if err != nil {
		var ue *unsupportedMediaTypeError
		if errors.As(err, &ue) {
			return nil, unsupportedError("reading manifest of", ref.Name(), ue.mediaType)
		}
		return nil, registryError(ctx, "reading manifest of", ref.Name(), repo.RegistryStr(), err)
	}
	return v.(*manifest), nil
}

func (i *Inspector) fetchManifest(ctx context.Context, ref name.Reference) (*manifest, error) {
	pl, err := i.pullers.get(ref.Context().Name())
	if err != nil {
		return nil, err
	}
	i.log.V(1).Info("fetching manifest", "reference", ref.Name())
	i.stats.manifestFetches.Add(1)
	desc, err := pl.Get(ctx, ref)
	if err != nil {
		i.forgetOnAuthError(ctx, pl, err)
		return nil, err
	}
	m, err := parseManifest(desc.Manifest, string(desc.MediaType), desc.Digest.String())
	if err != nil {
		return nil, err
	}
	i.cache.add(manifestKey(ref.Context(), m.digest), m, 0)
	if _, byDigest := ref.(name.Digest); !byDigest {
		i.cache.add(tagKey(ref), m.digest, i.opts.tagTTL)
	}
	return m, nil
}

// config returns what the config described by d declares, from the cache or
// with one GET of the config blob. ref names the image in errors.
func (i *Inspector) config(ctx context.Context, ref name.Reference, d v1.Descriptor) (*configInfo, error) {
	key := configKey(d.Digest.String())
	if v, ok := i.cache.get(key); ok {
		i.stats.cacheHits.Add(1)
		return v.(*configInfo), nil
	}
	doing := fmt.Sprintf("reading config %s of", d.Digest)
	if d.Size > i.opts.maxConfigBytes {
		// Refused before asking: the manifest says how big it is.
		return nil, fmt.Errorf("%s %q: %w", doing, ref.Name(), &tooLargeError{what: "config", size: d.Size, limit: i.opts.maxConfigBytes})
	}
	v, err := i.shared(ctx, key, func(ctx context.Context) (any, error) {
		return i.fetchConfig(ctx, ref.Context(), d)
	})
	if err != nil {
		return nil, registryError(ctx, doing, ref.Name(), ref.Context().RegistryStr(), err)
	}
	return v.(*configInfo), nil
}

func (i *Inspector) fetchConfig(ctx context.Context, repo name.Repository, d v1.Descriptor) (*configInfo, error) {
	raw := d.Data
	if raw != nil {
		// Embedded in the manifest (OCI "data"): nobody checked it yet.
		if err := verifyData(d); err != nil {
			return nil, err
		}
	} else {
		var err error
		if raw, err = i.fetchBlob(ctx, repo, d); err != nil {
			return nil, err
		}
	}
	info, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	i.cache.add(configKey(d.Digest.String()), info, 0)
	return info, nil
}

// fetchBlob GETs a config blob. remote verifies its digest when the body
// ends, which readCapped reaches for any body within the limit.
func (i *Inspector) fetchBlob(ctx context.Context, repo name.Repository, d v1.Descriptor) ([]byte, error) {
	pl, err := i.pullers.get(repo.Name())
	if err != nil {
		return nil, err
	}
	i.log.V(1).Info("fetching config", "repository", repo.Name(), "digest", d.Digest.String())
	i.stats.configFetches.Add(1)
	layer, err := pl.Layer(ctx, repo.Digest(d.Digest.String()))
	if err != nil {
		i.forgetOnAuthError(ctx, pl, err)
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		i.forgetOnAuthError(ctx, pl, err)
		return nil, err
	}
	defer rc.Close()
	raw, err := readCapped(rc, "config", i.opts.maxConfigBytes)
	if err != nil {
		return nil, err
	}
	if d.Size > 0 && int64(len(raw)) != d.Size {
		return nil, fmt.Errorf("verifying size: got %d bytes, the manifest says %d", len(raw), d.Size)
	}
	return raw, nil
}

// forgetOnAuthError drops pl after a 401/403 so that the next lookup reads
// credentials again instead of reusing rejected ones.
func (i *Inspector) forgetOnAuthError(ctx context.Context, pl *remote.Puller, err error) {
	if kind, _ := classify(ctx, err, ""); kind == ErrUnauthorized {
		i.pullers.forget(pl)
	}
}

// verifyData checks content embedded in a descriptor against its digest.
func verifyData(d v1.Descriptor) error {
	h, err := v1.Hasher(d.Digest.Algorithm)
	if err != nil {
		return fmt.Errorf("verifying embedded data: %w", err)
	}
	h.Write(d.Data)
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Digest.Hex {
		return fmt.Errorf("verifying embedded data: digest is %s:%s, want %s", d.Digest.Algorithm, got, d.Digest)
	}
	return nil
}

// shared runs fn once for concurrent callers with the same key
// (singleflight), while each caller stays bounded by its own ctx. fn runs with
// the first caller's ctx; if that one ends while ours has not, we try again.
func (i *Inspector) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	for attempt := 0; ; attempt++ {
		led := false
		ch := i.group.DoChan(key, func() (any, error) {
			led = true
			return fn(ctx)
		})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r := <-ch:
			if !led {
				i.stats.sharedFetches.Add(1)
			}
			leaderGaveUp := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
			if r.Err != nil && !led && leaderGaveUp && ctx.Err() == nil && attempt < 2 {
				continue
			}
			return r.Val, r.Err
		}
	}
}
