package adversarial

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// reviewTimeout is the ?timeout= of the reviews posted directly: the
// answer must arrive before it, as before the API server's.
const reviewTimeout = 3 * time.Second

// hostileImage is one image a hostile registry serves, and what reading
// it must end in.
type hostileImage struct {
	name   string
	ref    string
	reason string // the reason of the image error, in warnings and denials
	// containers of the image in the pod (default 1).
	containers int
}

// hostileRegistry serves every hostile image of issue 8 from one
// registry, plus zk, a healthy image declaring three VOLUMEs.
func hostileRegistry(t *testing.T) (reg *harness.Registry, images []hostileImage, zk string) {
	t.Helper()
	reg = harness.StartRegistry(t)
	add := func(repo string, volumes []string) string {
		reg.AddImage(t, repo, "1", mustImage(t, volumes...))
		return reg.Ref(repo, "1")
	}
	zkDigest := reg.AddImage(t, "zookeeper", "1", mustImage(t, "/data", "/datalog", "/logs"))
	zk = reg.Ref("zookeeper", "1")

	// A 1.4 MB config declaring 100,000 VOLUMEs: under the 4 MiB config cap.
	huge := add("volumes100k", paths(100_000))
	// An index of 10,000 entries, all pointing at the zookeeper image.
	var entries []string
	for i := range 10_000 {
		entries = append(entries, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1,"platform":{"os":"linux","architecture":"arch%d"}}`, zkDigest, i))
	}
	reg.AddManifest("index10k", "1", types.OCIImageIndex, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+strings.Join(entries, ",")+`]}`))
	// A manifest served under a digest it does not have.
	lie := "sha256:" + strings.Repeat("0", 64)
	reg.AddManifestAt("liar", lie, types.OCIManifestSchema1, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:`+strings.Repeat("1", 64)+`","size":2},"layers":[]}`))

	for repo, fault := range map[string]harness.Fault{
		"hang":             harness.Hang,
		"ratelimited":      harness.Status(http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}),
		"ratelimited-hour": harness.Status(http.StatusTooManyRequests, map[string]string{"Retry-After": "3600"}),
		"broken":           harness.Status(http.StatusInternalServerError, nil),
		"huge-announced":   harness.Huge(50<<20, true),
		"huge-unannounced": harness.Huge(50<<20, false),
		"trickle":          harness.Trickle(4096, time.Second),
	} {
		reg.SetFault(repo, fault)
	}
	images = []hostileImage{
		{name: "config of 100,000 VOLUMEs", ref: huge, reason: "too_large", containers: 10},
		{name: "index of 10,000 entries", ref: reg.Ref("index10k", "1"), reason: "too_large"},
		{name: "registry lying about a digest", ref: reg.Host + "/liar@" + lie, reason: "digest_mismatch"},
		{name: "registry that never answers", ref: reg.Ref("hang", "1"), reason: "timeout", containers: 8},
		{name: "429 with Retry-After 3", ref: reg.Ref("ratelimited", "1"), reason: "rate_limited"},
		{name: "429 with Retry-After of an hour", ref: reg.Ref("ratelimited-hour", "1"), reason: "rate_limited"},
		{name: "500", ref: reg.Ref("broken", "1"), reason: "unavailable"},
		{name: "50 MB manifest, announced", ref: reg.Ref("huge-announced", "1"), reason: "too_large"},
		{name: "50 MB manifest, not announced", ref: reg.Ref("huge-unannounced", "1"), reason: "too_large"},
		{name: "manifest trickled at 1 B/s", ref: reg.Ref("trickle", "1"), reason: "timeout"},
	}
	return reg, images, zk
}

func mustImage(t *testing.T, volumes ...string) v1.Image {
	t.Helper()
	img, err := testimage.New(volumes...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func paths(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/v/%06d", i)
	}
	return out
}

// TestHostileImages: every hostile image of issue 8, in a pod of an
// enforce namespace, is answered before the caller's timeout, per
// --on-registry-error: admitted with a warning naming the image and the
// reason (allow), or denied saying so (deny); a healthy image in the same
// pod is still judged. All at once, the process stays within its bounds.
func TestHostileImages(t *testing.T) {
	reg, images, zk := hostileRegistry(t)
	for _, policy := range []string{"allow", "deny"} {
		t.Run(policy, func(t *testing.T) {
			srv, idle := startServe(t, false, "--on-registry-error", policy)
			stop := watch(t, srv)
			rv := reviewer(srv)
			var wg sync.WaitGroup
			for i, img := range images {
				wg.Go(func() {
					// A healthy image with it: its finding is never lost.
					pod := harness.Pod("p", "adv-enforce", append(harness.Repeat(img.ref, max(img.containers, 1)), zk)...)
					a, err := rv.Post(context.Background(), "/validate", reviewTimeout, harness.PodReview(fmt.Sprint("uid-", i), "adv-enforce", pod))
					if err != nil {
						t.Errorf("%s: no answer before the %s timeout: %v", img.name, reviewTimeout, err)
						return
					}
					checkImageAnswer(t, policy, img, zk, a)
				})
			}
			wg.Wait()
			assertBounded(t, srv, idle, stop())
		})
	}
	if n := reg.Requests("index10k"); n > 4 {
		t.Errorf("the 10,000-entry index cost %d requests; want the index alone (a GET, its retries)", n)
	}
}

func checkImageAnswer(t *testing.T, policy string, img hostileImage, zk string, a *harness.Answer) {
	t.Helper()
	r := a.Response()
	reason := "(" + img.reason + ")"
	switch {
	case a.Status != http.StatusOK:
		t.Errorf("%s: HTTP %d: %s", img.name, a.Status, a.Message())
	case policy == "allow":
		// enforce still denies the healthy image's finding; the hostile one
		// is a warning.
		if r.Allowed || !strings.Contains(a.Message(), "declares VOLUME /data") {
			t.Errorf("%s: allowed %v, message %q; want zk's finding denied", img.name, r.Allowed, a.Message())
		}
		if !warned(r.Warnings, "could not check image", reason) {
			t.Errorf("%s: no warning with %s: %q", img.name, reason, r.Warnings)
		}
	default:
		if r.Allowed || !strings.Contains(a.Message(), "could not check image") || !strings.Contains(a.Message(), reason) {
			t.Errorf("%s: allowed %v, message %q; want a denial saying it could not check the image %s", img.name, r.Allowed, a.Message(), reason)
		}
	}
}
