package adversarial

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestAmplifyingPods is issue 8's case 1, as far as it is left after the
// cap of 256 VOLUMEs per image: a pod of thousands of containers of an
// image at the cap is a few hundred KB and, before the findings of one pod
// spec were bounded, took a gigabyte and seconds past the deadline (4,000
// containers: 1,024,000 findings). Every mode answers it in time, within
// the answer's bounds, and the process stays within its own.
func TestAmplifyingPods(t *testing.T) {
	reg := harness.StartRegistry(t)
	reg.AddImage(t, "many", "1", mustImage(t, paths(256)...))
	srv, idle := startServe(t, false)
	stop := watch(t, srv)
	rv := reviewer(srv)
	for _, tt := range []struct {
		ns, path   string
		containers int
		allowed    bool
	}{
		{"adv-audit", "/validate", 4000, true},
		{"adv-mutate", "/mutate", 4000, true},
		{"adv-mutate", "/validate", 4000, true},
		{"adv-enforce", "/validate", 4000, false},
		// About 1.5 MB, etcd's limit for an object.
		{"adv-enforce", "/validate", 28000, false},
	} {
		t.Run(fmt.Sprintf("%s%s %d containers", tt.ns, tt.path, tt.containers), func(t *testing.T) {
			pod := harness.Pod("p", tt.ns, harness.Repeat(reg.Ref("many", "1"), tt.containers)...)
			review := harness.PodReview("uid", tt.ns, pod)
			a, err := rv.Post(context.Background(), tt.path, reviewTimeout, review)
			if err != nil {
				t.Fatalf("no answer to a review of %d bytes before the %s timeout: %v", len(review), reviewTimeout, err)
			}
			if a.Status != http.StatusOK || a.Response().Allowed != tt.allowed || a.Bytes > 1<<20 {
				t.Errorf("HTTP %d, allowed %v, %d bytes (%.200s); want 200, allowed %v, at most 1 MiB", a.Status, a.Response().Allowed, a.Bytes, a.Message(), tt.allowed)
			}
			t.Logf("a review of %d bytes: answered in %s with %d bytes", len(review), a.Took.Round(time.Millisecond), a.Bytes)
		})
	}
	assertBounded(t, srv, idle, stop())
}
