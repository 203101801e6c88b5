package webhook

import (
	"fmt"
	"net/http"
	"time"
)

// budget is how long the answer to r may take: 90% of the timeout the API
// server puts in the URL (?timeout=10s, from the webhook's timeoutSeconds),
// so that the answer, with registry errors handled by --on-registry-error,
// arrives before the API server gives up and applies the failurePolicy
// instead; and never more than max (--admission-timeout). An unreadable
// timeout is ignored and reported.
func budget(r *http.Request, max time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get("timeout")
	if v == "" {
		return max, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return max, fmt.Errorf("ignoring the timeout query parameter %q: want a positive duration such as 10s", v)
	}
	return min(d*9/10, max), nil
}
