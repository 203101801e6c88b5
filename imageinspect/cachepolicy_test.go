package imageinspect

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

func TestTagRevalidation(t *testing.T) {
	var failing atomic.Bool
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && strings.Contains(r.URL.Path, "/manifests/") {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/old"}})
	ct := newCountingTransport()
	clk := newClock()
	in := newTestInspector(t, WithTransport(ct), WithTagTTL(5*time.Minute), WithClock(clk.Now), WithRetries(1, 0))
	ref := host + "/app:1"

	step := func(name string, want string, counts [3]int64) {
		t.Helper()
		img, err := in.Inspect(context.Background(), ref, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := img.Platforms[0].Volumes; !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("%s: volumes %v, want [%s]", name, got, want)
		}
		if got := ct.counts(); got != counts {
			t.Errorf("%s: [manifest GETs, HEADs, blob GETs] = %v, want %v", name, got, counts)
		}
	}
	step("first lookup", "/old", [3]int64{1, 0, 1})
	step("within the TTL", "/old", [3]int64{1, 0, 1})
	clk.advance(5 * time.Minute)
	step("expired, unchanged: one HEAD", "/old", [3]int64{1, 1, 1})
	step("revalidated: fresh again", "/old", [3]int64{1, 1, 1})

	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/new"}})
	step("re-pushed, within the TTL: still the old", "/old", [3]int64{1, 1, 1})
	clk.advance(5 * time.Minute)
	step("expired, changed: HEAD, then GETs by digest", "/new", [3]int64{2, 2, 2})

	failing.Store(true)
	clk.advance(5 * time.Minute)
	step("expired, registry failing: the expired answer", "/new", [3]int64{2, 3, 2})
	step("and not asked again at once", "/new", [3]int64{2, 3, 2})
	if s := in.Stats(); s.StaleServed != 1 || s.ManifestHeads != 3 {
		t.Errorf("Stats = %+v, want 1 stale answer and 3 HEADs", s)
	}
	failing.Store(false)
	clk.advance(staleRetryAfter)
	step("registry back", "/new", [3]int64{2, 4, 2})

	// A deleted tag: HEAD says 404, and so does the next lookup.
	r, _ := name.ParseReference(ref)
	if err := remote.Delete(r, remote.WithAuth(pushAuth)); err != nil {
		t.Skipf("the test registry cannot delete tags: %v", err)
	}
	clk.advance(5 * time.Minute)
	_, err := in.Inspect(context.Background(), ref, nil)
	assertErr(t, err, ErrNotFound)
}

func TestNotFoundIsRemembered(t *testing.T) {
	host := startRegistry(t, nil)
	ct := newCountingTransport()
	clk := newClock()
	in := newTestInspector(t, WithTransport(ct), WithClock(clk.Now), WithNotFoundTTL(30*time.Second))
	ref := host + "/later:1"

	for range 3 {
		_, err := in.Inspect(context.Background(), ref, nil)
		assertErr(t, err, ErrNotFound, ref)
	}
	if n := ct.manifests.Load(); n != 1 {
		t.Errorf("3 lookups of a missing image sent %d manifest GETs, want 1", n)
	}
	pushImage(t, host, "later:1", imageSpec{platform: Platform{"linux", "amd64", ""}})
	_, err := in.Inspect(context.Background(), ref, nil)
	assertErr(t, err, ErrNotFound, "remembered")
	clk.advance(30 * time.Second)
	if _, err := in.Inspect(context.Background(), ref, nil); err != nil {
		t.Errorf("after the TTL: %v", err)
	}
}

// twoUsers accepts two users, each with its own password.
func twoUsers(next http.Handler) http.Handler {
	users := map[string]string{"alice": "a-pass", "bob": "b-pass", testUser: testPass}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || users[u] != p {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestTagsAreKeptPerCredentials(t *testing.T) {
	host := startRegistry(t, twoUsers)
	pushImage(t, host, "private:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	ct := newCountingTransport()
	in := newTestInspector(t, WithTransport(ct))
	ref := host + "/private:1"
	inspect := func(kc authn.Keychain) error {
		_, err := in.Inspect(context.Background(), ref, nil, UsingKeychain(kc))
		return err
	}

	if err := inspect(staticKeychain{host: host, user: "alice", pass: "a-pass"}); err != nil {
		t.Fatal(err)
	}
	if err := inspect(staticKeychain{host: host, user: "alice", pass: "a-pass"}); err != nil {
		t.Fatal(err)
	}
	if got := ct.counts(); got != [3]int64{1, 0, 1} {
		t.Errorf("alice twice: %v, want [1 0 1]", got)
	}
	for _, tc := range []struct {
		name string
		kc   authn.Keychain
	}{
		{"anonymous", staticKeychain{}},
		{"wrong password", staticKeychain{host: host, user: "alice", pass: "guess"}},
	} {
		err := inspect(tc.kc)
		assertErr(t, err, ErrUnauthorized)
		if strings.Contains(err.Error(), "guess") || strings.Contains(err.Error(), "a-pass") {
			t.Errorf("%s: error shows a password: %v", tc.name, err)
		}
	}
	if err := inspect(staticKeychain{host: host, user: "bob", pass: "b-pass"}); err != nil {
		t.Fatal(err)
	}
	// bob resolves the tag himself; the manifest and config, by digest, are shared.
	if got := ct.counts(); got[0] != 4 || got[2] != 1 {
		t.Errorf("after anonymous, wrong and bob: %v, want 4 manifest GETs (one each) and still 1 blob GET", got)
	}
}

func TestMetrics(t *testing.T) {
	host := startRegistry(t, nil)
	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	var mu sync.Mutex
	lookups := map[string]int{}
	requests := map[string]int{}
	reasons := map[string]int{}
	m := Metrics{
		CacheLookup: func(kind CacheKind, hit bool) {
			mu.Lock()
			defer mu.Unlock()
			if hit {
				lookups[string(kind)+"/hit"]++
			} else {
				lookups[string(kind)+"/miss"]++
			}
		},
		Request: func(kind RequestKind, code int) {
			mu.Lock()
			defer mu.Unlock()
			requests[string(kind)]++
		},
		Inspected: func(reason string) {
			mu.Lock()
			defer mu.Unlock()
			reasons[reason]++
		},
	}
	in := newTestInspector(t, WithMetrics(m))
	for range 2 {
		if _, err := in.Inspect(context.Background(), host+"/app:1", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := in.Inspect(context.Background(), host+"/missing:1", nil)
	assertErr(t, err, ErrNotFound)
	mu.Lock()
	defer mu.Unlock()
	wantLookups := map[string]int{
		"tag/miss": 2, "tag/hit": 1, // app:1 twice, missing:1 once
		"manifest/hit": 1, // a tag miss GETs the tag: no manifest lookup

		"config/miss": 1, "config/hit": 1,
		"not_found/miss": 2, // before GETting app:1 and missing:1
	}
	if !reflect.DeepEqual(lookups, wantLookups) {
		t.Errorf("cache lookups = %v, want %v", lookups, wantLookups)
	}
	if requests["manifest"] != 2 || requests["config"] != 1 || requests["manifest_head"] != 0 {
		t.Errorf("requests = %v, want 2 manifest GETs and 1 config GET", requests)
	}
	if !reflect.DeepEqual(reasons, map[string]int{"": 2, "not_found": 1}) {
		t.Errorf("inspections = %v, want 2 successes and 1 not_found", reasons)
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                          "",
		ErrNotFound:                  "not_found",
		&transport.NotAllowedError{}: "not_allowed",
		&digestMismatchError{}:       "digest_mismatch",
		&transport.TooLargeError{}:   "too_large",
		&limitError{}:                "too_large",
		context.DeadlineExceeded:     "timeout",
		ErrUnavailable:               "unavailable",
		ErrInvalidReference:          "invalid_reference",
		http.ErrUseLastResponse:      "other",
		ErrNoMatchingPlatform:        "no_matching_platform",
		ErrUnsupportedMediaType:      "unsupported_media_type",
		ErrUnauthorized:              "unauthorized",
		ErrTimeout:                   "timeout",
		ErrRedirectRefused:           "redirect_refused",
		ErrRegistryNotAllowed:        "not_allowed",
		ErrDigestMismatch:            "digest_mismatch",
		ErrTooLarge:                  "too_large",
		ErrRateLimited:               "rate_limited",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}
