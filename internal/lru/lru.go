// Package lru is a concurrency-safe least-recently-used cache bounded by
// its number of entries and by their estimated bytes, whose entries may
// expire.
//
// A Store holds entries of any type under one bound; a Cache[V] is the
// entries of one type in a Store (or in one of its own), under keys of its
// own, so that callers read typed values and several kinds of entries can
// still share one bound (imageinspect's tags, manifests, configs and "not
// found" answers).
package lru

import (
	"container/list"
	"sync"
	"time"
)

// EntryOverhead approximates what an entry costs beyond its key and value:
// the list element, the map slot and the entry struct.
const EntryOverhead = 128

// Store is the entries of one or more Caches, bounded together. An expired
// entry stays until pushed out or replaced, so that it can be revalidated
// rather than fetched (Peek, ExtendExpired).
type Store struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	ll         *list.List // front: most recently used
	items      map[string]*list.Element
	now        func() time.Time
}

type entry struct {
	key     string
	value   any
	size    int64
	expires time.Time // zero: never
}

// NewStore returns a Store of at most maxEntries entries and maxBytes
// estimated bytes; now tells the time of expiries (nil: time.Now).
func NewStore(maxEntries int, maxBytes int64, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: map[string]*list.Element{}, now: now}
}

// Usage returns the number of entries and their estimated bytes.
func (s *Store) Usage() (entries int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len(), s.bytes
}

func (s *Store) peek(key string) (value any, expired, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if !ok {
		return nil, false, false
	}
	e := el.Value.(*entry)
	s.ll.MoveToFront(el)
	return e.value, !e.expires.IsZero() && !s.now().Before(e.expires), true
}

// add stores value under key unless keep says to keep what key holds. A
// value larger than the whole store is not stored, and the key then holds
// nothing.
func (s *Store) add(key string, value any, size int64, ttl time.Duration, keep func(old any) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size += int64(len(key)) + EntryOverhead
	el, ok := s.items[key]
	if ok && keep != nil && keep(el.Value.(*entry).value) {
		s.ll.MoveToFront(el)
		return
	}
	if size > s.maxBytes {
		s.removeLocked(key)
		return
	}
	var expires time.Time
	if ttl > 0 {
		expires = s.now().Add(ttl)
	}
	if ok {
		e := el.Value.(*entry)
		s.bytes += size - e.size
		e.value, e.size, e.expires = value, size, expires
		s.ll.MoveToFront(el)
	} else {
		s.items[key] = s.ll.PushFront(&entry{key: key, value: value, size: size, expires: expires})
		s.bytes += size
	}
	for s.ll.Len() > s.maxEntries || s.bytes > s.maxBytes {
		s.removeLocked(s.ll.Back().Value.(*entry).key)
	}
}

// extendExpired gives key ttl more if it has expired and same says it still
// holds the value the caller served: a concurrent refresh that stored
// something newer is not undone.
func (s *Store) extendExpired(key string, ttl time.Duration, same func(any) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	if same(e.value) && !e.expires.IsZero() && !s.now().Before(e.expires) {
		e.expires = s.now().Add(ttl)
	}
}

func (s *Store) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(key)
}

func (s *Store) removeLocked(key string) {
	el, ok := s.items[key]
	if !ok {
		return
	}
	s.ll.Remove(el)
	delete(s.items, key)
	s.bytes -= el.Value.(*entry).size
}
