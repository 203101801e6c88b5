package diskcache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func digestOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func open(t *testing.T, dir string, opts ...Option) *Cache {
	t.Helper()
	c, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBlobs(t *testing.T) {
	c := open(t, t.TempDir())
	raw := []byte(`{"config":{}}`)
	tests := []struct {
		name    string
		digest  string
		raw     []byte
		wantErr bool
	}{
		{"content matching its digest", digestOf(raw), raw, false},
		{"content not matching", digestOf([]byte("other")), raw, true},
		{"not sha256", "sha512:" + hex.EncodeToString(make([]byte, 64)), raw, true},
		{"a path, not a digest", "sha256:../../etc/passwd", raw, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.PutBlob(tt.digest, tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("PutBlob: %v, want error %t", err, tt.wantErr)
			}
			got, ok := c.Blob(tt.digest)
			if ok == tt.wantErr || (ok && string(got) != string(tt.raw)) {
				t.Errorf("Blob = %q, %t", got, ok)
			}
		})
	}
	t.Run("a corrupt blob is a miss, and removed", func(t *testing.T) {
		p, _ := c.blobPath(digestOf(raw))
		if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Blob(digestOf(raw)); ok {
			t.Error("corrupt blob served")
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("corrupt blob left: %v", err)
		}
	})
}

func TestTags(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	c := open(t, dir, WithTagTTL(time.Hour), WithClock(clock))
	const ref = "registry.local/app:1"
	if err := c.PutTag(ref, digestOf([]byte("m"))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		age       time.Duration
		wantFresh bool
	}{
		{"just stored", 0, true},
		{"within the TTL", 59 * time.Minute, true},
		{"at the TTL", time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, dir, WithTagTTL(time.Hour), WithClock(func() time.Time { return now.Add(tt.age) }))
			d, fresh, ok := c.Tag(ref)
			if !ok || d != digestOf([]byte("m")) || fresh != tt.wantFresh {
				t.Errorf("Tag = %s, fresh %t, ok %t; want fresh %t", d, fresh, ok, tt.wantFresh)
			}
		})
	}
	t.Run("a corrupt tag entry is a miss", func(t *testing.T) {
		if err := os.WriteFile(c.tagPath(ref), []byte(`{"ref":`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := c.Tag(ref); ok {
			t.Error("corrupt tag served")
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c, err := Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			for k := range 50 {
				raw := []byte(fmt.Sprintf("blob %d", k%10))
				if err := c.PutBlob(digestOf(raw), raw); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
				if err := c.PutTag("r/app:1", digestOf(raw)); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
				if _, _, ok := c.Tag("r/app:1"); !ok {
					t.Errorf("writer %d: a tag entry read half-written", w)
				}
			}
		})
	}
	wg.Wait()
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, WithMaxBytes(1000))
	for k := range 20 {
		raw := make([]byte, 100)
		raw[0] = byte(k)
		if err := c.PutBlob(digestOf(raw), raw); err != nil {
			t.Fatal(err)
		}
		p, _ := c.blobPath(digestOf(raw))
		old := time.Now().Add(time.Duration(k-100) * time.Minute)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Prune(); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
	if len(blobs) != 7 {
		t.Errorf("%d blobs of 100 bytes after pruning to 750, want 7", len(blobs))
	}
	newest := make([]byte, 100)
	newest[0] = 19
	if _, ok := c.Blob(digestOf(newest)); !ok {
		t.Error("the newest blob was pruned")
	}
}
