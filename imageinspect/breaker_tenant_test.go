package imageinspect

import (
	"context"
	"testing"
	"time"
)

// TestCircuitPerTenant: a tenant whose images time out on a host others
// use too opens the circuit of that host for itself only; another
// tenant's lookups there still go through. A lookup without a tenant (the
// CLI) has a circuit of its own.
func TestCircuitPerTenant(t *testing.T) {
	shared := startHostile(t, hangSlow)
	pushApps(t, shared.host, "app:1", "slow/app:1")
	in := newTestInspector(t, WithCircuitBreaker(1, time.Minute))
	_, err := in.Inspect(shortContext(t), shared.host+"/slow/app:1", nil, ForTenant("attacker"))
	assertErr(t, err, ErrTimeout)
	failed(t, in, 1)

	_, err = in.Inspect(context.Background(), shared.host+"/app:1", nil, ForTenant("attacker"))
	assertErr(t, err, ErrUnavailable, "circuit open")
	for _, tenant := range []string{"victim", ""} {
		if _, err := in.Inspect(context.Background(), shared.host+"/app:1", nil, ForTenant(tenant)); err != nil {
			t.Errorf("tenant %q on the shared host: %v", tenant, err)
		}
	}
}
