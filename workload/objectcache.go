package workload

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ObjectCache remembers what manifest files decoded to, by their content,
// in one file: a CI job that checks the same manifests again reads them
// without parsing YAML. Only files that decoded without an error are kept
// (errors do not survive a round trip); the rest are decoded every time.
//
// The entries belong to one decoder: version names it (the program's
// version and build), and a file written by another is ignored whole. The
// file is read once, at OpenObjectCache, and written once, by Save, after
// a temporary file: concurrent runs each write a whole file, the last one
// wins, none is ever read half-written. An ObjectCache is safe for
// concurrent use.
type ObjectCache struct {
	path   string
	header string
	loaded chan struct{} // closed once entries hold the file's

	mu      sync.Mutex
	entries map[[sha256.Size]byte][]byte // by content hash: JSON of a cachedFile
	used    map[[sha256.Size]byte]bool   // entries got or put since opening
	changed bool
}

// cachedFile is what a file decoded to, without its name.
type cachedFile struct {
	Objects   []Object
	Documents int
}

const (
	objectCacheFormat = "volumeguard decoded manifests 1"
	// maxObjectCacheFile bounds the file: a cache never costs more memory
	// than this, whatever is in the directory.
	maxObjectCacheFile = 64 << 20
	// maxObjectCacheEntry bounds one entry, as the document size limit
	// bounds what a file decodes to.
	maxObjectCacheEntry = 8 << 20
)

// ObjectCacheFile is the cache's file name in a cache directory.
const ObjectCacheFile = "decoded-manifests"

// OpenObjectCache reads the cache at path, written by the decoder named
// version, in the background: the first use waits for it. A missing,
// unreadable, foreign or damaged file starts an empty cache: it only costs
// the parsing.
func OpenObjectCache(path, version string) *ObjectCache {
	c := &ObjectCache{
		path:    path,
		header:  objectCacheFormat + " " + version + "\n",
		loaded:  make(chan struct{}),
		entries: map[[sha256.Size]byte][]byte{},
		used:    map[[sha256.Size]byte]bool{},
	}
	go func() {
		defer close(c.loaded)
		if entries, ok := c.load(); ok {
			c.entries = entries
		}
	}()
	return c
}

// load reads the entries of the cache's file.
func (c *ObjectCache) load() (map[[sha256.Size]byte][]byte, bool) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxObjectCacheFile {
		return nil, false
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(data, []byte(c.header))
	if !ok {
		return nil, false
	}
	return parseEntries(rest)
}

// parseEntries reads records of a content hash, a 4-byte length and that
// many bytes of JSON; ok is false unless the data is exactly that.
func parseEntries(data []byte) (map[[sha256.Size]byte][]byte, bool) {
	entries := map[[sha256.Size]byte][]byte{}
	for len(data) > 0 {
		if len(data) < sha256.Size+4 {
			return nil, false
		}
		var key [sha256.Size]byte
		copy(key[:], data)
		n := binary.BigEndian.Uint32(data[sha256.Size:])
		data = data[sha256.Size+4:]
		if uint64(n) > uint64(len(data)) {
			return nil, false
		}
		entries[key] = data[:n:n]
		data = data[n:]
	}
	return entries, true
}

// get returns the objects that content decoded to, named file, and the
// count of its documents.
func (c *ObjectCache) get(file string, content []byte) ([]Object, int, bool) {
	key := sha256.Sum256(content)
	<-c.loaded
	c.mu.Lock()
	raw, ok := c.entries[key]
	if ok {
		c.used[key] = true
	}
	c.mu.Unlock()
	if !ok {
		return nil, 0, false
	}
	var cf cachedFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return nil, 0, false
	}
	for i := range cf.Objects {
		cf.Objects[i].File = file
		for j := range cf.Objects[i].PodSpecs {
			if cf.Objects[i].PodSpecs[j].Spec == nil {
				return nil, 0, false // not what put wrote
			}
		}
	}
	return cf.Objects, cf.Documents, true
}

// put remembers what content decoded to.
func (c *ObjectCache) put(content []byte, objs []Object, documents int) {
	cf := cachedFile{Objects: make([]Object, len(objs)), Documents: documents}
	for i, o := range objs {
		o.File = ""
		cf.Objects[i] = o
	}
	raw, err := json.Marshal(cf)
	if err != nil || len(raw) > maxObjectCacheEntry {
		return
	}
	key := sha256.Sum256(content)
	<-c.loaded
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = raw
	c.used[key] = true
	c.changed = true
}

// Save writes the cache when this run added to it: the entries of this run
// first, then older ones while the file stays under its bound.
func (c *ObjectCache) Save() error {
	<-c.loaded
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.changed {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("saving decoded manifests: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ObjectCacheFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving decoded manifests: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	w := bufio.NewWriter(tmp)
	size := int64(len(c.header))
	_, _ = w.WriteString(c.header)
	write := func(key [sha256.Size]byte, raw []byte) bool {
		n := int64(sha256.Size + 4 + len(raw))
		if size+n > maxObjectCacheFile {
			return false
		}
		size += n
		_, _ = w.Write(key[:])
		_ = binary.Write(w, binary.BigEndian, uint32(len(raw)))
		_, _ = w.Write(raw)
		return true
	}
	for key := range c.used {
		write(key, c.entries[key])
	}
	for key, raw := range c.entries {
		if !c.used[key] && !write(key, raw) {
			break
		}
	}
	err = errors.Join(w.Flush(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		return fmt.Errorf("saving decoded manifests: %w", err)
	}
	c.changed = false
	return nil
}
