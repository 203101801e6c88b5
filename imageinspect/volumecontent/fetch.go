package volumecontent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/singleflight"
)

// index returns a table of layer that answers for scope: from the cache,
// from a concurrent scan reading the same layer, or read now.
func (s *Scanner) index(ctx context.Context, layer Layer, scope []string, m *meter) (*layerIndex, error) {
	digest := layer.Digest()
	for attempt := 0; ; attempt++ {
		readScope := scope
		if x, ok := s.cache.Get(digest); ok {
			if x.covers(scope) {
				m.layersCached.Add(1)
				return x, nil
			}
			// A narrowed table: read it again for these paths and those it
			// kept, so that it goes on answering for them.
			readScope = widen(x.scope, scope)
		}
		if attempt == 2 {
			// Concurrent scans keep reading this layer for other paths; stop
			// waiting on them.
			return s.read(ctx, layer, readScope, m)
		}
		led := false
		ch := s.group.DoChan(digest, func() (any, error) {
			led = true
			return s.read(ctx, layer, readScope, m)
		})
		var r singleflight.Result
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r = <-ch:
		}
		if led {
			if r.Err != nil {
				return nil, r.Err
			}
			return r.Val.(*layerIndex), nil
		}
		// Another scan read it, within its own limits and for its own
		// paths: its failure to do so within them is not ours.
		if r.Err != nil && !errors.Is(r.Err, ErrBudgetExhausted) && !errors.Is(r.Err, ErrTooLarge) &&
			!errors.Is(r.Err, context.Canceled) && !errors.Is(r.Err, context.DeadlineExceeded) {
			return nil, r.Err
		}
		if r.Err == nil && r.Val.(*layerIndex).covers(scope) {
			m.layersCached.Add(1)
			return r.Val.(*layerIndex), nil
		}
	}
}

// read streams one layer, once, and keeps its table in the cache when the
// bytes match the layer's digest.
func (s *Scanner) read(ctx context.Context, layer Layer, scope []string, m *meter) (*layerIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if size, left := layer.Size(), m.compressedLeft(); size > left {
		return nil, fmt.Errorf("%w: the layer has %d bytes, %d of %d are left", ErrBudgetExhausted, size, max(left, 0), m.maxBytes)
	}
	verifier, err := newDigestVerifier(layer.Digest())
	if err != nil {
		return nil, err
	}
	rc, err := layer.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	defer rc.Close()
	m.layersRead.Add(1)
	compressed := &countingReader{ctx: ctx, r: io.TeeReader(rc, verifier), count: &m.compressed, limit: m.maxBytes,
		err: fmt.Errorf("%w: read %d bytes", ErrBudgetExhausted, m.maxBytes)}
	stream, release, err := decompressor(compressed)
	if err != nil {
		return nil, err
	}
	defer release()
	tarStream := &countingReader{ctx: ctx, r: stream, count: &m.tar, limit: m.maxTarBytes,
		err: fmt.Errorf("%w: more than %d bytes of tar", ErrTooLarge, m.maxTarBytes)}
	x, err := indexTar(ctx, tarStream, readLimits{maxIndexBytes: s.opts.maxIndexBytes, scope: scope})
	if err != nil {
		return nil, err
	}
	// The rest, to its end, so that the digest covers every byte and a
	// stream cut short fails as it fails the runtime's unpacker.
	if _, err := io.Copy(io.Discard, tarStream); err != nil {
		return nil, fmt.Errorf("reading past the end of the tar: %w", err)
	}
	if _, err := io.Copy(io.Discard, compressed); err != nil {
		return nil, fmt.Errorf("reading past the end of the compressed stream: %w", err)
	}
	if err := verifier.verify(); err != nil {
		return nil, err
	}
	// A complete table is kept rather than replaced by a narrowed one.
	s.cache.AddUnless(layer.Digest(), x, x.bytes, 0, func(old *layerIndex) bool { return old.scope == nil && x.scope != nil })
	return x, nil
}

// maxScope bounds the paths a narrowed table is kept for; the most recent
// are kept.
const maxScope = 64

// widen returns the paths of kept and of scope, without those that lie
// beneath another (they are covered), the latest maxScope of them.
func widen(kept, scope []string) []string {
	all := append(append([]string{}, kept...), scope...)
	var out []string
	for i, p := range all {
		covered := false
		for j, q := range all {
			if i != j && atOrBeneath(p, q) && (p != q || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	if len(out) > maxScope {
		out = out[len(out)-maxScope:]
	}
	return out
}
