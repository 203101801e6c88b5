package imageinspect

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
)

// failTransport fails the test if a request reaches it.
type failTransport struct{ called atomic.Int64 }

func (f *failTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.called.Add(1)
	return nil, errors.New("a request reached the network")
}

func TestBlockedLiteralsNeverReachTheTransport(t *testing.T) {
	for _, ref := range []string{
		"169.254.169.254/latest/meta-data:x",
		"[fd00:ec2::254]/x:1",
		"[fe80::1]:5000/x:1",
	} {
		t.Run(ref, func(t *testing.T) {
			ft := &failTransport{}
			_, err := newTestInspector(t, WithTransport(ft)).Inspect(context.Background(), ref, nil)
			assertErr(t, err, ErrRegistryNotAllowed, "no request was sent")
			if n := ft.called.Load(); n != 0 {
				t.Errorf("%d requests reached the transport", n)
			}
			if Reason(err) != "not_allowed" {
				t.Errorf("Reason = %q, want not_allowed", Reason(err))
			}
		})
	}
}
