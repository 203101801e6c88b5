package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// Errors returned by Inspect, usable with errors.Is. They are always wrapped
// with the image and what was being done, and with a hint of what to do.
// Reason names each for metrics.
var (
	ErrNotFound             = errors.New("image not found")
	ErrUnauthorized         = errors.New("unauthorized")
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	ErrTimeout              = errors.New("registry timed out")
	ErrNoMatchingPlatform   = errors.New("no matching platform")
	ErrInvalidReference     = errors.New("invalid image reference")
	// ErrTooLarge: a manifest or config over its byte cap, or an image
	// listing more than is read (VOLUMEs, index entries).
	ErrTooLarge = transport.ErrTooLarge
	// ErrRateLimited: the registry answered 429 Too Many Requests and asked
	// to wait longer than the caller's deadline allows.
	ErrRateLimited = transport.ErrRateLimited
	// ErrUnavailable: the registry failed (5xx), reset or refused the
	// connection, or cut a response short, on every attempt.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrDigestMismatch: content does not hash to the digest that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrRegistryNotAllowed: the registry is outside the allowed registries,
	// inside the denied ones, or resolves to a blocked address (link-local,
	// cloud metadata). Nothing was sent to it.
	ErrRegistryNotAllowed = transport.ErrRegistryNotAllowed
	// ErrRedirectRefused: a redirect loop, or more redirects than allowed.
	ErrRedirectRefused = transport.ErrRedirectRefused
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
	{ErrNotCached, "not_cached"},
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
		// A deadline the caller set with a cause (a run's overall
		// --timeout) is not the registry's slowness: say the cause.
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != nil && cause != ctx.Err() {
			return ErrTimeout, cause.Error()
		}
		return ErrTimeout, fmt.Sprintf("%s did not answer in time; retry later or check network access to it", registry)
	}
	if transport.CertificateProblem(err) {
		return ErrCertificate, fmt.Sprintf("the certificate of %s does not verify; add its CA (--registry-ca-file) or, for a test registry, mark it insecure (--insecure-registry)", registry)
	}
	// Checked after certificates: a loopback registry is also tried over
	// plain HTTP, whose 400 would hide why HTTPS failed.
	var terr *ggcrtransport.Error
	if errors.As(err, &terr) {
		return classifyStatus(terr, registry)
	}
	if what := networkFailure(err); what != "" {
		return ErrUnavailable, fmt.Sprintf("%s; retry later or check network access to %s", what, registry)
	}
	return nil, ""
}

func classifyStatus(terr *ggcrtransport.Error, registry string) (error, string) {
	switch {
	case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden ||
		hasCode(terr, ggcrtransport.UnauthorizedErrorCode, ggcrtransport.DeniedErrorCode):
		// Docker Hub answers 401 for repositories that do not exist too.
		return ErrUnauthorized, fmt.Sprintf("check imagePullSecrets or docker login credentials for %s, and that the repository exists", registry)
	case terr.StatusCode == http.StatusNotFound ||
		hasCode(terr, ggcrtransport.ManifestUnknownErrorCode, ggcrtransport.NameUnknownErrorCode, ggcrtransport.BlobUnknownErrorCode):
		return ErrNotFound, "check the image name, tag or digest, and that it was pushed"
	case terr.StatusCode == http.StatusTooManyRequests || hasCode(terr, ggcrtransport.TooManyRequestsErrorCode):
		return ErrRateLimited, fmt.Sprintf("%s rate-limited the request; retry later, or use a mirror or credentials with a higher limit", registry)
	case terr.StatusCode >= 500 || hasCode(terr, ggcrtransport.UnavailableErrorCode):
		return ErrUnavailable, fmt.Sprintf("%s answered %d %s on every attempt; retry later", registry, terr.StatusCode, http.StatusText(terr.StatusCode))
	}
	return nil, ""
}

func hasCode(terr *ggcrtransport.Error, codes ...ggcrtransport.ErrorCode) bool {
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

// digestMismatchError is content that does not hash to its name.
type digestMismatchError struct {
	what      string // "manifest", "config"
	want, got string
}

func (e *digestMismatchError) Error() string {
	return fmt.Sprintf("%s digest mismatch: the registry sent content hashing to %s, not %s (a broken registry, proxy or cache, or tampering)", e.what, e.got, e.want)
}

func (e *digestMismatchError) Is(target error) bool { return target == ErrDigestMismatch }
