package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors returned by Inspect, usable with errors.Is. They are always wrapped
// with the image and what was being done, and with a hint of what to do.
var (
	ErrNotFound             = errors.New("image not found")
	ErrUnauthorized         = errors.New("unauthorized")
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	ErrTimeout              = errors.New("registry timed out")
	ErrTooLarge             = errors.New("too large")
	ErrNoMatchingPlatform   = errors.New("no matching platform")
	ErrInvalidReference     = errors.New("invalid image reference")
)

// registryError wraps an error from the registry or the network as
// "<doing> <ref>: <kind> (<hint>): <cause>" so that the message alone tells
// which image failed, why, and what to do; errors.Is finds both the kind and
// the cause (a *transport.Error, a context error, ...).
func registryError(ctx context.Context, doing, ref, registry string, err error) error {
	kind, hint := classify(ctx, err, registry)
	if kind == nil {
		return fmt.Errorf("%s %q: %w", doing, ref, err)
	}
	if errors.Is(err, kind) {
		// Already carries its kind (ErrTooLarge from limits.go): don't repeat it.
		return fmt.Errorf("%s %q: %w", doing, ref, err)
	}
	return fmt.Errorf("%s %q: %w (%s): %w", doing, ref, kind, hint, err)
}

// classify maps an error to one of the package's kinds, or nil.
func classify(ctx context.Context, err error, registry string) (kind error, hint string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return ErrTooLarge, ""
	case isTimeout(ctx, err):
		return ErrTimeout, fmt.Sprintf("%s did not answer in time; retry later or check network access to it", registry)
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return nil, ""
	}
	switch {
	case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden ||
		hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		// Docker Hub answers 401 for repositories that do not exist too.
		return ErrUnauthorized, fmt.Sprintf("check imagePullSecrets or docker login credentials for %s, and that the repository exists", registry)
	case terr.StatusCode == http.StatusNotFound ||
		hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
		return ErrNotFound, "check the image name, tag or digest, and that it was pushed"
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
// errors of its https and http attempts without Unwrap, so a deadline can hide
// behind it.
func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

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
