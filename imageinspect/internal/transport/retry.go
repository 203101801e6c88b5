package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// RetryPolicy says how often and how long to retry a failed request.
type RetryPolicy struct {
	Attempts int           // tries per request in all; less than 1 is 1
	Backoff  time.Duration // wait before the second try; doubles after
	MaxWait  time.Duration // longest Retry-After honoured, deadline or not
	// MinLeft is the time a try needs at least: no retry starts with less
	// than this left before the deadline.
	MinLeft time.Duration
}

// Status codes worth another try: the registry or a proxy in front of it is
// overloaded or restarting. 429 is handled apart (Retry-After).
var retryStatus = map[int]bool{
	http.StatusRequestTimeout:      true,
	http.StatusInternalServerError: true,
	http.StatusBadGateway:          true,
	http.StatusServiceUnavailable:  true,
	http.StatusGatewayTimeout:      true,
}

// retryTransport retries GET and HEAD within the request's deadline, and
// reads each response body whole (bounded) before deciding, so that a body
// cut short is retried like a reset connection.
//
// Why not go-containerregistry's retries: they sleep 1 s then 3 s whatever
// the deadline, ignore Retry-After, and happen after the body was handed
// over, too late to retry a truncated one.
type retryTransport struct {
	policy RetryPolicy
	caps   BodyCaps
	inner  http.RoundTripper
	log    logr.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		// Token requests may POST a body: sent once, as they come.
		return t.inner.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := t.once(req)
		wait, again := t.decide(ctx, req, resp, err, attempt)
		if !again {
			if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
				return nil, t.rateLimited(ctx, req, resp, attempt)
			}
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		t.log.V(1).Info("retrying registry request", "host", req.URL.Host, "path", req.URL.Path, "attempt", attempt+1, "wait", wait.String(), "after", failure(resp, err))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// once sends req and buffers the response body within its cap.
func (t *retryTransport) once(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req.Clone(req.Context()))
	if err != nil {
		return nil, err
	}
	limit, what := t.caps.of(req)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && isStreamed(req) {
		return resp, nil // the caller bounds and verifies what it reads
	}
	if !ok {
		limit = maxErrorBody // registry error documents; longer ones are cut, not refused
	}
	if ok && req.Method == http.MethodGet && resp.ContentLength > limit {
		resp.Body.Close()
		return nil, &TooLargeError{What: what, Size: resp.ContentLength, Limit: limit}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		if ok {
			return nil, &TooLargeError{What: what, Size: -1, Limit: limit}
		}
		body = body[:limit]
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// decide says whether to try again, and after how long.
func (t *retryTransport) decide(ctx context.Context, req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= t.policy.Attempts || ctx.Err() != nil {
		return 0, false
	}
	wait := t.backoff(attempt)
	switch {
	case err != nil:
		if !retryableError(err) {
			return 0, false
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		if after, ok := retryAfter(resp); ok {
			if after > t.policy.MaxWait {
				return 0, false
			}
			wait = after
		}
	case !retryStatus[resp.StatusCode]:
		return 0, false
	}
	return wait, t.fits(ctx, wait)
}

// fits reports whether waiting d still leaves a try its time before the
// deadline; a retry that cannot finish only delays the answer.
func (t *retryTransport) fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline)-d >= t.policy.MinLeft
}

func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.policy.Backoff << (attempt - 1)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d)) // ±10% so that replicas spread out
}

// retryableError: network flakes, not a deadline, a policy refusal, content
// over our limits, or a certificate that will not verify next time either.
func retryableError(err error) bool {
	var record tls.RecordHeaderError // TLS spoken to a plain HTTP server
	var alert tls.AlertError
	var nerr net.Error
	switch {
	case errors.As(err, &nerr) && nerr.Timeout():
		// A registry that let a minute pass without answering (the
		// transport's header timeout) will not do better at once.
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrTooLarge), errors.Is(err, ErrRegistryNotAllowed), errors.Is(err, ErrRedirectRefused),
		CertificateProblem(err), errors.As(err, &record), errors.As(err, &alert):
		return false
	}
	return true
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

// rateLimited says why a 429 ends the request: the tries ran out, or the
// wait the registry asks for is more than we wait or than the deadline leaves.
func (t *retryTransport) rateLimited(ctx context.Context, req *http.Request, resp *http.Response, attempt int) error {
	e := &rateLimitedError{host: req.URL.Host, tries: attempt}
	after, asked := retryAfter(resp)
	if asked {
		e.retryAfter, e.at = after, time.Now().Add(after)
	}
	switch {
	case attempt >= t.policy.Attempts:
		e.why = rateLimitTriesSpent
	case asked && after > t.policy.MaxWait && t.fits(ctx, after):
		e.why, e.maxWait = rateLimitWaitTooLong, t.policy.MaxWait
	default:
		e.why = rateLimitNoTimeLeft
	}
	return e
}

func failure(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}
