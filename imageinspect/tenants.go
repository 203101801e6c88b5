package imageinspect

import (
	"context"
	"strconv"
)

// Slots are kept for at most this many tenants with nothing in flight: a
// cluster has up to some thousands of namespaces, and an idle tenant's
// state is nothing but free slots, made again when next needed.
const maxIdleTenants = 4096

// ForTenant counts this inspection's registry work against tenant (the
// webhook passes the pod's namespace): each tenant has at most
// WithTenantConcurrency lookups in flight that the cache could not answer,
// and waits for its own slots, so that one tenant's flood of slow lookups
// costs only that tenant. Answers from the cache take no slot. Without it
// (or with ""), inspections are bounded per registry host only. With
// WithFailureTTL, remembered failures are kept per tenant too.
func ForTenant(tenant string) InspectOption {
	return func(o *inspectOptions) {
		o.tenant = tenant
	}
}

type tenantKey struct{}

// tenantOf is what the context says of its lookup's tenant.
type tenantOf struct {
	name string
	// holding: this context runs with a slot already taken (a flight's
	// leader, or below a host slot), so nothing below takes another, and no
	// two lookups can wait for each other's slots.
	holding bool
}

func withTenant(ctx context.Context, tenant string) context.Context {
	if tenant == "" {
		return ctx
	}
	return context.WithValue(ctx, tenantKey{}, tenantOf{name: tenant})
}

// holdingSlots marks ctx as running with its slots taken.
func holdingSlots(ctx context.Context) context.Context {
	t, ok := ctx.Value(tenantKey{}).(tenantOf)
	if !ok || t.holding {
		return ctx
	}
	t.holding = true
	return context.WithValue(ctx, tenantKey{}, t)
}

// tenantSlot takes a slot of the lookup's tenant before it goes to the
// network, or joins a flight there: a flight so joined does not depend on
// any tenant's queue. It returns the context to go on with and the func
// that gives the slot back; no tenant, or a slot already held, takes none.
func (i *Inspector) tenantSlot(ctx context.Context) (context.Context, func(), error) {
	t, ok := ctx.Value(tenantKey{}).(tenantOf)
	if !ok || t.holding {
		return ctx, func() {}, nil
	}
	s, release := i.tenants.hold(t.name)
	if err := i.take(ctx, s, SlotTenant, "tenant "+strconv.Quote(t.name)); err != nil {
		release()
		return ctx, nil, err
	}
	return holdingSlots(ctx), func() { s.give(); release() }, nil
}

func tenantName(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(tenantOf)
	return t.name
}
