package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CircuitEvent names what a host's circuit breaker did, for metrics.
type CircuitEvent string

const (
	// CircuitOpened: a host failed too often in a row (or its probe
	// failed) and is failed fast for the cooldown.
	CircuitOpened CircuitEvent = "opened"
	// CircuitRefused: a request was failed fast, the circuit being open or
	// a probe already in flight.
	CircuitRefused CircuitEvent = "refused"
	// CircuitClosed: the host answered again; requests flow.
	CircuitClosed CircuitEvent = "closed"
)

// breaker is the circuit breaker of one registry host for one tenant
// (hostgates.go): closed, it counts
// consecutive failures that say the host is unwell; at the threshold it
// opens and requests fail at once until the cooldown ends; then it is half
// open, and one request at a time probes the host: an answer closes it, a
// failure opens it again.
type breaker struct {
	mu        sync.Mutex
	failures  int       // consecutive
	last      string    // why the last one failed
	openUntil time.Time // zero: closed
	probing   bool
}

// breakerPolicy says when a breaker opens and for how long.
type breakerPolicy struct {
	failures int // consecutive failures that open it; 0: never
	cooldown time.Duration
}

// refusal returns the error of a request the breaker refuses now, or nil.
// probe says the request would be the probe of a half-open circuit.
func (b *breaker) refusal(p breakerPolicy, host string, now time.Time) (err error, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case p.failures <= 0 || b.openUntil.IsZero():
		return nil, false
	case now.Before(b.openUntil):
		return &circuitOpenError{host: host, failures: b.failures, last: b.last, until: b.openUntil}, false
	case b.probing:
		return &circuitOpenError{host: host, failures: b.failures, last: b.last, probing: true}, false
	}
	return nil, true
}

// admit lets a request through, or refuses it; admitted as the probe of a
// half-open circuit, no other request is until it ends.
func (b *breaker) admit(p breakerPolicy, host string, now time.Time) (probe bool, err error) {
	err, probe = b.refusal(p, host, now)
	if probe {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.probing { // another took the probe meanwhile
			return false, &circuitOpenError{host: host, failures: b.failures, last: b.last, probing: true}
		}
		b.probing = true
	}
	return probe, err
}

// record counts the outcome of an admitted request. unwell is why the host
// failed, "" when it answered; neutral outcomes (the caller left, a 429)
// count for nothing. It returns what the breaker did: "" when nothing.
func (b *breaker) record(p breakerPolicy, probe, neutral bool, unwell string, now time.Time) CircuitEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch {
	case p.failures <= 0 || neutral:
		return ""
	case unwell == "":
		b.failures, b.last = 0, ""
		if !b.openUntil.IsZero() {
			b.openUntil = time.Time{}
			return CircuitClosed
		}
		return ""
	}
	b.failures++
	b.last = unwell
	// A request admitted before the circuit opened that fails after does not
	// extend the cooldown: only the threshold and failed probes open it.
	if probe || (b.openUntil.IsZero() && b.failures >= p.failures) {
		b.openUntil = now.Add(p.cooldown)
		return CircuitOpened
	}
	return ""
}

// circuitOpenError is a request failed fast because its host's circuit is
// open; it is ErrUnavailable for errors.Is.
type circuitOpenError struct {
	host     string
	failures int
	last     string
	until    time.Time
	probing  bool // half open, the probe in flight
}

func (e *circuitOpenError) Error() string {
	why := fmt.Sprintf("after %d consecutive failures (the last: %s)", e.failures, e.last)
	if e.probing {
		return fmt.Sprintf("%s: circuit open for %s %s: one request is probing it, the others fail fast until it answers", ErrUnavailable, e.host, why)
	}
	return fmt.Sprintf("%s: circuit open for %s %s: requests fail fast until %s, then one probes it", ErrUnavailable, e.host, why, e.until.UTC().Format(time.RFC3339))
}

func (e *circuitOpenError) Is(target error) bool { return target == ErrUnavailable }

// healthOf judges an outcome for a breaker: neutral when it says nothing of
// the host (the caller went away, a 429, the request was never sent),
// else why the host is unwell, "" when it answered (a 401 or 404 too).
func healthOf(ctx context.Context, err error) (neutral bool, unwell string) {
	if err == nil {
		return false, ""
	}
	var wait *slotWaitError
	var open *circuitOpenError
	if errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled) ||
		errors.As(err, &wait) || errors.As(err, &open) {
		return true, ""
	}
	kind, _ := classify(ctx, err, "")
	switch kind {
	case ErrRateLimited, ErrRegistryNotAllowed:
		return true, ""
	case ErrTimeout:
		return false, "no answer in time"
	case ErrUnavailable:
		var terr *ggcrtransport.Error
		if errors.As(err, &terr) {
			return false, fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
		}
		if what := networkFailure(err); what != "" {
			return false, what
		}
		return false, "unavailable"
	case nil:
		var terr *ggcrtransport.Error
		if errors.As(err, &terr) {
			return false, "" // an answer, if not the one wanted
		}
		// Not from the registry, or not about its health: credentials
		// that could not be resolved, content that does not parse.
		return true, ""
	}
	return false, ""
}
