package cli

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestInspectCommand(t *testing.T) {
	bin := buildBinary(t)
	host := startRegistry(t)
	ref := host + "/library/zookeeper:3.4.13"
	digest := pushImage(t, ref, "/datalog", "/data", "/logs")

	t.Run("json names the digest and the volumes per platform", func(t *testing.T) {
		res := runCLI(t, bin, "", "inspect", "-o", "json", ref)
		if res.code != 0 {
			t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
		}
		var got struct {
			Image, Reference, Digest string
			Platforms                []struct {
				Platform string
				Volumes  []string
			}
		}
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, res.stdout)
		}
		if got.Image != ref || got.Reference != ref || got.Digest != digest {
			t.Errorf("image %q reference %q digest %q, want %q, %q, %q", got.Image, got.Reference, got.Digest, ref, ref, digest)
		}
		if len(got.Platforms) != 1 || got.Platforms[0].Platform != "linux/amd64" ||
			!reflect.DeepEqual(got.Platforms[0].Volumes, []string{"/data", "/datalog", "/logs"}) {
			t.Errorf("platforms %+v, want linux/amd64 with /data /datalog /logs", got.Platforms)
		}
	})

	t.Run("text", func(t *testing.T) {
		res := runCLI(t, bin, "", "inspect", ref)
		if res.code != 0 || !strings.Contains(res.stdout, "linux/amd64") || !strings.Contains(res.stdout, "/data /datalog /logs") || !strings.Contains(res.stdout, digest) {
			t.Errorf("exit %d, output:\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("a missing image says so and exits 2", func(t *testing.T) {
		res := runCLI(t, bin, "", "inspect", host+"/library/nope:1")
		if res.code != 2 || !strings.Contains(res.stderr, "not found") {
			t.Errorf("exit %d, stderr %q; want 2 and a not-found message", res.code, res.stderr)
		}
	})
}
