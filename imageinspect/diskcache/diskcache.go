// Package diskcache is a persistent, content-addressed cache of image
// manifests and configs, and of what tags resolved to, shared by the
// one-shot commands (check, fix, inspect, audit) across runs.
//
// Layout under the cache directory:
//
//	blobs/sha256/<hex>    raw manifest or config bytes, named by their digest
//	tags/<sha256(ref)>    {"ref", "digest", "stored"}: what a tag resolved to
//
// Every write goes to a temporary file in the same directory, then is
// renamed over the target: concurrent runs see the old entry or the new one,
// never half of one, and need no locks. A blob is verified against its name
// on every read; an entry that does not verify or decode is ignored (and
// removed), so a corrupt cache costs a refetch, never a wrong answer.
package diskcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// An hour: a CI pipeline's re-runs within it make no registry request,
	// and a tag pushed again is seen within the hour. Digests never expire.
	DefaultTagTTL = time.Hour

	// 256 MiB holds tens of thousands of images' manifests and configs (a
	// few KiB each); past it the oldest entries go (Prune).
	DefaultMaxBytes = 256 << 20

	// maxEntryBytes bounds what one read loads: imageinspect refuses
	// manifests and configs over 4 MiB anyway.
	maxEntryBytes = 8 << 20

	// pruneEvery: Open walks the cache to bound its size at most this often,
	// so that a run costs a stat, not a directory walk.
	pruneEvery = time.Hour
	pruneStamp = ".pruned"
)

// Cache is a cache directory. Its methods are safe for concurrent use, also
// by other processes on the same directory.
type Cache struct {
	dir      string
	tagTTL   time.Duration
	maxBytes int64
	now      func() time.Time
}

// Option configures a Cache.
type Option func(*Cache)

// WithTagTTL sets how long a tag's digest is trusted without asking the
// registry (default DefaultTagTTL); 0 never trusts a stored tag, though
// offline lookups still use it.
func WithTagTTL(d time.Duration) Option { return func(c *Cache) { c.tagTTL = d } }

// WithMaxBytes bounds the cache's size on disk (default DefaultMaxBytes).
func WithMaxBytes(n int64) Option { return func(c *Cache) { c.maxBytes = n } }

// WithClock sets the clock tag ages are measured with (tests).
func WithClock(now func() time.Time) Option { return func(c *Cache) { c.now = now } }

// Open makes dir (0700: it may hold manifests of private images) and
// returns the cache in it, pruning it first when due.
func Open(dir string, opts ...Option) (*Cache, error) {
	c := &Cache{dir: dir, tagTTL: DefaultTagTTL, maxBytes: DefaultMaxBytes, now: time.Now}
	for _, opt := range opts {
		opt(c)
	}
	if c.tagTTL < 0 || c.maxBytes <= 0 {
		return nil, fmt.Errorf("opening cache %s: tag TTL %s and size %d must not be negative", dir, c.tagTTL, c.maxBytes)
	}
	for _, sub := range []string{filepath.Join("blobs", "sha256"), "tags"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("opening cache %s: %w", dir, err)
		}
	}
	if c.pruneDue() {
		if err := c.Prune(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Blob returns the bytes stored under digest ("sha256:<hex>"), if present
// and they hash to it.
func (c *Cache) Blob(digest string) ([]byte, bool) {
	p, ok := c.blobPath(digest)
	if !ok {
		return nil, false
	}
	raw, err := readBounded(p)
	if err != nil {
		return nil, false
	}
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != digest {
		_ = os.Remove(p) // corrupt: the next run refetches it
		return nil, false
	}
	return raw, true
}

// PutBlob stores raw under digest. Raw that does not hash to digest is
// refused, so that nothing unverified is ever stored.
func (c *Cache) PutBlob(digest string, raw []byte) error {
	p, ok := c.blobPath(digest)
	if !ok {
		return fmt.Errorf("caching %s: only sha256 digests are cached", digest)
	}
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return fmt.Errorf("caching %s: the content does not hash to it", digest)
	}
	if _, err := os.Stat(p); err == nil {
		return nil // content-addressed: what is there is the same
	}
	return writeAtomic(p, raw)
}

type tagEntry struct {
	Ref    string    `json:"ref"`
	Digest string    `json:"digest"`
	Stored time.Time `json:"stored"`
}

// Tag returns the digest ref (a fully qualified tag reference) was stored
// with, and whether it is younger than the tag TTL.
func (c *Cache) Tag(ref string) (digest string, fresh, ok bool) {
	raw, err := readBounded(c.tagPath(ref))
	if err != nil {
		return "", false, false
	}
	var e tagEntry
	if json.Unmarshal(raw, &e) != nil || e.Ref != ref || !strings.HasPrefix(e.Digest, "sha256:") {
		return "", false, false // corrupt, or a hash collision of names
	}
	return e.Digest, c.now().Sub(e.Stored) < c.tagTTL, true
}

// PutTag stores that ref resolved to digest now.
func (c *Cache) PutTag(ref, digest string) error {
	raw, err := json.Marshal(tagEntry{Ref: ref, Digest: digest, Stored: c.now().UTC()})
	if err != nil {
		return fmt.Errorf("caching tag %s: %w", ref, err)
	}
	return writeAtomic(c.tagPath(ref), raw)
}

func (c *Cache) blobPath(digest string) (string, bool) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return "", false // never a path built from anything else
	}
	return filepath.Join(c.dir, "blobs", "sha256", hexPart), true
}

func (c *Cache) tagPath(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(c.dir, "tags", hex.EncodeToString(sum[:]))
}

func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxEntryBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxEntryBytes {
		return nil, errors.New("cache entry too large")
	}
	return raw, nil
}

// writeAtomic writes raw to a temporary file next to p and renames it to
// p: rename within a directory is atomic, so readers never see a partial
// entry and concurrent writers of the same entry both succeed.
func writeAtomic(p string, raw []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("caching %s: %w", filepath.Base(p), err)
	}
	_, werr := f.Write(raw)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("caching %s: %w", filepath.Base(p), err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("caching %s: %w", filepath.Base(p), err)
	}
	return nil
}
