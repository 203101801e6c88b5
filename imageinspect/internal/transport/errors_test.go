package transport

import (
	"testing"
	"time"
)

func TestRateLimitedMessages(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		err  rateLimitedError
		want string
	}{
		{name: "tries spent, no Retry-After", err: rateLimitedError{tries: 3, why: rateLimitTriesSpent},
			want: "r.example rate-limited the request (429 Too Many Requests); it kept answering 429 after 3 tries; use a mirror, or credentials with a higher pull limit"},
		{name: "tries spent, Retry-After waited out", err: rateLimitedError{tries: 3, why: rateLimitTriesSpent, retryAfter: 3 * time.Second, at: at},
			want: "r.example rate-limited the request (429 Too Many Requests); it kept answering 429 after 3 tries, the last time it asks to wait 3s (until 2026-01-02T03:04:05Z); use a mirror, or credentials with a higher pull limit"},
		{name: "a single try", err: rateLimitedError{tries: 1, why: rateLimitTriesSpent, retryAfter: 3 * time.Second, at: at},
			want: "r.example rate-limited the request (429 Too Many Requests); it asks to wait 3s (until 2026-01-02T03:04:05Z); use a mirror, or credentials with a higher pull limit"},
		{name: "longer than the deadline leaves", err: rateLimitedError{tries: 1, why: rateLimitNoTimeLeft, retryAfter: time.Hour, at: at},
			want: "r.example rate-limited the request (429 Too Many Requests); it asks to wait 1h0m0s (until 2026-01-02T03:04:05Z), longer than the deadline leaves; use a mirror, or credentials with a higher pull limit"},
		{name: "no time left for a backoff", err: rateLimitedError{tries: 1, why: rateLimitNoTimeLeft},
			want: "r.example rate-limited the request (429 Too Many Requests); the deadline leaves no time to try again; use a mirror, or credentials with a higher pull limit"},
		{name: "longer than a lookup waits", err: rateLimitedError{tries: 1, why: rateLimitWaitTooLong, retryAfter: time.Minute, at: at, maxWait: 10 * time.Second},
			want: "r.example rate-limited the request (429 Too Many Requests); it asks to wait 1m0s (until 2026-01-02T03:04:05Z), longer than the 10s a lookup waits at most; use a mirror, or credentials with a higher pull limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.err.host = "r.example"
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
