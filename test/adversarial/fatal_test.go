package adversarial

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestServeExitsOnFatalErrors is issue 8's case 4 against the binary: a
// serving certificate that cannot be loaded, or an admission port taken,
// ends `volumeguard serve` with its message and a failing exit status, so
// that the kubelet restarts it. Before the fix it hung with /healthz 200.
func TestServeExitsOnFatalErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	garbage := filepath.Join(t.TempDir(), "tls.crt")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		listen string
		args   []string
		says   string
	}{
		{"unreadable certificate", harness.FreeAddr(t), []string{"--tls-cert-file", garbage, "--tls-private-key-file", garbage}, "certificate"},
		{"admission port taken", taken.Addr().String(), nil, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := harness.Launch(t, s.bin, s.cp, tt.listen, tt.args...)
			if !srv.WaitExit(30 * time.Second) {
				t.Fatalf("volumeguard serve still running 30 s after a fatal error; logs:\n%s", srv.Logs())
			}
			if srv.ExitErr() == nil || !strings.Contains(srv.Logs(), tt.says) {
				t.Errorf("exit %v, logs %q; want a failure saying %q", srv.ExitErr(), srv.Logs(), tt.says)
			}
		})
	}
}
