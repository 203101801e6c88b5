package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestRegistryKilledMidBurst: the registry dies while every admission
// asks it for a tag never read before. Every admission is still answered
// before the webhooks' timeout, as --on-registry-error says: in mode
// enforce, denied for its finding before the kill and, after it, denied
// (deny) or admitted with a warning (allow); in mode audit, admitted.
func TestRegistryKilledMidBurst(t *testing.T) {
	for _, policy := range []string{"deny", "allow"} {
		t.Run(policy, func(t *testing.T) {
			reg := harness.StartRegistry(t)
			img, err := testimage.New("/data")
			if err != nil {
				t.Fatal(err)
			}
			reg.AddImage(t, "ci/app", harness.AnyTag, img)
			replicas(t, 2, "--on-registry-error", policy)
			l := startLoad(8, func(i int) (string, *corev1.Pod) {
				ns := "chaos-audit"
				if i%2 == 0 {
					ns = "chaos-enforce"
				}
				return ns, harness.Pod("app", ns, reg.Ref("ci/app", fmt.Sprint("build-", i)))
			})
			time.Sleep(2 * time.Second)
			killedAt := time.Now()
			reg.Kill()
			time.Sleep(3 * time.Second)
			outcomes := l.finish()

			failed := errorsOf(outcomes)
			var before, unchecked, admittedAfter int
			for _, o := range outcomes {
				switch {
				case o.err != nil:
				case o.ns == "chaos-audit" && o.denied:
					t.Errorf("mode audit denied: %s", o.message)
				case o.ns == "chaos-audit":
				case o.end.Before(killedAt):
					before++
					if !o.denied {
						t.Errorf("mode enforce admitted a pod while the registry was up")
					}
				case o.denied && strings.Contains(o.message, "could not check image"):
					unchecked++
				case !o.denied:
					admittedAfter++
				}
			}
			t.Logf("%d admissions, %d failed, the slowest %s; in mode enforce: %d judged before the kill, after it %d denied as unreadable, %d admitted",
				len(outcomes), len(failed), slowest(outcomes).Round(time.Millisecond), before, unchecked, admittedAfter)
			if len(failed) > 0 {
				t.Errorf("%d admissions failed:%s", len(failed), describe(failed))
			}
			if worst := slowest(outcomes); worst > 2*webhookTimeout {
				t.Errorf("an admission took %s, over twice the webhooks' %s timeout", worst, webhookTimeout)
			}
			if policy == "deny" && (unchecked == 0 || admittedAfter > 0) {
				t.Errorf("after the kill, %d denied as unreadable and %d admitted; want denials only (--on-registry-error=deny)", unchecked, admittedAfter)
			}
			if policy == "allow" && (admittedAfter == 0 || unchecked > 0) {
				t.Errorf("after the kill, %d denied as unreadable and %d admitted; want admissions only (--on-registry-error=allow)", unchecked, admittedAfter)
			}
		})
	}
}

// TestAPIServerRestarted: kube-apiserver stops for a few seconds and comes
// back on the same etcd. The replicas' informers recover: a namespace's
// mode changed afterwards is honoured (the informer's cache, not a live
// read, answers for a namespace it knows), and so is a namespace created
// afterwards.
func TestAPIServerRestarted(t *testing.T) {
	ctx := context.Background()
	if err := s.cp.Namespace(ctx, "chaos-flip", "audit"); err != nil {
		t.Fatal(err)
	}
	reg := harness.StartRegistry(t)
	img, err := testimage.New("/data")
	if err != nil {
		t.Fatal(err)
	}
	reg.AddImage(t, "zookeeper", "1", img)
	rs, _ := replicas(t, 2)
	pod := func(ns string) error {
		_, err := s.cp.Client.CoreV1().Pods(ns).Create(ctx, harness.Pod("zk", ns, reg.Ref("zookeeper", "1")), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	if err := pod("chaos-flip"); err != nil {
		t.Fatalf("mode audit before the restart: %v", err)
	}

	if err := s.cp.RestartAPIServer(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := eventually(60*time.Second, func() error {
		_, err := s.cp.Client.CoreV1().Namespaces().Get(ctx, "chaos-flip", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("the API server did not come back: %v", err)
	}
	for i, r := range rs {
		if r.Exited() {
			t.Fatalf("replica %d exited when the API server restarted (%v); logs:\n%s", i, r.ExitErr(), r.Logs())
		}
	}

	// Both replicas must see the change, through the balancer's round-robin:
	// several denials in a row.
	setMode(t, "chaos-flip", "enforce")
	flipped := time.Now()
	if err := eventually(60*time.Second, denials(pod, "chaos-flip", 4)); err != nil {
		t.Fatalf("mode enforce, set after the restart, not honoured: %v", err)
	}
	t.Logf("mode enforce honoured %s after it was set (%s after the restart)", time.Since(flipped).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))

	if err := s.cp.Namespace(ctx, "chaos-new", "enforce"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, denials(pod, "chaos-new", 4)); err != nil {
		t.Errorf("a namespace created after the restart: %v", err)
	}
	setMode(t, "chaos-flip", "off")
	if err := eventually(30*time.Second, func() error {
		for range 4 {
			if err := pod("chaos-flip"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Errorf("mode off, set after the restart, not honoured: %v", err)
	}
}

// denials checks that n pods in a row are denied in ns.
func denials(pod func(string) error, ns string, n int) func() error {
	return func() error {
		for range n {
			if err := pod(ns); !harness.IsVolumeguardDenial(err) {
				return fmt.Errorf("not denied: %v", err)
			}
		}
		return nil
	}
}

func setMode(t *testing.T, ns, mode string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{"volumeguard.io/mode":%q}}}`, mode)
	if _, err := s.cp.Client.CoreV1().Namespaces().Patch(context.Background(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f every 200 ms until it succeeds or limit passes.
func eventually(limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
