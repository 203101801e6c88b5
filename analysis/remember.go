package analysis

import (
	"context"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
)

// RememberScans answers each platform image and set of paths once for the
// life of the returned scanner, whatever the answer: for one-shot runs
// (check, audit) where many pod specs name the same images, so that an
// image whose layers cannot be read costs one scan per run, not one per pod
// spec, as imageinspect.WithFailureTTL does for lookups. Concurrent asks
// share one scan. Answers are keyed by manifest digest: the same for every
// reference and credentials that resolved to it.
func RememberScans(s ContentScanner) ContentScanner {
	return &rememberedScans{inner: s, answers: map[string]scanAnswer{}}
}

type scanAnswer struct {
	contents []volumecontent.Content
	err      error
}

type rememberedScans struct {
	inner   ContentScanner
	group   singleflight.Group
	mu      sync.Mutex
	answers map[string]scanAnswer
}

func (r *rememberedScans) ScanContent(ctx context.Context, ref, manifestDigest string, paths []string, opts ...imageinspect.InspectOption) ([]volumecontent.Content, error) {
	key := manifestDigest + "\x00" + strings.Join(paths, "\x00")
	r.mu.Lock()
	a, ok := r.answers[key]
	r.mu.Unlock()
	if ok {
		return a.contents, a.err
	}
	v, _, _ := r.group.Do(key, func() (any, error) {
		got, err := r.inner.ScanContent(ctx, ref, manifestDigest, paths, opts...)
		a := scanAnswer{contents: got, err: err}
		r.mu.Lock()
		r.answers[key] = a
		r.mu.Unlock()
		return a, nil
	})
	a = v.(scanAnswer)
	return a.contents, a.err
}
