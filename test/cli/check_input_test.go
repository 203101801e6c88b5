//go:build unix

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitWithin bounds how long a test waits for the binary to end after it
// was told to: far beyond "promptly", so that only a process that ignores
// the signal or the timeout fails the test.
const exitWithin = time.Minute

// TestCheckInputs: what check reads, skips and says about its input, and
// how it ends: symbolic links, named pipes, empty input, signals, bounds.
func TestCheckInputs(t *testing.T) {
	bin := buildBinary(t)
	host := startRegistry(t)
	zk := host + "/library/zookeeper:3.4.13"
	pushImage(t, zk, "/data", "/datalog", "/logs")
	nginx := host + "/library/nginx:1"
	pushImage(t, nginx)
	zkDeployment := deploymentYAML("zk", zk, "")

	t.Run("a symbolic link to a directory is read", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"real/zk.yaml": zkDeployment})
		link := filepath.Join(dir, "link")
		symlink(t, "real", link)
		res := runCLI(t, bin, "", "check", "-o", "json", link)
		got := decodeReport(t, res)
		if res.code != 1 || len(got.Findings) != 3 || got.Findings[0]["file"] != filepath.Join(link, "zk.yaml") {
			t.Errorf("exit %d, findings %v; want 1 and the 3 of link/zk.yaml\n%s", res.code, got.Findings, res.stderr)
		}
	})

	t.Run("a loop of symbolic links is read once", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"zk.yaml": zkDeployment})
		symlink(t, ".", filepath.Join(dir, "loop"))
		symlink(t, "..", filepath.Join(dir, "sub", "up"))
		res := runCLI(t, bin, "", "check", "-o", "json", dir)
		if got := decodeReport(t, res); res.code != 1 || len(got.Findings) != 3 || len(got.Errors) != 0 {
			t.Errorf("exit %d, report %+v; want 1 and zk.yaml's 3 findings once\n%s", res.code, got, res.stderr)
		}
	})

	t.Run("a named pipe in a directory is skipped with a note", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"zk.yaml": zkDeployment})
		mkfifo(t, filepath.Join(dir, "x.yaml"))
		res := runCLI(t, bin, "", "check", dir)
		if res.code != 1 || !strings.Contains(res.stderr, "note: skipped "+filepath.Join(dir, "x.yaml")+": not a regular file") {
			t.Errorf("exit %d, stderr %q; want 1 and a note naming x.yaml", res.code, res.stderr)
		}
	})

	t.Run("a named pipe given as an argument is read", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "manifests")
		mkfifo(t, fifo)
		written := make(chan error, 1)
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader
			if err == nil {
				_, err = f.WriteString(zkDeployment)
				err = errors.Join(err, f.Close())
			}
			written <- err
		}()
		res := runCLI(t, bin, "", "check", fifo)
		if err := <-written; err != nil {
			t.Fatal(err)
		}
		if res.code != 1 || !strings.Contains(res.stdout, "3 findings in 1 object") {
			t.Errorf("exit %d; want 1 and the Deployment's findings\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("/dev/fd/N of a process substitution is read", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = w.WriteString(zkDeployment)
			w.Close()
		}()
		cmd := exec.Command(bin, "check", "/dev/fd/3")
		cmd.ExtraFiles = []*os.File{r} // fd 3, as bash's <(...) passes it
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
		out, _ := cmd.Output()
		r.Close()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "3 findings in 1 object") {
			t.Errorf("exit %d; want 1 and the Deployment's findings\n%s", code, out)
		}
	})

	t.Run("empty stdin: exit 2, an error in the report, a note about pipefail", func(t *testing.T) {
		res := runCLI(t, bin, "", "check", "-o", "json", "-")
		got := decodeReport(t, res)
		if res.code != 2 || len(got.Errors) != 1 || got.Errors[0]["message"] != "<stdin>: no Kubernetes object in the input" {
			t.Errorf("exit %d, errors %v; want 2 and the empty input named", res.code, got.Errors)
		}
		if !strings.Contains(res.stderr, "note: nothing came in on stdin") || !strings.Contains(res.stderr, "set -o pipefail") {
			t.Errorf("stderr %q; want a note about the pipeline", res.stderr)
		}
	})

	t.Run("a directory without manifests: exit 2", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"main.go": "package main\n"})
		res := runCLI(t, bin, "", "check", dir)
		if res.code != 2 || !strings.Contains(res.stdout, "error: "+dir+": no Kubernetes object in the input") {
			t.Errorf("exit %d; want 2 and the directory named\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("documents without a pod spec: exit 0 with a note", func(t *testing.T) {
		res := runCLI(t, bin, "apiVersion: v1\nkind: Service\nmetadata: {name: zk}\nspec: {ports: [{port: 2181}]}\n", "check", "-")
		if res.code != 0 || !strings.Contains(res.stderr, "note: none of the 1 document read holds a pod spec") {
			t.Errorf("exit %d, stderr %q; want 0 and a note", res.code, res.stderr)
		}
	})

	t.Run("--concurrency is bounded", func(t *testing.T) {
		for _, tt := range []struct {
			value string
			code  int
		}{{"100000000", 2}, {"257", 2}, {"0", 2}, {"256", 0}, {"1", 0}} {
			res := runCLI(t, bin, deploymentYAML("web", nginx, ""), "check", "--concurrency", tt.value, "-")
			if res.code != tt.code || tt.code == 2 && !strings.Contains(res.stderr, "--concurrency must be between 1 and 256") {
				t.Errorf("--concurrency %s: exit %d, stderr %q; want %d", tt.value, res.code, res.stderr, tt.code)
			}
		}
	})

	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		code int
	}{{"SIGINT", syscall.SIGINT, 130}, {"SIGTERM", syscall.SIGTERM, 143}} {
		t.Run(fmt.Sprintf("%s while stdin never ends: exit %d", tt.name, tt.code), func(t *testing.T) {
			cmd := exec.Command(bin, "check", "-")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// More than a pipe holds: once written, check is reading its
			// input, so its signal handling is in place.
			if _, err := io.WriteString(stdin, strings.Repeat("# a pipeline that never ends\n", 1<<15)); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd)
			if code != tt.code || !strings.Contains(stderr.String(), "volumeguard: ") {
				t.Errorf("exit %d, stderr %q; want %d and the reason", code, stderr.String(), tt.code)
			}
		})
	}
}

// TestCheckTimeouts: a registry that accepts requests and never answers
// costs --lookup-timeout per image, and --timeout for the whole run; both
// end in a finished report, exit 2.
func TestCheckTimeouts(t *testing.T) {
	bin := buildBinary(t)
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(func() {
		hang.CloseClientConnections()
		hang.Close()
	})
	image := strings.TrimPrefix(hang.URL, "http://") + "/library/stuck:1"
	manifest := deploymentYAML("stuck", image, "") + "---\n" + deploymentYAML("stuck-too", image+"-too", "")

	tests := []struct {
		name string
		args []string
		want []string // a part of each error's message
	}{
		{
			name: "per lookup: each image fails on its own",
			args: []string{"--lookup-timeout", "1s", "--timeout", "0"},
			want: []string{"did not answer in time", "did not answer in time"},
		},
		{
			name: "overall: the lookup in flight fails, the next is not started",
			args: []string{"--lookup-timeout", "0", "--timeout", "1s"},
			want: []string{"timed out (the overall timeout of 1s expired)", "not analysed: the overall timeout of 1s expired"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(append([]string{"check", "-o", "json", "--concurrency", "1"}, tt.args...), "-")...)
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
			cmd.Stdin = strings.NewReader(manifest)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd)
			var got report
			if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
				t.Fatalf("stdout is not the JSON report: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			if code != 2 || len(got.Errors) != len(tt.want) {
				t.Fatalf("exit %d, errors %v; want 2 and errors saying %q", code, got.Errors, tt.want)
			}
			for i, want := range tt.want {
				if msg, _ := got.Errors[i]["message"].(string); !strings.Contains(msg, want) {
					t.Errorf("error %d = %q, want it to say %q", i, msg, want)
				}
			}
		})
	}

	t.Run("inspect", func(t *testing.T) {
		cmd := exec.Command(bin, "inspect", "--timeout", "1s", image)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != 2 || !strings.Contains(stderr.String(), "did not answer in time") {
			t.Errorf("exit %d, stderr %q; want 2 and a timeout", code, stderr.String())
		}
	})
}

// waitExit waits for cmd to end, at most exitWithin, and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
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
	case <-time.After(exitWithin):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("volumeguard %v still running after %s", cmd.Args[1:], exitWithin)
		return -1
	}
}

func decodeReport(t *testing.T, res result) report {
	t.Helper()
	var got report
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s%s", err, res.stdout, res.stderr)
	}
	return got
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}
