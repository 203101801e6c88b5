package imageinspect

import (
	"context"
	"testing"
	"time"
)

func TestFailureTTL(t *testing.T) {
	tests := []struct {
		name string
		mode hostileMode
		ttl  time.Duration
		// then is the second lookup after a failed first one.
		then       []InspectOption
		otherCreds bool   // the second lookup has credentials, the first none
		ref        string // of the second lookup; the first's by default
		advance    time.Duration
		kind       error
		requests   int64 // manifest GETs in all
	}{
		{name: "a 500 is remembered", mode: answer500, ttl: time.Minute, kind: ErrUnavailable, requests: 2},
		{name: "a 429 is remembered", mode: answer429, ttl: time.Minute, kind: ErrRateLimited, requests: 1},
		{name: "a timeout is remembered", mode: hang, ttl: time.Minute, kind: ErrTimeout, requests: 1},
		{name: "not by default", mode: answer500, kind: ErrUnavailable, requests: 4},
		{name: "not past its TTL", mode: answer500, ttl: time.Minute, advance: time.Minute, kind: ErrUnavailable, requests: 4},
		{name: "not for another image", mode: answer500, ttl: time.Minute, ref: "other:1", kind: ErrUnavailable, requests: 4},
		{name: "not for other credentials", mode: answer500, ttl: time.Minute, otherCreds: true, kind: ErrUnavailable, requests: 4},
		{name: "not for another tenant", mode: answer500, ttl: time.Minute, then: []InspectOption{ForTenant("b")}, kind: ErrUnavailable, requests: 4},
		{name: "not a 404", mode: answer404, ttl: time.Minute, kind: ErrNotFound, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startHostile(t, tt.mode)
			var rec recordedMetrics
			clk := newClock()
			in := newTestInspector(t, WithFailureTTL(tt.ttl), WithRetries(2, time.Millisecond), WithNotFoundTTL(0),
				WithCircuitBreaker(0, 0), WithClock(clk.Now), WithMetrics(rec.metrics()))
			lookup := func(ref string, opts ...InspectOption) error {
				ctx := context.Background()
				if tt.mode == hang {
					ctx = shortContext(t)
				}
				_, err := in.Inspect(ctx, reg.host+"/"+ref, nil, opts...)
				return err
			}
			assertErr(t, lookup("app:1", ForTenant("a")), tt.kind)
			clk.advance(tt.advance)
			ref := tt.ref
			if ref == "" {
				ref = "app:1"
			}
			then := append([]InspectOption{ForTenant("a")}, tt.then...)
			if tt.otherCreds {
				then = append(then, UsingKeychain(staticKeychain{host: reg.host, user: "x", pass: "y"}))
			}
			err := lookup(ref, then...)
			assertErr(t, err, tt.kind)
			if n := reg.manifests.Load(); n != tt.requests {
				t.Errorf("%d manifest GETs, want %d", n, tt.requests)
			}
			remembered := tt.requests <= 2 && tt.mode != answer404
			if hits := in.Stats().FailureHits; (hits == 1) != remembered {
				t.Errorf("%d failures answered from memory; remembered: %v", hits, remembered)
			}
			if remembered {
				assertErr(t, err, tt.kind, "remembered: the same lookup failed less than 1m0s ago")
			}
		})
	}
}
