// Package cli runs the built volumeguard binary the way a CI pipeline does,
// against images in go-containerregistry's in-process registry.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/volumeguard/volumeguard/internal/testimage"
)

// buildBinary compiles volumeguard once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "volumeguard")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/volumeguard/volumeguard/cmd/volumeguard")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building volumeguard: %v\n%s", err, out)
	}
	return bin
}

// pushImage writes a random image declaring volumes and returns its digest.
func pushImage(t *testing.T, ref string, volumes ...string) string {
	t.Helper()
	digest, err := testimage.Push(ref, volumes)
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

type result struct {
	code   int
	stdout string
	stderr string
}

func runCLI(t *testing.T, bin string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	// An empty docker config and cache directory keep the user's credentials
	// and cached images out of the test.
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type report struct {
	Findings []map[string]any `json:"findings"`
	Errors   []map[string]any `json:"errors"`
}

// startRegistry serves an empty in-process registry on loopback and
// returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestCheckCommand(t *testing.T) {
	bin := buildBinary(t)
	host := startRegistry(t)
	zk := host + "/library/zookeeper:3.4.13"
	zkDigest := pushImage(t, zk, "/data", "/datalog", "/logs")
	nginx := host + "/library/nginx:1"
	pushImage(t, nginx)

	manifests := writeFiles(t, map[string]string{
		"apps/zk.yaml": deploymentYAML("zk", zk, "") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: zk}\nspec: {ports: [{port: 2181}]}\n",
		"apps/covered.yaml": deploymentYAML("zk-covered", zk, `
        volumeMounts:
        - {name: a, mountPath: /data}
        - {name: b, mountPath: /datalog/}
        - {name: c, mountPath: /logs}`),
		"jobs/cron.json":  cronJobJSON("nightly", nginx, zk),
		"README.md":       "# not a manifest\n",
		".git/config.yml": "not: [a manifest",
	})

	t.Run("findings as JSON, exit 1", func(t *testing.T) {
		res := runCLI(t, bin, "", "check", "-o", "json", manifests)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
		}
		var got report
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("stdout is not the JSON report: %v\n%s", err, res.stdout)
		}
		want := report{Errors: []map[string]any{}}
		// The test image's one random layer ships nothing at its VOLUMEs
		// (--scan-content is on by default).
		absent := map[string]any{"state": "absent", "entries": float64(0), "bytes": float64(0)}
		for _, p := range []string{"/data", "/datalog", "/logs"} {
			want.Findings = append(want.Findings, map[string]any{
				"file": filepath.Join(manifests, "apps/zk.yaml"), "line": 13.0, "column": 16.0, "kind": "Deployment", "namespace": "default", "name": "zk",
				"container": "zk", "containerType": "container", "image": zk, "digest": zkDigest, "path": p, "content": absent,
			})
		}
		for _, p := range []string{"/data", "/datalog", "/logs"} {
			want.Findings = append(want.Findings, map[string]any{
				"file": filepath.Join(manifests, "jobs/cron.json"), "line": 5.0, "column": 52.0, "kind": "CronJob", "namespace": "batch", "name": "nightly",
				"container": "migrate", "containerType": "initContainer", "image": zk, "digest": zkDigest, "path": p, "content": absent,
			})
		}
		if !reflect.DeepEqual(got, want) {
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			wantJSON, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("report differs\n got: %s\nwant: %s", gotJSON, wantJSON)
		}
	})

	t.Run("text names container, image, path and the fix", func(t *testing.T) {
		res := runCLI(t, bin, "", "check", filepath.Join(manifests, "apps"))
		t.Logf("volumeguard check output:\n%s", res.stdout)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
		}
		for _, want := range []string{filepath.Join(manifests, "apps/zk.yaml") + ":13:16: Deployment default/zk\n", `container "zk"`, zk, "VOLUME /datalog", "emptyDir", "sizeLimit: 1Gi", "mountPath: /logs", "3 findings in 1 object"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("text output lacks %q:\n%s", want, res.stdout)
			}
		}
		if strings.Contains(res.stdout, "zk-covered") {
			t.Errorf("the covered Deployment was flagged:\n%s", res.stdout)
		}
	})

	t.Run("clean manifests from stdin, exit 0", func(t *testing.T) {
		res := runCLI(t, bin, deploymentYAML("web", nginx, ""), "check", "-o", "json", "-")
		if res.code != 0 {
			t.Fatalf("exit code %d, want 0\n%s%s", res.code, res.stdout, res.stderr)
		}
		if !strings.Contains(res.stdout, `"findings": []`) {
			t.Errorf("want an empty findings list, got %s", res.stdout)
		}
	})

	t.Run("unreadable image and bad file: exit 2, the rest still checked", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"a-bad.yaml":     "apiVersion: v1\nkind: Pod\nmetadata: {name: broken\n",
			"b-missing.yaml": deploymentYAML("ghost", host+"/no/such:image", ""),
			"c-zk.yaml":      deploymentYAML("zk", zk, ""),
		})
		res := runCLI(t, bin, "", "check", "-o", "json", dir)
		if res.code != 2 {
			t.Fatalf("exit code %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
		}
		var got report
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("stdout is not the JSON report: %v\n%s", err, res.stdout)
		}
		if len(got.Findings) != 3 {
			t.Errorf("got %d findings, want the 3 of c-zk.yaml", len(got.Findings))
		}
		if len(got.Errors) != 2 {
			t.Fatalf("got errors %v, want one for the bad file and one for the missing image", got.Errors)
		}
		if f, _ := got.Errors[0]["file"].(string); !strings.HasSuffix(f, "a-bad.yaml") {
			t.Errorf("first error should name a-bad.yaml: %v", got.Errors[0])
		}
		if img, _ := got.Errors[1]["image"].(string); img != host+"/no/such:image" {
			t.Errorf("second error should name the missing image: %v", got.Errors[1])
		}
	})

	t.Run("bad usage exits 2 with the reason", func(t *testing.T) {
		res := runCLI(t, bin, "", "check", "-o", "yaml", manifests)
		if res.code != 2 || !strings.Contains(res.stderr, "--output") {
			t.Errorf("exit %d, stderr %q; want 2 and a word about --output", res.code, res.stderr)
		}
	})
}

func deploymentYAML(name, image, mounts string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: default
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      containers:
      - name: ` + name + `
        image: ` + image + mounts + "\n"
}

func cronJobJSON(name, image, initImage string) string {
	return `{"apiVersion": "batch/v1", "kind": "CronJob",
 "metadata": {"name": "` + name + `", "namespace": "batch"},
 "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
   "restartPolicy": "Never",
   "initContainers": [{"name": "migrate", "image": "` + initImage + `"}],
   "containers": [{"name": "job", "image": "` + image + `"}]}}}}}}`
}
