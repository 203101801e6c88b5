package chaos

import (
	"net"
	"net/http"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// zkMix is the load of the replica scenarios: a pod of an image declaring
// VOLUMEs, in turn in mode enforce (denied) and audit (admitted).
func zkMix(t *testing.T) func(i int) (string, *corev1.Pod) {
	t.Helper()
	reg := harness.StartRegistry(t)
	img, err := testimage.New("/data", "/datalog", "/logs")
	if err != nil {
		t.Fatal(err)
	}
	reg.AddImage(t, "zookeeper", "1", img)
	ref := reg.Ref("zookeeper", "1")
	return func(i int) (string, *corev1.Pod) {
		ns := "chaos-audit"
		if i%2 == 0 {
			ns = "chaos-enforce"
		}
		return ns, harness.Pod("zk", ns, ref)
	}
}

// checkDecisions: every admission that was answered was answered right:
// denied in enforce, admitted in audit.
func checkDecisions(t *testing.T, outcomes []outcome) {
	t.Helper()
	for _, o := range outcomes {
		if o.err == nil && o.denied != (o.ns == "chaos-enforce") {
			t.Errorf("%s: denied %v (%s)", o.ns, o.denied, o.message)
		}
	}
}

// TestReplicaKilled: SIGKILL one of two replicas under load. With
// failurePolicy Ignore nothing waits past the webhooks' timeoutSeconds
// (two webhooks are called: twice it, at most) and nothing fails; with
// Fail, only requests in flight on the killed replica fail: those the API
// server sent over connections the balancer had piped to it.
func TestReplicaKilled(t *testing.T) {
	for _, policy := range []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Ignore, admissionregistrationv1.Fail} {
		t.Run(string(policy), func(t *testing.T) {
			setPolicy(t, policy)
			rs, b := replicas(t, 2)
			l := startLoad(8, zkMix(t))
			time.Sleep(2 * time.Second)
			inFlight := b.backends[0].conns.Load()
			rs[0].Kill()
			time.Sleep(3 * time.Second)
			outcomes := l.finish()

			failed := errorsOf(outcomes)
			t.Logf("%d admissions, %d failed, %d connections open to the killed replica, the slowest %s",
				len(outcomes), len(failed), inFlight, slowest(outcomes).Round(time.Millisecond))
			if worst := slowest(outcomes); worst > 2*webhookTimeout {
				t.Errorf("an admission took %s, over twice the webhooks' %s timeout", worst, webhookTimeout)
			}
			switch policy {
			case admissionregistrationv1.Ignore:
				if len(failed) > 0 {
					t.Errorf("%d admissions failed with failurePolicy Ignore:%s", len(failed), describe(failed))
				}
			default:
				unattributed := 0
				for _, f := range failed {
					switch b.routeOf(clientAddr(f.err)) {
					case 0: // sent to the killed replica
					case -1:
						unattributed++
					default:
						t.Errorf("an admission failed on the replica that was not killed:%s", describe([]outcome{f}))
					}
				}
				// An error that names no connection ("EOF") is one of the
				// killed replica's if there are no more of them than it
				// had connections.
				if int64(unattributed) > inFlight {
					t.Errorf("%d admissions failed on connections the error does not name, more than the %d the killed replica had:%s", unattributed, inFlight, describe(failed))
				}
				checkDecisions(t, outcomes)
			}
		})
	}
}

// TestReplicaStopped: SIGTERM one of two replicas under load, with
// failurePolicy Fail. It stops gracefully: /readyz fails before its
// admission listener closes, so that the balancer (a Service's endpoints)
// stops sending it connections first, its requests in flight are answered,
// and no admission fails.
func TestReplicaStopped(t *testing.T) {
	rs, _ := replicas(t, 2, "--shutdown-delay", "2s")
	l := startLoad(8, zkMix(t))
	time.Sleep(2 * time.Second)
	w := watchShutdown(rs[0])
	if err := rs[0].Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !rs[0].WaitExit(30 * time.Second) {
		t.Fatalf("the replica did not exit within 30 s of SIGTERM; logs:\n%s", rs[0].Logs())
	}
	time.Sleep(time.Second)
	outcomes := l.finish()
	notReady, closed, overlap := w.stop()

	failed := errorsOf(outcomes)
	t.Logf("SIGTERM at %s", stamp(w.start))
	t.Logf("%d admissions, %d failed; /readyz failed %s after SIGTERM, the listener closed %s after",
		len(outcomes), len(failed), notReady.Sub(w.start).Round(time.Millisecond), closed.Sub(w.start).Round(time.Millisecond))
	if rs[0].ExitErr() != nil {
		t.Errorf("exit after SIGTERM: %v; logs:\n%s", rs[0].ExitErr(), rs[0].Logs())
	}
	if notReady.IsZero() || closed.IsZero() || !overlap {
		t.Errorf("/readyz failed at %s, the listener closed at %s, and it never accepted a connection while not ready: want readiness dropped first",
			stamp(notReady), stamp(closed))
	}
	if len(failed) > 0 {
		t.Errorf("%d admissions failed:%s", len(failed), describe(failed))
	}
	checkDecisions(t, outcomes)
}

// shutdownWatch records, every 10 ms, when a replica's /readyz first fails
// and when its admission listener first refuses a connection, and whether
// it accepted one after /readyz had failed.
type shutdownWatch struct {
	start            time.Time
	done             chan struct{}
	wg               sync.WaitGroup
	notReady, closed time.Time
	overlap          bool
}

func watchShutdown(r *harness.Serve) *shutdownWatch {
	w := &shutdownWatch{start: time.Now(), done: make(chan struct{})}
	client := http.Client{Timeout: 500 * time.Millisecond}
	w.wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for w.notReady.IsZero() || w.closed.IsZero() {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			if w.notReady.IsZero() {
				resp, err := client.Get("http://" + r.Metrics + "/readyz")
				if err != nil || resp.StatusCode != http.StatusOK {
					w.notReady = time.Now()
				}
				if err == nil {
					resp.Body.Close()
				}
			}
			if w.closed.IsZero() {
				c, err := net.DialTimeout("tcp", r.Addr, 500*time.Millisecond)
				if err != nil {
					w.closed = time.Now()
				} else {
					c.Close()
					w.overlap = w.overlap || !w.notReady.IsZero()
				}
			}
		}
	})
	return w
}

func (w *shutdownWatch) stop() (notReady, closed time.Time, overlap bool) {
	close(w.done)
	w.wg.Wait()
	return w.notReady, w.closed, w.overlap
}

// clientAddr is the API server's end of the connection an error of a
// webhook call names ("read tcp 127.0.0.1:54710->127.0.0.1:36249: ..."),
// or "".
func clientAddr(err error) string {
	m := connInError.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return m[1]
}

var connInError = regexp.MustCompile(`tcp (127\.0\.0\.1:\d+)->`)

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("15:04:05.000")
}
