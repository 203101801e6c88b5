package transport

import (
	"context"
	"net/http"
)

type streamKey struct{}

// Streamed marks the requests sent with ctx as streamed: a successful
// response's body is handed over as it arrives, neither buffered nor
// capped, and only failures before it (a reset connection, a 5xx) are
// retried.
//
// Why: layer blobs are hundreds of MiB, read once through a tar reader
// that counts them against its own byte budget and verifies their digest.
// Buffering them, as manifests and configs are to retry a body cut short,
// would hold a whole layer in memory.
func Streamed(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamKey{}, true)
}

func isStreamed(req *http.Request) bool {
	v, _ := req.Context().Value(streamKey{}).(bool)
	return v
}
