package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// opsMux serves /metrics, /healthz (the process answers) and /readyz (it
// can judge requests: namespaces and pull secrets synced, certificate
// loaded).
func opsMux(m *Metrics, notReady func() []string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if reasons := notReady(); len(reasons) > 0 {
			http.Error(w, "not ready: "+strings.Join(reasons, "; "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// reportSync logs when the informer caches (namespaces, and pull secrets
// unless disabled) have synced, and every 10s until then: client-go retries
// an unreachable API server (or one that forbids a list) silently, and
// /readyz alone does not say why the webhook is not ready.
func reportSync(ctx context.Context, log logr.Logger, synced func() bool, host string) {
	start := time.Now()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	next := start.Add(10 * time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-poll.C:
			if synced() {
				log.Info("informer caches synced", "apiServer", host, "after", now.Sub(start).Round(time.Millisecond).String())
				return
			}
			if now.After(next) {
				log.Info("waiting for the informer caches: the API server does not answer yet, or RBAC forbids a list (see /readyz and the klog lines); /readyz fails until they sync",
					"apiServer", host, "waited", now.Sub(start).Round(time.Second).String())
				next = now.Add(10 * time.Second)
			}
		}
	}
}
