package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// What one admission request may hold of the server, and for how long.
const (
	// maxRequestBytes bounds a review as controller-runtime does: the old
	// and the new object of at most 3 MiB each (etcd's request limit), plus
	// 1 MiB.
	maxRequestBytes = 7 << 20
	// DefaultMaxInFlightBytes bounds the bytes of the admission requests the
	// server holds at once: thousands of ordinary pods of a few KiB, or ten
	// of the largest UPDATE the API server sends (old and new pod at etcd's
	// 1.5 MiB each), while clients that declare 7 MiB and stall take no more
	// of the 512Mi the manifests give the container.
	DefaultMaxInFlightBytes = 32 << 20
	// answerWriteTime is how long after the request's deadline a client has
	// to take the answer, so that one that does not read it cannot hold the
	// connection; the API server reads it at once.
	answerWriteTime = 5 * time.Second
)

// errBusy refuses a request for which the server has no room.
var errBusy = errors.New("the webhook holds as many request bytes as it may; retry")

// requestBytes bounds the bytes of the admission requests in flight over
// both endpoints. A request reserves its declared size before its body is
// read and keeps it until it is answered: the decoded objects live as long.
type requestBytes struct {
	sem      *semaphore.Weighted
	capacity int64
}

// newRequestBytes bounds requests to capacity bytes in flight; capacity 0
// or less is DefaultMaxInFlightBytes.
func newRequestBytes(capacity int64) *requestBytes {
	if capacity <= 0 {
		capacity = DefaultMaxInFlightBytes
	}
	return &requestBytes{sem: semaphore.NewWeighted(capacity), capacity: capacity}
}

// reserve takes room for a request of contentLength bytes (-1: unknown, so
// the largest) or reports false at once: a busy server answers 429 within
// milliseconds, so that the API server applies the webhook's failurePolicy
// rather than spend its timeout waiting.
func (b *requestBytes) reserve(contentLength int64) (release func(), ok bool) {
	n := contentLength
	if n < 0 || n > maxRequestBytes {
		n = maxRequestBytes
	}
	// Even an empty request costs its decoding; and a capacity below the
	// largest request must still let one through.
	n = min(max(n, 1), b.capacity)
	if !b.sem.TryAcquire(n) {
		return nil, false
	}
	return func() { b.sem.Release(n) }, true
}

// limitTime bounds the time a client may take to send the request and to
// take the answer: the request's own deadline, after which the API server
// has given up anyway. A client that trickles its body or stalls is cut off
// there, and its connection closed; without this only the headers had a
// time limit (ReadHeaderTimeout).
func limitTime(w http.ResponseWriter, deadline time.Time) *http.ResponseController {
	rc := http.NewResponseController(w)
	// Errors only where the connection has no deadlines (a recorder in a
	// test); the server's ReadTimeout and WriteTimeout still apply.
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(answerWriteTime))
	return rc
}

// readBody reads the body of r, of at most maxRequestBytes, or says which
// HTTP status refuses it and why.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 {
		// Read into one buffer of the declared size, which reserve
		// accounted for: io.ReadAll would grow to twice as much.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	}
	var tooLarge *http.MaxBytesError
	var netErr interface{ Timeout() bool }
	switch {
	case errors.As(err, &tooLarge):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over the limit of %d bytes", maxRequestBytes)
	case errors.As(err, &netErr) && netErr.Timeout():
		return nil, http.StatusRequestTimeout, fmt.Errorf("reading the request body: not received within the request's time: %w", err)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	case len(body) == 0:
		return nil, http.StatusBadRequest, errors.New("empty request body: want an AdmissionReview")
	}
	return body, http.StatusOK, nil
}
