package lru

import "time"

// Cache is the entries of type V of a Store, under keys of their own: two
// Caches of one Store never see each other's entries.
type Cache[V any] struct {
	store  *Store
	prefix string
}

// New returns a Cache with a Store of its own (see NewStore).
func New[V any](maxEntries int, maxBytes int64, now func() time.Time) Cache[V] {
	return Cache[V]{store: NewStore(maxEntries, maxBytes, now)}
}

// In returns the Cache of the entries named name in s, bounded with all the
// other entries of s. The name and a NUL byte go before each key, and count
// in its estimated bytes.
func In[V any](s *Store, name string) Cache[V] {
	return Cache[V]{store: s, prefix: name + "\x00"}
}

// Get returns the value of key if it has not expired, and marks it used.
func (c Cache[V]) Get(key string) (V, bool) {
	v, expired, ok := c.Peek(key)
	if !ok || expired {
		var zero V
		return zero, false
	}
	return v, true
}

// Peek returns the value of key, expired or not, and marks it used.
func (c Cache[V]) Peek(key string) (value V, expired, ok bool) {
	v, expired, ok := c.store.peek(c.prefix + key)
	if !ok {
		return value, false, false
	}
	// Only this Cache stores under its prefix, and only values of type V.
	return v.(V), expired, true
}

// Add stores value under key; size estimates its bytes, and ttl 0 means it
// never expires. A value larger than the whole Store is not stored, and key
// then holds nothing. The least recently used entries of the Store go
// first when it is over either bound.
func (c Cache[V]) Add(key string, value V, size int64, ttl time.Duration) {
	c.store.add(c.prefix+key, value, size, ttl, nil)
}

// AddUnless is Add, unless key holds a value that keep says to keep: that
// one is then marked used instead.
func (c Cache[V]) AddUnless(key string, value V, size int64, ttl time.Duration, keep func(old V) bool) {
	c.store.add(c.prefix+key, value, size, ttl, func(old any) bool { return keep(old.(V)) })
}

// ExtendExpired gives key ttl more if it has expired and still holds the
// value same recognises, so that a concurrent refresh that stored something
// newer is not undone.
func (c Cache[V]) ExtendExpired(key string, ttl time.Duration, same func(V) bool) {
	c.store.extendExpired(c.prefix+key, ttl, func(v any) bool { return same(v.(V)) })
}

// Remove drops key.
func (c Cache[V]) Remove(key string) { c.store.remove(c.prefix + key) }

// Usage returns the number of entries of the Store, all Caches together,
// and their estimated bytes.
func (c Cache[V]) Usage() (entries int, bytes int64) { return c.store.Usage() }
