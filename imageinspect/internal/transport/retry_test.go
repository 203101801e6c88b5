package transport

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRetries(t *testing.T) {
	const path = "/v2/app/manifests/1"
	tests := []struct {
		name       string
		handle     func(w http.ResponseWriter, r *http.Request, n int)
		method     string
		wantStatus int
		wantErr    error
		wantSays   string
		wantTries  int
	}{
		{
			name: "a 503 then an answer", wantStatus: 200, wantTries: 2,
			handle: func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				fmt.Fprint(w, "{}")
			},
		},
		{
			name: "503 on every try: the last answer", wantStatus: 503, wantTries: 3,
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusServiceUnavailable) },
		},
		{
			name: "a 404 is an answer", wantStatus: 404, wantTries: 1,
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNotFound) },
		},
		{
			name: "a body cut short is retried", wantStatus: 200, wantTries: 2,
			handle: func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Content-Length", "100")
					fmt.Fprint(w, "{")
					return // the connection closes 99 bytes short
				}
				fmt.Fprint(w, "{}")
			},
		},
		{
			name: "a 429 asking for a short wait is waited out", wantStatus: 200, wantTries: 2,
			handle: func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				fmt.Fprint(w, "{}")
			},
		},
		{
			name: "a 429 asking for longer than a lookup waits fails at once", wantErr: ErrRateLimited, wantTries: 1,
			wantSays: "asks to wait 30s",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
			},
		},
		{
			name: "only GET and HEAD are retried", method: http.MethodPost, wantStatus: 503, wantTries: 1,
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusServiceUnavailable) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistry(t, tt.handle)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp, _, err := get(t, New(testConfig()), method, reg.url+path)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantSays) {
					t.Errorf("error %v, want %v saying %q", err, tt.wantErr, tt.wantSays)
				}
			case err != nil:
				t.Fatalf("error %v, want status %d", err, tt.wantStatus)
			case resp.StatusCode != tt.wantStatus:
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if n := reg.count(method + " " + path); n != tt.wantTries {
				t.Errorf("%d tries, want %d", n, tt.wantTries)
			}
		})
	}
}

func TestBodyCaps(t *testing.T) {
	big := strings.Repeat("x", 2<<10) // over the test's 1 KiB caps
	tests := []struct {
		name     string
		path     string
		handle   func(w http.ResponseWriter, r *http.Request, n int)
		wantErr  error
		wantSays string
		wantBody int // bytes read, when no error
	}{
		{
			name: "a manifest over its cap, announced", path: "/v2/app/manifests/1", wantErr: ErrTooLarge,
			wantSays: "manifest is too large: 2048 bytes, over the 1024 byte limit",
			handle:   func(w http.ResponseWriter, _ *http.Request, _ int) { fmt.Fprint(w, big) },
		},
		{
			name: "a config over its cap, not announced", path: "/v2/app/blobs/sha256:0", wantErr: ErrTooLarge,
			wantSays: "config is too large: over the 1024 byte limit",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.(http.Flusher).Flush() // chunked: no Content-Length
				fmt.Fprint(w, big)
			},
		},
		{
			name: "an error document is cut, not refused", path: "/v2/app/manifests/1", wantBody: 64 << 10,
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, strings.Repeat("e", 100<<10))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistry(t, tt.handle)
			_, body, err := get(t, New(testConfig()), http.MethodGet, reg.url+tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantSays) {
					t.Errorf("error %v, want %v saying %q", err, tt.wantErr, tt.wantSays)
				}
				return
			}
			if err != nil || len(body) != tt.wantBody {
				t.Errorf("error %v, %d bytes; want %d bytes", err, len(body), tt.wantBody)
			}
		})
	}
}
