package imageinspect

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// SlotKind names a bound on lookups in flight, for metrics.
type SlotKind string

const (
	SlotHost   SlotKind = "host"   // requests in flight to one registry host (WithHostConcurrency)
	SlotTenant SlotKind = "tenant" // lookups in flight of one tenant (WithTenantConcurrency)
)

// slotWaitError is a lookup that gave up waiting for a slot: its context
// ended while every slot was taken. Nothing was sent for it: a circuit
// breaker does not count it, and WithFailureTTL does not remember a wait
// for a tenant's slot, which says nothing about the registry. (A wait for a
// host's slot, behind requests that do not end, does; it often reaches the
// caller as its context's error alone, the flight it waited on ending at the
// same moment.)
type slotWaitError struct {
	kind  SlotKind
	of    string // `registry "host"`, `tenant "ns"`
	limit int
	err   error // the context's error
}

func (e *slotWaitError) Error() string {
	return fmt.Sprintf("waiting for one of the %d lookup slots of %s, all busy: %v", e.limit, e.of, e.err)
}

func (e *slotWaitError) Unwrap() error { return e.err }

// slots is a bound on work in flight, waited for in order of arrival.
type slots struct {
	sem   *semaphore.Weighted
	limit int
}

func newSlots(n int) *slots { return &slots{sem: semaphore.NewWeighted(int64(n)), limit: n} }

// take waits for a slot of s until ctx ends; of names s in errors. A free
// slot is taken at once, and only waits are reported.
func (i *Inspector) take(ctx context.Context, s *slots, kind SlotKind, of string) error {
	if s.sem.TryAcquire(1) {
		return nil
	}
	i.slotWaits(kind).Add(1)
	start := time.Now()
	err := s.sem.Acquire(ctx, 1)
	if i.opts.metrics.SlotWait != nil {
		i.opts.metrics.SlotWait(kind, time.Since(start), err == nil)
	}
	if err != nil {
		return &slotWaitError{kind: kind, of: of, limit: s.limit, err: err}
	}
	return nil
}

func (i *Inspector) slotWaits(kind SlotKind) *atomic.Int64 {
	if kind == SlotHost {
		return &i.stats.hostWaits
	}
	return &i.stats.tenantWaits
}

func (s *slots) give() { s.sem.Release(1) }
