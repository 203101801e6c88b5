package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// The kinds of the errors the stack makes, for errors.Is; imageinspect
// gives them to its callers under the same names (imageinspect.ErrTooLarge
// is ErrTooLarge).
var (
	ErrTooLarge           = errors.New("too large")
	ErrRateLimited        = errors.New("rate-limited by the registry")
	ErrRegistryNotAllowed = errors.New("registry not allowed")
	ErrRedirectRefused    = errors.New("redirect refused")
)

// TooLargeError reports content over a cap; it is ErrTooLarge for
// errors.Is.
type TooLargeError struct {
	What  string // "manifest", "config", "response"
	Size  int64  // -1 when only known to be over the cap
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("%s is too large: %d bytes, over the %d byte limit", e.What, e.Size, e.Limit)
	}
	return fmt.Sprintf("%s is too large: over the %d byte limit", e.What, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// NotAllowedError is a registry or an address that policy forbids
// contacting; it is ErrRegistryNotAllowed for errors.Is.
type NotAllowedError struct {
	Target string // host[:port]/repository, or an address
	Why    string
}

func (e *NotAllowedError) Error() string {
	return fmt.Sprintf("%s: %s is %s; no request was sent", ErrRegistryNotAllowed, e.Target, e.Why)
}

func (e *NotAllowedError) Is(target error) bool { return target == ErrRegistryNotAllowed }

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

// redirectError is a redirect we refused to follow.
type redirectError struct{ why string }

func (e *redirectError) Error() string { return fmt.Sprintf("%s: %s", ErrRedirectRefused, e.why) }

func (e *redirectError) Is(target error) bool { return target == ErrRedirectRefused }

// CertificateProblem reports whether err is a certificate that will not
// verify (unknown authority, wrong host name, expired...): never retried,
// and a kind of its own for imageinspect.
func CertificateProblem(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}
