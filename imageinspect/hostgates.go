package imageinspect

import (
	"context"
	"strconv"
)

// State (slots, circuit breakers) is kept for at most this many registry
// hosts with nothing in flight, and breakers for at most maxIdleBreakers
// hosts and tenants. A cluster pulls from tens of registries; hosts come
// from pod specs, so made-up ones must not grow memory without bound.
// Forgetting an idle host costs at most a few failures more before its
// circuit opens again.
const (
	maxIdleHosts    = 1024
	maxIdleBreakers = 4096
)

// hostGate bounds the requests in flight to one registry host.
type hostGate struct {
	slots *slots
}

func newHostGates(o *options) *keyed[*hostGate] {
	return newKeyed(maxIdleHosts, func() *hostGate { return &hostGate{slots: newSlots(o.hostConcurrency)} })
}

// Each tenant (ForTenant) has its own circuit breaker per host: a tenant
// naming images that time out on a registry others use too (a hanging
// repository of a shared host) opens the circuit for itself only. With one
// breaker per host, its failures failed everyone's uncached lookups of that
// host, which --on-registry-error=allow then admitted unchecked (found by
// test/adversarial). A host that is down opens every tenant's circuit
// after a few failures each.
func newBreakers() *keyed[*breaker] {
	return newKeyed(maxIdleBreakers, func() *breaker { return &breaker{} })
}

// enterHost lets one attempt at host through: refused at once while the
// circuit of the host and the lookup's tenant is open, else once one of the
// host's slots is free (or ctx ends first). The attempt reports its
// outcome to done, which gives the slot back.
func (i *Inspector) enterHost(ctx context.Context, host string) (done func(context.Context, error), err error) {
	g, releaseGate := i.hosts.hold(host)
	b, releaseBreaker := i.breakers.hold(host + "\x00" + tenantName(ctx))
	release := func() { releaseBreaker(); releaseGate() }
	policy := i.opts.breaker
	// Refused before queueing: a dead host must not hold callers until
	// their deadline.
	if err, _ := b.refusal(policy, host, i.opts.now()); err != nil {
		release()
		i.circuitEvent(CircuitRefused, host, "")
		return nil, err
	}
	if err := i.take(ctx, g.slots, SlotHost, "registry "+strconv.Quote(host)); err != nil {
		release()
		return nil, err
	}
	// And again after queueing: the circuit may have opened meanwhile.
	probe, err := b.admit(policy, host, i.opts.now())
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
		if ev := b.record(policy, probe, neutral, unwell, i.opts.now()); ev != "" {
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
