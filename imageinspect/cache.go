package imageinspect

import (
	"container/list"
	"sync"
	"time"
)

// entryOverhead approximates what an entry costs beyond its key and value:
// the list element, the map slot and the entry struct.
const entryOverhead = 128

// lru is a concurrency-safe least-recently-used cache bounded by its number
// of entries and by their estimated bytes. Entries may expire (tags, "not
// found" answers); content-addressed ones (manifests and configs by digest)
// never do, since their content cannot change. An expired entry stays until
// pushed out, so that an expired tag can be revalidated rather than fetched.
type lru struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	ll         *list.List // front: most recently used
	items      map[string]*list.Element
	now        func() time.Time
}

type lruEntry struct {
	key     string
	value   any
	size    int64
	expires time.Time // zero: never
}

func newLRU(maxEntries int, maxBytes int64, now func() time.Time) *lru {
	return &lru{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: map[string]*list.Element{}, now: now}
}

// get returns the value of key if it has not expired.
func (c *lru) get(key string) (any, bool) {
	v, expired, ok := c.peek(key)
	return v, ok && !expired
}

// peek returns the value of key, expired or not.
func (c *lru) peek(key string) (value any, expired, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, false
	}
	e := el.Value.(*lruEntry)
	c.ll.MoveToFront(el)
	return e.value, !e.expires.IsZero() && !c.now().Before(e.expires), true
}

// add stores value under key; size estimates its bytes, ttl 0 means it
// never expires. A value larger than the whole cache is not stored.
func (c *lru) add(key string, value any, size int64, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size += int64(len(key)) + entryOverhead
	if size > c.maxBytes {
		c.removeLocked(key)
		return
	}
	var expires time.Time
	if ttl > 0 {
		expires = c.now().Add(ttl)
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry)
		c.bytes += size - e.size
		e.value, e.size, e.expires = value, size, expires
		c.ll.MoveToFront(el)
	} else {
		c.items[key] = c.ll.PushFront(&lruEntry{key: key, value: value, size: size, expires: expires})
		c.bytes += size
	}
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeLocked(c.ll.Back().Value.(*lruEntry).key)
	}
}

// extendExpired gives key ttl more if it still holds value and has expired:
// a concurrent refresh that stored something newer is not undone.
func (c *lru) extendExpired(key string, value any, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return
	}
	e := el.Value.(*lruEntry)
	if e.value == value && !e.expires.IsZero() && !c.now().Before(e.expires) {
		e.expires = c.now().Add(ttl)
	}
}

func (c *lru) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}

func (c *lru) removeLocked(key string) {
	el, ok := c.items[key]
	if !ok {
		return
	}
	c.ll.Remove(el)
	delete(c.items, key)
	c.bytes -= el.Value.(*lruEntry).size
}

// usage returns the number of entries and their estimated bytes.
func (c *lru) usage() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}
