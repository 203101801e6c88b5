package imageinspect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors returned by Inspect, usable with errors.Is. They are always wrapped
// with the image and what was being done, and with a hint of what to do.
// Reason names each for metrics.
var (
	ErrNotFound             = errors.New("image not found")
	ErrUnauthorized         = errors.New("unauthorized")
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	ErrTimeout              = errors.New("registry timed out")
	ErrTooLarge             = errors.New("too large")
	ErrNoMatchingPlatform   = errors.New("no matching platform")
	ErrInvalidReference     = errors.New("invalid image reference")
	// ErrRateLimited: the registry answered 429 Too Many Requests and asked
	// to wait longer than the caller's deadline allows.
	ErrRateLimited = errors.New("rate-limited by the registry")
	// ErrUnavailable: the registry failed (5xx), reset or refused the
	// connection, or cut a response short, on every attempt.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrDigestMismatch: content does not hash to the digest that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrRegistryNotAllowed: the registry is outside the allowed registries,
	// inside the denied ones, or resolves to a blocked address (link-local,
	// cloud metadata). Nothing was sent to it.
	ErrRegistryNotAllowed = errors.New("registry not allowed")
	// ErrRedirectRefused: a redirect loop, or more redirects than allowed.
	ErrRedirectRefused = errors.New("redirect refused")
	// ErrCertificate: the registry's TLS certificate does not verify.
	ErrCertificate = errors.New("registry certificate not trusted")
)

// reasons name the kinds for metrics labels: a small fixed set.
var reasons = []struct {
	kind   error
	reason string
}{
	{ErrInvalidReference, "invalid_reference"},
	{ErrRegistryNotAllowed, "not_allowed"},
	{ErrNotFound, "not_found"},
	{ErrUnauthorized, "unauthorized"},
	{ErrRateLimited, "rate_limited"},
	{ErrTimeout, "timeout"},
	{ErrUnavailable, "unavailable"},
	{ErrRedirectRefused, "redirect_refused"},
	{ErrCertificate, "certificate"},
	{ErrDigestMismatch, "digest_mismatch"},
	{ErrTooLarge, "too_large"},
	{ErrUnsupportedMediaType, "unsupported_media_type"},
	{ErrNoMatchingPlatform, "no_matching_platform"},
}

// Reason names the kind of err for a metrics label: "" for nil, one of
// invalid_reference, not_allowed, not_found, unauthorized, rate_limited,
// timeout, unavailable, redirect_refused, certificate, digest_mismatch, too_large,
// unsupported_media_type, no_matching_platform, or "other".
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.kind) {
			return r.reason
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "other"
}

// registryError wraps an error from the registry or the network as
// "<doing> <ref>: <kind> (<hint>): <cause>" so that the message alone tells
// which image failed, why, and what to do; errors.Is finds both the kind and
// the cause (a *transport.Error, a context error, ...).
func registryError(ctx context.Context, doing, ref, registry string, err error) error {
	kind, hint := classify(ctx, err, registry)
	switch {
	case kind == nil:
		return fmt.Errorf("%s %q: %w", doing, ref, err)
	case errors.Is(err, kind):
		// Already carries its kind (tooLargeError, ...): don't repeat it.
		return fmt.Errorf("%s %q: %w", doing, ref, err)
	case hint == "":
		return fmt.Errorf("%s %q: %w: %w", doing, ref, kind, err)
	}
	return fmt.Errorf("%s %q: %w (%s): %w", doing, ref, kind, hint, err)
}

// classify maps an error to one of the package's kinds, or nil.
func classify(ctx context.Context, err error, registry string) (kind error, hint string) {
	for _, own := range []error{ErrTooLarge, ErrRateLimited, ErrDigestMismatch, ErrRegistryNotAllowed, ErrRedirectRefused, ErrUnsupportedMediaType, ErrUnavailable} {
		if errors.Is(err, own) {
			return own, ""
		}
	}
	if isTimeout(ctx, err) {
		return ErrTimeout, fmt.Sprintf("%s did not answer in time; retry later or check network access to it", registry)
	}
	if certificateProblem(err) {
		return ErrCertificate, fmt.Sprintf("the certificate of %s does not verify; add its CA (--registry-ca-file) or, for a test registry, mark it insecure (--insecure-registry)", registry)
	}
	// Checked after certificates: a loopback registry is also tried over
	// plain HTTP, whose 400 would hide why HTTPS failed.
	var terr *transport.Error
	if errors.As(err, &terr) {
		return classifyStatus(terr, registry)
	}
	if what := networkFailure(err); what != "" {
		return ErrUnavailable, fmt.Sprintf("%s; retry later or check network access to %s", what, registry)
	}
	return nil, ""
}

func classifyStatus(terr *transport.Error, registry string) (error, string) {
	switch {
	case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden ||
		hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		// Docker Hub answers 401 for repositories that do not exist too.
		return ErrUnauthorized, fmt.Sprintf("check imagePullSecrets or docker login credentials for %s, and that the repository exists", registry)
	case terr.StatusCode == http.StatusNotFound ||
		hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
		return ErrNotFound, "check the image name, tag or digest, and that it was pushed"
	case terr.StatusCode == http.StatusTooManyRequests || hasCode(terr, transport.TooManyRequestsErrorCode):
		return ErrRateLimited, fmt.Sprintf("%s rate-limited the request; retry later, or use a mirror or credentials with a higher limit", registry)
	case terr.StatusCode >= 500 || hasCode(terr, transport.UnavailableErrorCode):
		return ErrUnavailable, fmt.Sprintf("%s answered %d %s on every attempt; retry later", registry, terr.StatusCode, http.StatusText(terr.StatusCode))
	}
	return nil, ""
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// isTimeout also looks at ctx itself: go-containerregistry's ping joins the
// errors of its https and http attempts, so a deadline can hide behind them.
func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

// certificateProblem reports whether err is a certificate that will not
// verify (unknown authority, wrong host name, expired...).
func certificateProblem(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}

// networkFailure says in words what went wrong on the wire, or "".
func networkFailure(err error) string {
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the response was truncated: the connection closed before the whole body came"
	case errors.Is(err, io.EOF):
		return "the connection closed before a response came"
	case errors.As(err, &opErr):
		return "the network failed (" + opErr.Op + ")"
	}
	return ""
}
