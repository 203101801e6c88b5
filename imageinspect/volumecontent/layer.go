package volumecontent

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Layer is one layer of an image as its registry stores it. The scanner
// needs nothing else from a registry, so the caller backs it with a blob
// fetch (and tests with bytes in memory).
type Layer interface {
	// Digest names the compressed blob ("sha256:…"). It keys the cache of
	// layer summaries, so the scanner hashes what it reads and caches
	// nothing that does not match.
	Digest() string
	// Size is the compressed size the manifest gives, or 0 when not known.
	// A layer larger than what is left of the byte budget is not opened.
	Size() int64
	// Open returns the compressed stream: gzip, zstd or a plain tar. The
	// scanner closes it.
	Open(ctx context.Context) (io.ReadCloser, error)
}

// ErrDigestMismatch: a layer's bytes do not hash to the digest that names
// it. Its summary is not cached, since the cache is shared by every image
// that names the same digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// digestVerifier hashes a layer's bytes as they pass, to check them against
// the layer's digest once the stream ends.
type digestVerifier struct {
	want string // hex
	algo string
	h    hash.Hash
}

func newDigestVerifier(digest string) (*digestVerifier, error) {
	algo, hexPart, ok := strings.Cut(digest, ":")
	if !ok {
		return nil, fmt.Errorf("parsing digest %q: no algorithm", digest)
	}
	var h hash.Hash
	switch algo {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		// Nothing to verify with: a summary that cannot be verified must not
		// be shared through the cache.
		return nil, fmt.Errorf("parsing digest %q: unsupported algorithm %q", digest, algo)
	}
	if len(hexPart) != hex.EncodedLen(h.Size()) {
		return nil, fmt.Errorf("parsing digest %q: %d hex digits, want %d", digest, len(hexPart), hex.EncodedLen(h.Size()))
	}
	return &digestVerifier{want: strings.ToLower(hexPart), algo: algo, h: h}, nil
}

func (v *digestVerifier) Write(p []byte) (int, error) { return v.h.Write(p) }

func (v *digestVerifier) verify() error {
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return fmt.Errorf("%w: read %s:%s", ErrDigestMismatch, v.algo, got)
	}
	return nil
}
