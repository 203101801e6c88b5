package adversarial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestCheckAgainstRegistriesThatFail is issue 8's case 6: `check` against a
// registry that never answers, answers 500, trickles its answer or refuses
// connections. Before the fix, 40 pod specs of one image on a registry that
// never answers took 540 s, a registry answering 500 got 96 GETs for 500
// specs, and 10,000 specs against a refused connection took more than
// 300 s. Now an image that cannot be read costs one lookup per run,
// bounded by --lookup-timeout, and the run ends with a report and exit 2.
func TestCheckAgainstRegistriesThatFail(t *testing.T) {
	reg := harness.StartRegistry(t)
	reg.SetFault("hang", harness.Hang)
	reg.SetFault("broken", harness.Status(http.StatusInternalServerError, nil))
	reg.SetFault("trickle", harness.Trickle(4096, time.Second))
	refused := harness.FreeAddr(t) // nothing listens there

	tests := []struct {
		name     string
		image    string
		repo     string // whose requests are counted; "" none
		specs    int
		maxAsked int // requests the registry may get for the whole run
		says     string
		within   time.Duration
	}{
		{name: "never answers", image: reg.Ref("hang", "1"), repo: "hang", specs: 40, maxAsked: 3, says: "did not answer in time", within: 20 * time.Second},
		{name: "answers 500", image: reg.Ref("broken", "1"), repo: "broken", specs: 500, maxAsked: 3, says: "500", within: 20 * time.Second},
		{name: "trickles at 1 B/s", image: reg.Ref("trickle", "1"), repo: "trickle", specs: 40, maxAsked: 3, says: "did not answer in time", within: 20 * time.Second},
		{name: "refuses connections", image: refused + "/app:1", specs: 10_000, says: "connection refused", within: 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(s.bin, "check", "-o", "json", "--lookup-timeout", "1s", "--timeout", "2m", "-")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
			cmd.Stdin = strings.NewReader(podStream(tt.image, tt.specs))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd, tt.within)
			took := time.Since(start)
			var report struct {
				Errors []struct{ Message string } `json:"errors"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
				t.Fatalf("exit %d, stdout not a JSON report (%v): %.300s\n%s", code, err, stdout.String(), stderr.String())
			}
			if code != 2 || len(report.Errors) != tt.specs {
				t.Fatalf("exit %d with %d errors; want 2 and one error per pod spec (%d)", code, len(report.Errors), tt.specs)
			}
			for _, e := range report.Errors {
				if !strings.Contains(e.Message, tt.says) || strings.Contains(e.Message, "overall timeout") {
					t.Fatalf("error %q: want it to say %q, by the lookup, not the overall timeout", e.Message, tt.says)
				}
			}
			asked := 0
			if tt.repo != "" {
				asked = reg.Requests(tt.repo)
			}
			if asked > tt.maxAsked {
				t.Errorf("the registry got %d requests for %d pod specs of one image; want at most %d", asked, tt.specs, tt.maxAsked)
			}
			t.Logf("%d pod specs of one image: exit %d after %s, %d requests", tt.specs, code, took.Round(time.Millisecond), asked)
		})
	}
}

// podStream is a YAML stream of n pods of image.
func podStream(image string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers:\n  - {name: c, image: %q}\n", i, image)
	}
	return b.String()
}

// waitExit waits for cmd at most limit and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("volumeguard %v still running after %s", cmd.Args[1:], limit)
		return -1
	}
}
