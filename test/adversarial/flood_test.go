package adversarial

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestRegistryFloodCostsOnlyItsTenant is issue 8's case 2 through the real
// API server: one namespace floods the webhook with pods of eight images
// each that a registry accepts and never answers, while another namespace,
// in mode enforce, creates pods of a healthy registry. Before the fix those
// were admitted unchecked ("could not check image (timeout)") after a few
// seconds. Every one must now be denied for its finding, half of them
// naming a tag never asked before, and every flood pod admitted (audit,
// with a warning) without the API server giving up on the webhook: with
// failurePolicy Fail, a late answer would fail the create.
//
// On a shared host (the hanging repositories on the victims' registry),
// the circuit breaker once opened for the host fails the victims' uncached
// lookups too, which --on-registry-error=allow admitted unchecked: each
// tenant now has its own circuit per host.
func TestRegistryFloodCostsOnlyItsTenant(t *testing.T) {
	for _, tt := range []struct {
		name   string
		shared bool
	}{
		{"a registry of its own", false},
		{"repositories of the victims' registry", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			healthy := harness.StartRegistry(t)
			hanging := healthy
			if !tt.shared {
				hanging = harness.StartRegistry(t)
			}
			flood(t, healthy, hanging)
		})
	}
}

func flood(t *testing.T, healthy, hanging *harness.Registry) {
	zk := mustImage(t, "/data", "/datalog", "/logs")
	for k := range 100 {
		healthy.AddImage(t, "zookeeper", fmt.Sprint(k), zk)
	}
	for k := range 8 {
		hanging.SetFault(fmt.Sprint("hang", k), harness.Hang)
	}
	srv, idle := startServe(t, true)
	stop := watch(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	// The flood: 8 clients, each pod naming 8 images never asked before.
	const floodFor = 6 * time.Second
	var flooded, held atomic.Int64
	var wg sync.WaitGroup
	floodEnd := time.Now().Add(floodFor)
	for c := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(floodEnd); i++ {
				var images []string
				for k := range 8 {
					images = append(images, hanging.Ref(fmt.Sprint("hang", k), fmt.Sprintf("c%d-%d", c, i)))
				}
				pod := harness.Pod(fmt.Sprintf("flood-%d-%d", c, i), "adv-audit", images...)
				start := time.Now()
				_, err := s.cp.Client.CoreV1().Pods("adv-audit").Create(ctx, pod, dryRun)
				flooded.Add(1)
				if time.Since(start) > webhookTimeout/2 {
					held.Add(1) // held to its deadline, not failed fast by the breaker
				}
				if err != nil {
					t.Errorf("flood pod after %s: %v; want admitted (audit) before the webhook's %s timeout", time.Since(start), err, webhookTimeout)
				}
			}
		})
	}

	// The victims, while the flood lasts: every other one names a tag
	// never asked before, the others one the cache holds.
	time.Sleep(time.Second)
	var victims int
	var slowest time.Duration
	for time.Now().Before(floodEnd) {
		image := healthy.Ref("zookeeper", "0")
		if victims%2 == 1 {
			image = healthy.Ref("zookeeper", fmt.Sprint(1+victims/2))
		}
		start := time.Now()
		_, err := s.cp.Client.CoreV1().Pods("adv-enforce").Create(ctx, harness.Pod(fmt.Sprint("victim-", victims), "adv-enforce", image), dryRun)
		took := time.Since(start)
		slowest = max(slowest, took)
		victims++
		if !harness.IsVolumeguardDenial(err) || !strings.Contains(err.Error(), "declares VOLUME /data") {
			t.Errorf("victim %d (%s) after %s: %v; want denied for its VOLUME /data", victims, image, took, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("%d flood pods of 8 hanging images (%d held to their deadline), %d victims denied, the slowest in %s",
		flooded.Load(), held.Load(), victims, slowest)
	if victims < 10 {
		t.Errorf("only %d victims during the flood", victims)
	}
	assertBounded(t, srv, idle, stop())
}
