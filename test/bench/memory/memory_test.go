// Package memory measures `volumeguard serve` holding many images: its RSS
// once 10,000 distinct images have been admitted (and so cached), then over
// 100,000 more admissions of them, with its goroutines. It runs only when
// asked (make bench-memory, make bench): its figures go to
// docs/benchmarks.md, never into an assertion.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

const namespace = "bench-memory"

func TestMemory(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_BENCH_MEMORY") == "" {
		t.Skip("set VOLUMEGUARD_BENCH_MEMORY=1 (make bench-memory) to measure memory")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set; run `make bench-memory`")
	}
	images := envInt(t, "VOLUMEGUARD_BENCH_IMAGES", 10_000)
	admissions := envInt(t, "VOLUMEGUARD_BENCH_ADMISSIONS", 100_000)
	const workers, repos = 8, 1_000

	reg := harness.StartRegistry(t)
	refs := pushImages(t, reg, images, repos)
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := harness.StartControlPlane(assets, harness.Webhooks{TimeoutSeconds: 10, Validate: admissionregistrationv1.Ignore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	if err := cp.Namespace(context.Background(), namespace, "mutate"); err != nil {
		t.Fatal(err)
	}
	// Cold images arrive 8 at a time, more than serve scans content at once
	// (4): the others wait for a scan slot within their deadline, and every
	// admission is answered with a patch, with the default settings.
	srv := harness.StartServe(t, bin, cp, cp.ServingAddr())
	rv := harness.NewReviewer(cp.Webhook.LocalServingCAData, srv.Addr)
	requests := func() int {
		n := 0
		for r := range repos {
			n += reg.Requests(repoName(r))
		}
		return n
	}

	idle, err := srv.Sample()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("serve with %d distinct images (%d repositories) on a loopback registry, %d clients posting to /mutate (mode mutate)\n", images, repos, workers)
	fmt.Printf("%-34s %11s %10s %10s %17s\n", "phase", "admissions", "RSS_MiB", "goroutines", "registry_requests")
	row := func(phase string, n int) {
		m, err := srv.Sample()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%-34s %11d %10.1f %10d %17d\n", phase, n, float64(m.RSS)/(1<<20), m.Goroutines, requests())
	}
	fmt.Printf("%-34s %11d %10.1f %10d %17d\n", "idle", 0, float64(idle.RSS)/(1<<20), idle.Goroutines, 0)

	start := time.Now()
	admit(t, rv, refs, 0, images, workers)
	row(fmt.Sprintf("each image once (cold, %s)", time.Since(start).Round(time.Second)), images)
	before := requests()
	for done := 0; done < admissions; {
		n := min(admissions/10, admissions-done)
		admit(t, rv, refs, images+done, n, workers)
		done += n
		row("again, cycling over every image", images+done)
	}
	if again := requests() - before; again > 0 {
		fmt.Printf("%d registry requests after the first pass: not every image stayed cached\n", again)
	}
	time.Sleep(3 * time.Second)
	row("idle again (3 s later)", images+admissions)
}

// pushImages serves n distinct images in repos repositories, each its own
// config declaring its own VOLUME over one shared layer, and returns their
// references.
func pushImages(t *testing.T, reg *harness.Registry, n, repos int) []string {
	base, err := testimage.New()
	if err != nil {
		t.Fatal(err)
	}
	reg.AddImage(t, repoName(0), "base", base)
	cfg, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	m, err := base.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]string, n)
	for i := range n {
		c := cfg.DeepCopy()
		c.Config.Volumes = map[string]struct{}{"/data-" + strconv.Itoa(i): {}}
		rawCfg, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		mi := m.DeepCopy()
		mi.Config.Size = int64(len(rawCfg))
		if mi.Config.Digest, err = v1.NewHash(reg.AddBlob(rawCfg)); err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(mi)
		if err != nil {
			t.Fatal(err)
		}
		repo, tag := repoName(i%repos), "v"+strconv.Itoa(i/repos)
		reg.AddManifest(repo, tag, mi.MediaType, raw)
		refs[i] = reg.Ref(repo, tag)
	}
	return refs
}

func repoName(r int) string { return "app" + strconv.Itoa(r) }

// admit posts n pod reviews, the k-th naming refs[(first+k) % len(refs)],
// from workers clients, and fails on any answer but a patch.
func admit(t *testing.T, rv *harness.Reviewer, refs []string, first, n, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= n || failed.Load() != nil {
					return
				}
				i := first + k
				ref := refs[i%len(refs)]
				review := harness.PodReview("u"+strconv.Itoa(i), namespace, harness.Pod("p"+strconv.Itoa(i), namespace, ref))
				a, err := rv.Post(context.Background(), "/mutate", 10*time.Second, review)
				if err == nil && len(a.Response().Patch) == 0 {
					err = fmt.Errorf("no patch for %s: %s %q", ref, a.Message(), a.Response().Warnings)
				}
				if err != nil {
					failed.Store(err)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}

func envInt(t *testing.T, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}
