package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/internal/lru"
)

const (
	// Four scans at once: each streams an image's layers (up to the
	// content budget, 1 GiB by default) through a host slot at a time; more
	// would take the registry slots admissions need for manifests.
	defaultScanConcurrency = 4
	// A background scan of a large cold image over a slow link: 1 GiB at
	// 20 MiB/s is under a minute; five leave room, and bound a hung one.
	defaultScanTimeout = 5 * time.Minute
	// Answers are small (a few numbers a path); 4096 images' worth.
	scanResultEntries = 4096
	scanResultBytes   = 4 << 20
	// An answer that is Unknown for good (over the budget, a hostile
	// layer) is kept for a while, so that each pod of a large image does
	// not read its budget again; not forever, so that a raised budget or a
	// fixed registry is seen.
	unknownResultTTL = 10 * time.Minute
)

// errScanPending is why content is unknown while its scan goes on.
var errScanPending = errors.New("the scan of the image's layers has not finished within the admission deadline and goes on in the background; pods admitted once it has finished are decided on what it found")

// ContentScans is the webhook's content scanner: each scan runs in the
// background, bounded in number and time, and an admission waits for it
// only until its own deadline. Unfinished by then, the paths are unknown
// for this admission (HandlerConfig.PopulatedUnknown decides), and the
// finished answer is cached for the pods that follow. It implements
// analysis.ContentScanner.
type ContentScans struct {
	inner   analysis.ContentScanner
	slots   chan struct{}
	timeout time.Duration
	results lru.Cache[[]volumecontent.Content]
	group   singleflight.Group
	metrics *Metrics
	// background bounds the scans' lifetime: Run cancels it on shutdown.
	background context.Context
}

// NewContentScans scans through inner (the Inspector), at most
// concurrency scans at once (< 1: 4), each bounded by timeout (<= 0: 5
// minutes), counting into metrics (nil: not counted). ctx ends the
// background scans (the server's lifetime).
func NewContentScans(ctx context.Context, inner analysis.ContentScanner, concurrency int, timeout time.Duration, metrics *Metrics) *ContentScans {
	if concurrency < 1 {
		concurrency = defaultScanConcurrency
	}
	if timeout <= 0 {
		timeout = defaultScanTimeout
	}
	return &ContentScans{
		inner: inner, slots: make(chan struct{}, concurrency), timeout: timeout,
		results: lru.New[[]volumecontent.Content](scanResultEntries, scanResultBytes, time.Now),
		metrics: metrics, background: ctx,
	}
}

// ScanContent answers from the cache, or joins or starts the background
// scan of the platform image and waits for it until ctx ends.
func (s *ContentScans) ScanContent(ctx context.Context, ref, manifestDigest string, paths []string, opts ...imageinspect.InspectOption) ([]volumecontent.Content, error) {
	// Content is addressed by the manifest digest: the same for every
	// reference and credentials that resolved to it.
	key := manifestDigest + "\x00" + strings.Join(paths, "\x00")
	if got, ok := s.results.Get(key); ok {
		s.metrics.contentResult(true)
		return got, nil
	}
	s.metrics.contentResult(false)
	// A scan waits for a free slot as long as the admission that asks for
	// it may wait: a burst of new images (a chart installed) is scanned a
	// few at a time, and each admission is decided if its scan ends within
	// its deadline. Without a deadline it takes a free slot or none.
	slotWait, cancelWait := context.WithCancel(s.background)
	if deadline, ok := ctx.Deadline(); ok {
		slotWait, cancelWait = context.WithDeadline(s.background, deadline)
	}
	defer cancelWait() // a scan still waiting for a slot when its admission ends gives up
	ch := s.group.DoChan(key, func() (any, error) {
		if !s.takeSlot(slotWait) {
			return nil, fmt.Errorf("volumeguard is already scanning %d images; this one is scanned when a pod needs it again", cap(s.slots))
		}
		defer func() { <-s.slots }()
		// Detached from the admission: it goes on when the admission
		// has its answer, within its own bound.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		stop := context.AfterFunc(s.background, cancel)
		defer stop()
		got, err := s.inner.ScanContent(bctx, ref, manifestDigest, paths, opts...)
		if err == nil {
			s.remember(key, got)
		}
		return got, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			s.metrics.contentUnknown(len(paths))
			return nil, r.Err
		}
		got := r.Val.([]volumecontent.Content)
		s.metrics.contentUnknown(countUnknown(got))
		return got, nil
	case <-ctx.Done():
		s.metrics.contentPending(len(paths))
		return nil, errScanPending
	}
}

// takeSlot takes a scan slot: a free one at once, else the first freed
// before wait ends (a wait without a deadline does not wait).
func (s *ContentScans) takeSlot(wait context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if _, ok := wait.Deadline(); !ok {
		return false
	}
	select {
	case s.slots <- struct{}{}:
		return true
	case <-wait.Done():
		return false
	}
}

// remember caches an answer: for good when every path was decided, for a
// while when what left a path Unknown will not change by reading again
// (the budget, a hostile or oversized layer), not at all otherwise (a
// deadline, a registry failure: the next pod tries again).
func (s *ContentScans) remember(key string, got []volumecontent.Content) {
	ttl := time.Duration(0)
	for _, c := range got {
		if c.State != volumecontent.Unknown {
			continue
		}
		if !errors.Is(c.Err, volumecontent.ErrBudgetExhausted) && !errors.Is(c.Err, volumecontent.ErrTooLarge) && !errors.Is(c.Err, volumecontent.ErrHostileLayer) {
			return
		}
		ttl = unknownResultTTL
	}
	s.results.Add(key, got, int64(len(key)+96*len(got)), ttl)
}

func countUnknown(cs []volumecontent.Content) int {
	n := 0
	for _, c := range cs {
		if c.State == volumecontent.Unknown {
			n++
		}
	}
	return n
}
