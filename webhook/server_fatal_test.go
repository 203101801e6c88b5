package webhook

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
)

// runReturnBound is how long Run may take to return after a fatal error:
// generous, for a loaded machine; before the fix it never returned.
const runReturnBound = 30 * time.Second

// recordingListen opens listeners as net.Listen does and keeps them, in
// the order Run opens them: admission first, then metrics.
type recordingListen struct {
	mu        sync.Mutex
	listeners []net.Listener
}

func (r *recordingListen) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err == nil {
		r.mu.Lock()
		r.listeners = append(r.listeners, ln)
		r.mu.Unlock()
	}
	return ln, err
}

func (r *recordingListen) get(i int) net.Listener {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listeners[i]
}

// failingCertManager fails with err (nil: stops without error): at once,
// or, when fail is set, once it is ready (the test wrote the files) and
// the test closes fail.
type failingCertManager struct {
	err   error
	ready chan struct{}
	fail  chan struct{}
}

func (m *failingCertManager) Run(ctx context.Context) error {
	if m.fail != nil {
		close(m.ready)
		select {
		case <-m.fail:
		case <-ctx.Done():
			return nil
		}
	}
	return m.err
}

func (m *failingCertManager) Ready() <-chan struct{} { return m.ready }

// TestRunEndsOnFatalErrors: whatever stops the webhook from serving ends
// Run with an error naming it, before or after the admission server has
// started, so that the process exits with its message and the kubelet
// restarts it. Before, the informers' Shutdown waited for a cancel that
// only came after it, and Run never returned.
func TestRunEndsOnFatalErrors(t *testing.T) {
	// setup changes the configuration and returns, for an error that comes
	// once the admission server is serving, what causes it.
	type setup func(t *testing.T, cfg *Config, dir string) (trigger func(*recordingListen))
	serving := func(cause func(*recordingListen)) setup {
		return func(t *testing.T, _ *Config, dir string) func(*recordingListen) {
			writeCert(t, dir, 1)
			return cause
		}
	}
	manager := func(m *failingCertManager) setup {
		return func(t *testing.T, cfg *Config, dir string) func(*recordingListen) {
			cfg.NewCertManager = func(kubernetes.Interface) (CertManager, error) { return m, nil }
			if m.fail == nil {
				return nil
			}
			writeCert(t, dir, 3)
			return func(*recordingListen) { close(m.fail) }
		}
	}
	tests := []struct {
		name  string
		setup setup
		want  string
	}{
		{
			name:  "missing certificate files",
			setup: func(*testing.T, *Config, string) func(*recordingListen) { return nil },
			want:  "loading the serving certificate",
		},
		{
			name: "unreadable certificate",
			setup: func(t *testing.T, cfg *Config, _ string) func(*recordingListen) {
				for _, f := range []string{cfg.TLSCertFile, cfg.TLSPrivateKeyFile} {
					if err := os.WriteFile(f, []byte("not PEM"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				return nil
			},
			want: "loading the serving certificate",
		},
		{
			name: "certificate manager cannot start",
			setup: func(_ *testing.T, cfg *Config, _ string) func(*recordingListen) {
				cfg.NewCertManager = func(kubernetes.Interface) (CertManager, error) { return nil, errors.New("no such namespace") }
				return nil
			},
			want: "starting the certificate manager: no such namespace",
		},
		{
			name:  "certificate manager fails before its files",
			setup: manager(&failingCertManager{err: errors.New("secrets is forbidden"), ready: make(chan struct{})}),
			want:  "managing the serving certificate: secrets is forbidden",
		},
		{
			name:  "certificate manager stops before its files",
			setup: manager(&failingCertManager{ready: make(chan struct{})}),
			want:  "managing the serving certificate: it stopped",
		},
		{
			name:  "certificate manager fails while serving",
			setup: manager(&failingCertManager{err: errors.New("renewing: etcd is down"), ready: make(chan struct{}), fail: make(chan struct{})}),
			want:  "managing the serving certificate: renewing: etcd is down",
		},
		{
			name:  "admission listener fails while serving",
			setup: serving(func(l *recordingListen) { l.get(0).Close() }),
			want:  "serving admission",
		},
		{
			name:  "metrics listener fails while serving",
			setup: serving(func(l *recordingListen) { l.get(1).Close() }),
			want:  "serving metrics",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := &syncbuffer.Buffer{}
			cfg := runConfig(t, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), logs)
			cfg.AdmissionTimeout = time.Second
			listens := &recordingListen{}
			cfg.listen = listens.listen
			trigger := tt.setup(t, cfg, dir)

			done := make(chan error, 1)
			go func() { done <- Run(context.Background(), cfg) }()
			if trigger != nil {
				waitServing(t, logs)
				trigger(listens)
			}
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Run() = %v, want an error with %q", err, tt.want)
				}
			case <-time.After(runReturnBound):
				t.Fatalf("Run did not return within %s of the error; logs:\n%s", runReturnBound, logs.String())
			}
			if !strings.Contains(logs.String(), "stopping on a fatal error") {
				t.Errorf("the fatal error is not logged:\n%s", logs.String())
			}
		})
	}
}
