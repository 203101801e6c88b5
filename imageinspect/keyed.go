package imageinspect

import (
	"container/list"
	"sync"
)

// keyed holds state per key (a registry host, a tenant) for at most max
// keys that nobody is using: keys come from pod specs and namespaces, so
// their number is not ours to choose. State in use is never dropped, or a
// second set of slots would appear for the same key; the keys in use are
// bounded by the lookups in flight.
type keyed[T any] struct {
	mu    sync.Mutex
	max   int
	items map[string]*keyedEntry[T]
	idle  *list.List // entries nobody holds, front: most recently released
	fresh func() T
}

type keyedEntry[T any] struct {
	key   string
	refs  int
	value T
	elem  *list.Element // in idle while refs == 0
}

func newKeyed[T any](max int, fresh func() T) *keyed[T] {
	return &keyed[T]{max: max, items: map[string]*keyedEntry[T]{}, idle: list.New(), fresh: fresh}
}

// hold returns the state of key, made fresh if it had none, and the func
// that gives it back. The least recently released idle states go first
// when there are more than max.
func (k *keyed[T]) hold(key string) (T, func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.items[key]
	if !ok {
		e = &keyedEntry[T]{key: key, value: k.fresh()}
		k.items[key] = e
		for len(k.items) > k.max && k.idle.Len() > 0 {
			old := k.idle.Remove(k.idle.Back()).(*keyedEntry[T])
			delete(k.items, old.key)
		}
	}
	if e.elem != nil {
		k.idle.Remove(e.elem)
		e.elem = nil
	}
	e.refs++
	var once sync.Once
	return e.value, func() { once.Do(func() { k.release(e) }) }
}

func (k *keyed[T]) release(e *keyedEntry[T]) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.refs--; e.refs == 0 {
		e.elem = k.idle.PushFront(e)
	}
}

// len returns the number of keys with state.
func (k *keyed[T]) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.items)
}
