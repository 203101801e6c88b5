package imageinspect

import (
	"fmt"
	"time"
)

// tooLargeError reports content over a cap; it is ErrTooLarge for errors.Is.
type tooLargeError struct {
	what  string // "manifest", "config"
	size  int64  // -1 when only known to be over the cap
	limit int64
}

func (e *tooLargeError) Error() string {
	if e.size >= 0 {
		return fmt.Sprintf("%s is too large: %d bytes, over the %d byte limit", e.what, e.size, e.limit)
	}
	return fmt.Sprintf("%s is too large: over the %d byte limit", e.what, e.limit)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// limitError is content listing more than volumeguard reads (VOLUMEs of a
// config, entries of an index); it is ErrTooLarge for errors.Is, so that
// the metrics reasons stay one fixed set.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func (e *limitError) Is(target error) bool { return target == ErrTooLarge }

// unsupportedError says which media type was refused and what to do.
func unsupportedError(doing, ref, mediaType string) error {
	if isSchema1(mediaType) {
		return fmt.Errorf("%s %q: %w: %s is the deprecated Docker image manifest v2 schema 1, which no current runtime pulls; rebuild and push the image with a current client (docker, buildah, kaniko)", doing, ref, ErrUnsupportedMediaType, mediaType)
	}
	if mediaType == "" {
		mediaType = "no media type"
	}
	return fmt.Errorf("%s %q: %w: %s is not a container image manifest or index", doing, ref, ErrUnsupportedMediaType, mediaType)
}

// rateLimitedError is a 429 that ended a request, and why it was not
// waited out (again).
type rateLimitedError struct {
	host       string
	tries      int           // requests sent, each answered 429 at the end
	why        rateLimitWhy  // why no further try
	retryAfter time.Duration // 0: the registry did not say
	at         time.Time     // when it may be retried; zero when unknown
	maxWait    time.Duration // the longest wait honoured, for rateLimitWaitTooLong
}

type rateLimitWhy int

const (
	rateLimitTriesSpent  rateLimitWhy = iota // every try was answered 429
	rateLimitWaitTooLong                     // Retry-After beyond the longest wait honoured
	rateLimitNoTimeLeft                      // the wait does not fit before the deadline
)

func (e *rateLimitedError) Error() string {
	msg := fmt.Sprintf("%s rate-limited the request (429 Too Many Requests)", e.host)
	asks := ""
	if e.retryAfter > 0 {
		asks = fmt.Sprintf("it asks to wait %s (until %s)", e.retryAfter.Round(time.Second), e.at.UTC().Format(time.RFC3339))
	}
	switch {
	case e.why == rateLimitTriesSpent && e.tries > 1:
		msg += fmt.Sprintf("; it kept answering 429 after %d tries", e.tries)
		if asks != "" {
			msg += ", the last time " + asks
		}
	case e.why == rateLimitWaitTooLong:
		msg += fmt.Sprintf("; %s, longer than the %s a lookup waits at most", asks, e.maxWait)
	case e.why == rateLimitNoTimeLeft && asks != "":
		msg += "; " + asks + ", longer than the deadline leaves"
	case e.why == rateLimitNoTimeLeft:
		msg += "; the deadline leaves no time to try again"
	case asks != "":
		msg += "; " + asks
	}
	return msg + "; use a mirror, or credentials with a higher pull limit"
}

func (e *rateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// digestMismatchError is content that does not hash to its name.
type digestMismatchError struct {
	what      string // "manifest", "config"
	want, got string
}

func (e *digestMismatchError) Error() string {
	return fmt.Sprintf("%s digest mismatch: the registry sent content hashing to %s, not %s (a broken registry, proxy or cache, or tampering)", e.what, e.got, e.want)
}

func (e *digestMismatchError) Is(target error) bool { return target == ErrDigestMismatch }

// notAllowedError is a registry that policy forbids contacting.
type notAllowedError struct {
	target string // host[:port]/repository, or an address
	why    string
}

func (e *notAllowedError) Error() string {
	return fmt.Sprintf("%s: %s is %s; no request was sent", ErrRegistryNotAllowed, e.target, e.why)
}

func (e *notAllowedError) Is(target error) bool { return target == ErrRegistryNotAllowed }

// redirectError is a redirect we refused to follow.
type redirectError struct{ why string }

func (e *redirectError) Error() string { return fmt.Sprintf("%s: %s", ErrRedirectRefused, e.why) }

func (e *redirectError) Is(target error) bool { return target == ErrRedirectRefused }
