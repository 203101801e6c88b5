package imageinspect

import (
	"context"
	"strconv"
)

// State (slots and circuit breaker) is kept for at most this many registry
// hosts with nothing in flight. A cluster pulls from tens of registries;
// hosts come from pod specs, so made-up ones must not grow memory without
// bound. Forgetting an idle host costs at most a few failures more before
// its circuit opens again.
const maxIdleHosts = 1024

// hostGate bounds the requests in flight to one registry host and fails
// them fast while the host is unwell.
type hostGate struct {
	slots   *slots
	breaker breaker
}

func newHostGates(o *options) *keyed[*hostGate] {
	return newKeyed(maxIdleHosts, func() *hostGate { return &hostGate{slots: newSlots(o.hostConcurrency)} })
}

// enterHost lets one attempt at host through: refused at once while its
// circuit is open, else once one of its slots is free (or ctx ends first).
// The attempt reports its outcome to done, which gives the slot back.
func (i *Inspector) enterHost(ctx context.Context, host string) (done func(context.Context, error), err error) {
	g, release := i.hosts.hold(host)
	policy := i.opts.breaker
	// Refused before queueing: a dead host must not hold callers until
	// their deadline.
	if err, _ := g.breaker.refusal(policy, host, i.opts.now()); err != nil {
		release()
		i.circuitEvent(CircuitRefused, host, "")
		return nil, err
	}
	if err := i.take(ctx, g.slots, SlotHost, "registry "+strconv.Quote(host)); err != nil {
		release()
		return nil, err
	}
	// And again after queueing: the circuit may have opened meanwhile.
	probe, err := g.breaker.admit(policy, host, i.opts.now())
	if err != nil {
		g.slots.give()
		release()
		i.circuitEvent(CircuitRefused, host, "")
		return nil, err
	}
	return func(ctx context.Context, err error) {
		neutral, unwell := healthOf(ctx, err)
		if !neutral && unwell != "" {
			i.stats.hostFailures.Add(1)
		}
		if ev := g.breaker.record(policy, probe, neutral, unwell, i.opts.now()); ev != "" {
			i.circuitEvent(ev, host, unwell)
		}
		g.slots.give()
		release()
	}, nil
}

func (i *Inspector) circuitEvent(ev CircuitEvent, host, why string) {
	switch ev {
	case CircuitOpened:
		i.stats.circuitOpens.Add(1)
		i.log.Info("registry host failing: its lookups fail fast for a while", "host", host, "cooldown", i.opts.breaker.cooldown.String(), "reason", why)
	case CircuitClosed:
		i.log.Info("registry host answering again", "host", host)
	case CircuitRefused:
		i.stats.circuitRefusals.Add(1)
	}
	if i.opts.metrics.Circuit != nil {
		i.opts.metrics.Circuit(ev)
	}
}
