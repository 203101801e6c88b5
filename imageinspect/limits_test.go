package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func pushApps(t *testing.T, host string, repos ...string) {
	t.Helper()
	for _, r := range repos {
		pushImage(t, host, r, imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	}
}

func TestHostConcurrency(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		lookups int
		want    int // requests in flight to the host at most
	}{
		{name: "default", lookups: 10, want: 8},
		{name: "two", opts: []Option{WithHostConcurrency(2)}, lookups: 5, want: 2},
		{name: "one", opts: []Option{WithHostConcurrency(1)}, lookups: 3, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startHostile(t, serveOK)
			var refs []string
			for k := range tt.lookups {
				refs = append(refs, fmt.Sprintf("app%d:1", k))
			}
			pushApps(t, reg.host, refs...)
			reg.setMode(holdThenOK)
			var rec recordedMetrics
			in := newTestInspector(t, append(tt.opts, WithMetrics(rec.metrics()))...)

			var wg sync.WaitGroup
			errs := make([]error, tt.lookups)
			for k, r := range refs {
				wg.Go(func() { _, errs[k] = in.Inspect(context.Background(), reg.host+"/"+r, nil) })
			}
			reg.waitArrived(t, tt.want)
			waiting := int64(tt.lookups - tt.want)
			eventually(t, "the other lookups to queue", func() bool { return in.Stats().HostWaits == waiting })
			if n := reg.manifests.Load(); n != int64(tt.want) {
				t.Errorf("%d manifest requests in flight, want %d", n, tt.want)
			}
			reg.release()
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			// Config fetches may wait too once released.
			if waits, gaveUp := rec.slotWaits(); waits[SlotHost] < int(waiting) || waits[SlotTenant] != 0 || gaveUp != 0 {
				t.Errorf("SlotWait reported %v waits, %d given up; want %d host waits at least", waits, gaveUp, waiting)
			}
		})
	}
}

func TestSlotWaitsEndWithTheContext(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		holder []InspectOption // the lookup holding the only slot
		waiter []InspectOption
		says   []string
		// remembered: WithFailureTTL keeps the failure. A host that does
		// not free a slot in time is failing; a tenant's queue is not.
		remembered bool
	}{
		{name: "host slot", opts: []Option{WithHostConcurrency(1)}, remembered: true},
		{
			name: "tenant slot", opts: []Option{WithTenantConcurrency(1)},
			holder: []InspectOption{ForTenant("team-a")}, waiter: []InspectOption{ForTenant("team-a")},
			says: []string{`waiting for one of the 1 lookup slots of tenant "team-a", all busy`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startHostile(t, serveOK)
			pushApps(t, reg.host, "held:1", "waiting:1")
			reg.setMode(hang)
			in := newTestInspector(t, append(tt.opts, WithFailureTTL(time.Hour))...)
			bg := startBackground(t)
			bg.inspect(in, reg.host+"/held:1", tt.holder...)
			reg.waitArrived(t, 1)

			_, err := in.Inspect(shortContext(t), reg.host+"/waiting:1", nil, tt.waiter...)
			assertErr(t, err, ErrTimeout, tt.says...)
			if n := reg.manifests.Load(); n != 1 {
				t.Errorf("%d manifest requests sent, want only the holder's", n)
			}
			bg.cancel()
			reg.setMode(serveOK)
			_, err = in.Inspect(context.Background(), reg.host+"/waiting:1", nil, tt.waiter...)
			if remembered := err != nil && strings.Contains(err.Error(), "remembered"); remembered != tt.remembered {
				t.Errorf("once the slot is free: %v; want remembered: %v", err, tt.remembered)
			}
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	reg := startHostile(t, serveOK)
	pushApps(t, reg.host, "slow/a:1", "slow/b:1", "slow/c:1", "fast/cached:1", "fast/new:1", "fast/other:1", "fast/fresh:1")
	reg.setMode(hangSlow)
	in := newTestInspector(t, WithHostConcurrency(3), WithTenantConcurrency(2), WithFailureTTL(time.Hour))
	if _, err := in.Inspect(context.Background(), reg.host+"/fast/cached:1", nil); err != nil {
		t.Fatal(err)
	}
	// team-a's three slow lookups: two hold its slots (and two of the
	// host's three), the third waits in team-a's queue.
	bg := startBackground(t)
	for _, r := range []string{"slow/a:1", "slow/b:1", "slow/c:1"} {
		bg.inspect(in, reg.host+"/"+r, ForTenant("team-a"))
	}
	reg.waitArrived(t, 3) // the cached lookup's, then two slow ones
	eventually(t, "team-a's third lookup to queue", func() bool { return in.Stats().TenantWaits == 1 })

	tests := []struct {
		name   string
		short  bool // a short deadline, else none
		ref    string
		tenant string
		kind   error // nil: succeeds
	}{
		{name: "another tenant reads the same registry", ref: "fast/new:1", tenant: "team-b"},
		{name: "a lookup without tenant too", ref: "fast/other:1"},
		{name: "the flooding tenant's cached lookup takes no slot", short: true, ref: "fast/cached:1", tenant: "team-a"},
		{name: "its uncached lookup waits in its own queue", short: true, ref: "fast/fresh:1", tenant: "team-a", kind: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.short {
				ctx = shortContext(t)
			}
			img, err := in.Inspect(ctx, reg.host+"/"+tt.ref, nil, ForTenant(tt.tenant))
			if tt.kind != nil {
				assertErr(t, err, tt.kind, `lookup slots of tenant "team-a"`)
				return
			}
			if err != nil || len(img.Platforms) != 1 {
				t.Fatalf("image %v, error %v; want the image", img, err)
			}
		})
	}
}

func TestCircuitBreaker(t *testing.T) {
	tests := []struct {
		name     string
		mode     hostileMode
		refused  bool  // nothing listens
		kind     error // of the failures before the circuit opens
		opens    bool
		requests int64 // manifest requests sent in all
		says     []string
	}{
		{name: "a registry that hangs", mode: hang, kind: ErrTimeout, opens: true, requests: 3, says: []string{"no answer in time"}},
		{name: "a registry answering 500", mode: answer500, kind: ErrUnavailable, opens: true, requests: 6, says: []string{"500 Internal Server Error"}},
		{name: "a refused connection", refused: true, kind: ErrUnavailable, opens: true, says: []string{"the connection was refused"}},
		{name: "404 is an answer", mode: answer404, kind: ErrNotFound, requests: 5},
		{name: "401 is an answer", mode: answer401, kind: ErrUnauthorized, requests: 5},
		{name: "429 says nothing of the host's health", mode: answer429, kind: ErrRateLimited, requests: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg *hostile
			host := ""
			if tt.refused {
				host = refusedHost(t)
			} else {
				reg = startHostile(t, serveOK)
				pushApps(t, reg.host, "app:1")
				reg.setMode(tt.mode)
				host = reg.host
			}
			var rec recordedMetrics
			clk := newClock()
			in := newTestInspector(t, WithCircuitBreaker(3, time.Minute), WithRetries(2, time.Millisecond),
				WithNotFoundTTL(0), WithClock(clk.Now), WithMetrics(rec.metrics()))
			for k := range 5 {
				ctx := context.Background()
				if tt.mode == hang {
					ctx = shortContext(t)
				}
				_, err := in.Inspect(ctx, host+"/app:1", nil)
				if tt.opens && k < 3 {
					failed(t, in, int64(k+1))
				}
				if !tt.opens || k < 3 {
					if !errors.Is(err, tt.kind) || strings.Contains(fmt.Sprint(err), "circuit open") {
						t.Fatalf("lookup %d: %v, want %v from the registry", k+1, err, tt.kind)
					}
					continue
				}
				until := clk.Now().Add(time.Minute).UTC().Format(time.RFC3339)
				assertErr(t, err, ErrUnavailable, append([]string{"circuit open for " + host, "after 3 consecutive failures", "until " + until}, tt.says...)...)
			}
			if reg != nil && reg.manifests.Load() != tt.requests {
				t.Errorf("%d manifest requests sent, want %d", reg.manifests.Load(), tt.requests)
			}
			st := in.Stats()
			wantEvents, wantFailures := []CircuitEvent(nil), int64(0)
			if tt.opens {
				wantEvents, wantFailures = []CircuitEvent{CircuitOpened, CircuitRefused, CircuitRefused}, 3
			}
			if fmt.Sprint(rec.circuitEvents()) != fmt.Sprint(wantEvents) || st.CircuitOpens != int64(len(wantEvents)/3) || st.HostFailures != wantFailures {
				t.Errorf("circuit events %v, stats %+v; want %v and %d host failures", rec.circuitEvents(), st, wantEvents, wantFailures)
			}
		})
	}
}

func TestCircuitHalfOpen(t *testing.T) {
	reg := startHostile(t, serveOK)
	pushApps(t, reg.host, "app:1", "other:1")
	reg.setMode(hang)
	var rec recordedMetrics
	clk := newClock()
	in := newTestInspector(t, WithCircuitBreaker(1, 10*time.Second), WithClock(clk.Now), WithMetrics(rec.metrics()))
	ref := reg.host + "/app:1"

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"one timeout opens it", func(t *testing.T) {
			_, err := in.Inspect(shortContext(t), ref, nil)
			assertErr(t, err, ErrTimeout)
			reg.waitArrived(t, 1)
			failed(t, in, 1)
			_, err = in.Inspect(context.Background(), ref, nil)
			assertErr(t, err, ErrUnavailable, "circuit open", "no answer in time")
		}},
		{"after the cooldown one request probes while the others fail fast", func(t *testing.T) {
			clk.advance(10 * time.Second)
			probe, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { _, err := in.Inspect(probe, ref, nil); done <- err }()
			reg.waitArrived(t, 1)
			_, err := in.Inspect(context.Background(), reg.host+"/other:1", nil)
			assertErr(t, err, ErrUnavailable, "one request is probing it")
			cancel() // the caller leaving says nothing of the host
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("probe: %v, want its cancellation", err)
			}
		}},
		{"a failed probe opens it again", func(t *testing.T) {
			_, err := in.Inspect(shortContext(t), ref, nil)
			assertErr(t, err, ErrTimeout)
			reg.waitArrived(t, 1)
			failed(t, in, 2)
			until := clk.Now().Add(10 * time.Second).UTC().Format(time.RFC3339)
			_, err = in.Inspect(context.Background(), ref, nil)
			assertErr(t, err, ErrUnavailable, "until "+until)
		}},
		{"an answer closes it", func(t *testing.T) {
			clk.advance(10 * time.Second)
			reg.setMode(serveOK)
			for _, r := range []string{ref, reg.host + "/other:1"} {
				if _, err := in.Inspect(context.Background(), r, nil); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.do) {
			return
		}
	}
	want := []CircuitEvent{CircuitOpened, CircuitRefused, CircuitRefused, CircuitOpened, CircuitRefused, CircuitClosed}
	if got := rec.circuitEvents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("circuit events %v, want %v", got, want)
	}
	if st := in.Stats(); st.CircuitOpens != 2 || st.CircuitRefusals != 3 {
		t.Errorf("stats %+v, want 2 opens and 3 refusals", st)
	}
}

func TestCircuitPerHost(t *testing.T) {
	down := startHostile(t, hang)
	up := startHostile(t, serveOK)
	pushApps(t, up.host, "app:1")
	in := newTestInspector(t, WithCircuitBreaker(1, time.Minute))
	_, err := in.Inspect(shortContext(t), down.host+"/app:1", nil)
	assertErr(t, err, ErrTimeout)
	failed(t, in, 1)
	_, err = in.Inspect(context.Background(), down.host+"/app:1", nil)
	assertErr(t, err, ErrUnavailable, "circuit open")
	if _, err := in.Inspect(context.Background(), up.host+"/app:1", nil); err != nil {
		t.Errorf("another host: %v", err)
	}
}

func TestCircuitBreakerOff(t *testing.T) {
	reg := startHostile(t, answer500)
	in := newTestInspector(t, WithCircuitBreaker(0, 0), WithRetries(1, time.Millisecond))
	for range 8 {
		_, err := in.Inspect(context.Background(), reg.host+"/app:1", nil)
		assertErr(t, err, ErrUnavailable, "500")
	}
	if n := reg.manifests.Load(); n != 8 {
		t.Errorf("%d manifest requests, want 8: every lookup asks", n)
	}
}
