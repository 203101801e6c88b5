package volumecontent

import (
	"container/list"
	"sync"
)

// indexCache keeps layer tables by digest, least recently used out first,
// bounded by their number and estimated bytes. Layers are immutable, so
// entries never expire.
type indexCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	ll         *list.List // front: most recently used
	items      map[string]*list.Element
}

type cacheEntry struct {
	digest string
	index  *layerIndex
	size   int64
}

func newIndexCache(maxEntries int, maxBytes int64) *indexCache {
	return &indexCache{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *indexCache) get(digest string) (*layerIndex, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[digest]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cacheEntry).index, true
}

// add keeps x under digest, unless it is larger than the whole cache or a
// complete table is already kept (a narrowed one never replaces it).
func (c *indexCache) add(digest string, x *layerIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := x.bytes + int64(len(digest)) + entryOverhead
	if el, ok := c.items[digest]; ok {
		old := el.Value.(*cacheEntry)
		if old.index.scope == nil && x.scope != nil {
			c.ll.MoveToFront(el)
			return
		}
		c.remove(el)
	}
	if size > c.maxBytes {
		return
	}
	c.items[digest] = c.ll.PushFront(&cacheEntry{digest: digest, index: x, size: size})
	c.bytes += size
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.ll.Back())
	}
}

func (c *indexCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.ll.Remove(el)
	delete(c.items, e.digest)
	c.bytes -= e.size
}

// usage returns the number of layer tables kept and their estimated bytes.
func (c *indexCache) usage() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}
