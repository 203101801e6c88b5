// Package soak drives 100,000 pod admissions (dry-run creates) through a
// real kube-apiserver to the built `volumeguard serve`, across namespaces
// of every mode, with healthy, slow and failing registries in the mix, and
// checks that nothing but the expected denials fails, that no answer comes
// past its deadline, and that RSS and goroutines stay flat after warm-up.
// It takes minutes: `make soak` (VOLUMEGUARD_SOAK=1); its figures go to
// docs/reliability.md.
package soak

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// webhookTimeout is the webhook configurations' timeoutSeconds, the
// API server's default.
const webhookTimeout = 10 * time.Second

func TestSoak(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_SOAK") == "" {
		t.Skip("set VOLUMEGUARD_SOAK=1 (make soak) to run the soak")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set; run `make soak`")
	}
	total := envInt(t, "VOLUMEGUARD_SOAK_ADMISSIONS", 100_000)
	workers := envInt(t, "VOLUMEGUARD_SOAK_CONCURRENCY", 32)
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := harness.StartControlPlane(assets, harness.Webhooks{TimeoutSeconds: int32(webhookTimeout / time.Second), Validate: admissionregistrationv1.Fail})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	ctx := context.Background()
	for _, mode := range modes {
		if err := cp.Namespace(ctx, "soak-"+mode, mode); err != nil {
			t.Fatal(err)
		}
	}
	kinds := podKinds(t)
	srv := harness.StartServe(t, bin, cp, cp.ServingAddr())
	start, err := srv.Sample()
	if err != nil {
		t.Fatal(err)
	}

	run := &soakRun{total: total, kinds: kinds, client: cp}
	samples := run.drive(t, srv, workers)
	end, err := idleSample(srv, start)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := srv.Histogram("volumeguard_admission_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	late := hist["+Inf"] - hist["10.24"]

	t.Logf("%d admissions by %d clients in %s (%.0f/s); latency through the API server: %s",
		total, workers, run.elapsed.Round(time.Second), float64(total)/run.elapsed.Seconds(), run.latencies())
	t.Logf("outcomes: %s", run.outcomes())
	t.Logf("webhook answers: %.0f, of which over 10.24 s: %.0f", hist["+Inf"], late)
	t.Logf("samples (admissions: RSS, goroutines):\n%s", formatSamples(samples))
	t.Logf("start (idle): %s; end (idle): %s", start, end)

	if n := run.unexpected.Load(); n > 0 {
		t.Errorf("%d admissions ended otherwise than expected; the first: %s", n, strings.Join(run.firstUnexpected(), "\n"))
	}
	if late > 0 {
		t.Errorf("%.0f webhook answers took over 10.24 s: past the %s deadline", late, webhookTimeout)
	}
	checkFlat(t, samples, start, end)
}

var modes = []string{"off", "audit", "mutate", "enforce"}

// podKind is one kind of pod of the mix, and what each mode must do to it.
type podKind struct {
	name string
	pod  func(ns string, i int) *corev1.Pod
	// denied in mode enforce; mutated (emptyDirs added) in mode mutate.
	deniedInEnforce bool
	mutated         int
}

// podKinds pushes the images and returns the mix: a healthy image
// declaring VOLUMEs (bare and covered), one declaring none, one on a
// registry answering 500, and a tag never asked before on a registry that
// hangs past the deadline on one request in 150.
func podKinds(t *testing.T) []podKind {
	healthy, slow, broken := harness.StartRegistry(t), harness.StartRegistry(t), harness.StartRegistry(t)
	zk, err := testimage.New("/data", "/datalog", "/logs")
	if err != nil {
		t.Fatal(err)
	}
	nginx, err := testimage.New()
	if err != nil {
		t.Fatal(err)
	}
	healthy.AddImage(t, "zookeeper", "3.4", zk)
	healthy.AddImage(t, "nginx", "1", nginx)
	slow.AddImage(t, "ci/app", harness.AnyTag, nginx)
	slow.SetFault("ci/app", slow.Sometimes(150, harness.Hang))
	broken.SetFault("app", harness.Status(http.StatusInternalServerError, nil))
	covered := func(ns string, _ int) *corev1.Pod {
		pod := harness.Pod("covered", ns, healthy.Ref("zookeeper", "3.4"))
		for k, p := range []string{"/data", "/datalog", "/logs"} {
			name := fmt.Sprint("v", k)
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: p})
		}
		return pod
	}
	return []podKind{
		{name: "zookeeper", pod: func(ns string, _ int) *corev1.Pod { return harness.Pod("zk", ns, healthy.Ref("zookeeper", "3.4")) }, deniedInEnforce: true, mutated: 3},
		{name: "zookeeper covered", pod: covered},
		{name: "nginx", pod: func(ns string, _ int) *corev1.Pod { return harness.Pod("web", ns, healthy.Ref("nginx", "1")) }},
		{name: "new tag, registry hanging 1 in 150", pod: func(ns string, i int) *corev1.Pod {
			return harness.Pod("ci", ns, slow.Ref("ci/app", fmt.Sprint("build-", i)))
		}},
		{name: "registry answering 500", pod: func(ns string, _ int) *corev1.Pod { return harness.Pod("broken", ns, broken.Ref("app", "1")) }},
	}
}

// soakRun is one soak: what it sent and what came back.
type soakRun struct {
	total  int
	kinds  []podKind
	client *harness.ControlPlane

	next       atomic.Int64
	unexpected atomic.Int64
	elapsed    time.Duration

	mu      sync.Mutex
	counts  map[string]int
	first   []string
	latency []time.Duration
}

type sample struct {
	admissions int
	harness.Sample
}

// drive sends the admissions from workers clients, sampling srv every
// total/20 admissions.
func (r *soakRun) drive(t *testing.T, srv *harness.Serve, workers int) []sample {
	r.counts = map[string]int{}
	every := max(r.total/20, 1)
	var samples []sample
	var sampleMu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var local []time.Duration
			for {
				i := int(r.next.Add(1)) - 1
				if i >= r.total {
					break
				}
				local = append(local, r.admit(i))
				if (i+1)%every == 0 {
					if m, err := srv.Sample(); err == nil {
						sampleMu.Lock()
						samples = append(samples, sample{i + 1, m})
						sampleMu.Unlock()
					}
				}
			}
			r.mu.Lock()
			r.latency = append(r.latency, local...)
			r.mu.Unlock()
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.SortFunc(samples, func(a, b sample) int { return a.admissions - b.admissions })
	return samples
}

// admit sends admission i and checks its outcome.
func (r *soakRun) admit(i int) time.Duration {
	mode := modes[i%len(modes)]
	kind := r.kinds[(i/len(modes))%len(r.kinds)]
	ns := "soak-" + mode
	pod := kind.pod(ns, i)
	start := time.Now()
	got, err := r.client.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	took := time.Since(start)
	outcome := "admitted"
	want := "admitted"
	if mode == "enforce" && kind.deniedInEnforce {
		want = "denied"
	}
	switch {
	case harness.IsVolumeguardDenial(err):
		outcome = "denied"
	case err != nil:
		outcome = "error: " + err.Error()
	case mode == "mutate" && addedEmptyDirs(got) != kind.mutated:
		outcome = fmt.Sprintf("admitted with %d emptyDirs added, want %d", addedEmptyDirs(got), kind.mutated)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[mode+" "+kind.name+": "+short(outcome)]++
	if outcome != want {
		r.unexpected.Add(1)
		if len(r.first) < 10 {
			r.first = append(r.first, fmt.Sprintf("#%d %s %s after %s: %s", i, mode, kind.name, took, outcome))
		}
	}
	return took
}

func addedEmptyDirs(pod *corev1.Pod) int {
	n := 0
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && strings.HasPrefix(v.Name, "vg-") {
			n++
		}
	}
	return n
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (r *soakRun) firstUnexpected() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.first)
}

func (r *soakRun) outcomes() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []string
	for k, n := range r.counts {
		lines = append(lines, fmt.Sprintf("%7d  %s", n, k))
	}
	slices.Sort(lines)
	return "\n" + strings.Join(lines, "\n")
}

func (r *soakRun) latencies() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.latency)
	pct := func(p int) time.Duration {
		return r.latency[min(len(r.latency)-1, len(r.latency)*p/100)].Round(time.Millisecond)
	}
	held := len(r.latency) - sort.Search(len(r.latency), func(k int) bool { return r.latency[k] > 5*time.Second })
	return fmt.Sprintf("p50 %s, p99 %s, p99.9 %s, max %s; %d over 5 s (a lookup held until its deadline)",
		pct(50), pct(99), r.latency[min(len(r.latency)-1, len(r.latency)*999/1000)].Round(time.Millisecond), r.latency[len(r.latency)-1].Round(time.Millisecond), held)
}

// idleSample waits for srv to settle after the load and samples it: held
// lookups end at their deadline, and the API server's idle keep-alive
// connections (a goroutine each) when the server's IdleTimeout (90 s)
// closes them.
func idleSample(srv *harness.Serve, start harness.Sample) (harness.Sample, error) {
	var m harness.Sample
	var err error
	for range 240 {
		if m, err = srv.Sample(); err != nil || m.Goroutines <= start.Goroutines+30 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return m, err
}

// checkFlat: after the first fifth of the run (warm-up: caches filling),
// RSS grows by at most 64 MiB and goroutines by at most 50 (requests in
// flight vary), and once the load is over the goroutines are back near
// their idle count.
func checkFlat(t *testing.T, samples []sample, start, end harness.Sample) {
	t.Helper()
	if len(samples) < 5 {
		t.Fatalf("only %d samples", len(samples))
	}
	warm := samples[len(samples)/5]
	var maxAfter sample
	for _, m := range samples[len(samples)/5:] {
		if m.RSS > maxAfter.RSS {
			maxAfter = m
		}
	}
	if maxAfter.RSS-warm.RSS > 64<<20 {
		t.Errorf("RSS grew from %s at %d admissions to %s at %d: not flat", warm.Sample, warm.admissions, maxAfter.Sample, maxAfter.admissions)
	}
	for _, m := range samples[len(samples)/5:] {
		if m.Goroutines > warm.Goroutines+50 {
			t.Errorf("goroutines grew from %s at %d admissions to %s at %d: not flat", warm.Sample, warm.admissions, m.Sample, m.admissions)
			break
		}
	}
	if end.Goroutines > start.Goroutines+30 {
		t.Errorf("%d goroutines once idle again, %d at the start", end.Goroutines, start.Goroutines)
	}
}

func formatSamples(samples []sample) string {
	var b strings.Builder
	for _, m := range samples {
		fmt.Fprintf(&b, "%9d: %s\n", m.admissions, m.Sample)
	}
	return b.String()
}

func envInt(t *testing.T, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}
