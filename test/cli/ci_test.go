//go:build unix

package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the repository, from test/cli.
const repoRoot = "../.."

// script is the absolute path of a script of the repository, for commands
// run in other directories.
func script(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestCIIntegrations runs what the repository ships for CI with the built
// binary: the GitHub Action's scripts (install from a release archive
// served on loopback, or go install; check with annotations, summary and
// SARIF), the pre-commit hooks' entries, and the CI formats end to end.
func TestCIIntegrations(t *testing.T) {
	bin := buildBinary(t)
	host := startRegistry(t)
	zk := host + "/library/zookeeper:3.4.13"
	pushImage(t, zk, "/data", "/datalog", "/logs")
	nginx := host + "/library/nginx:1"
	pushImage(t, nginx)

	// A repository: check makes paths relative to its root.
	repo := writeFiles(t, map[string]string{
		".git/HEAD":          "ref: refs/heads/main\n",
		"deploy/zk.yaml":     deploymentYAML("zk", zk, ""),
		"deploy/web.yaml":    deploymentYAML("web", nginx, ""),
		".github/ci.yml":     "name: ci\non: push\n",
		"charts/out.yaml":    "---\n# Source: zk/templates/zk.yaml\n" + deploymentYAML("zk", zk, ""),
		"deploy/README.json": "",
	})
	if err := os.Remove(filepath.Join(repo, "deploy/README.json")); err != nil {
		t.Fatal(err)
	}

	// A volumeguard as the action may install it: the real one, or one
	// older than --output-file; each logs its arguments.
	wrap := func(t *testing.T, old bool) (string, string) {
		dir := t.TempDir()
		w, log := filepath.Join(dir, "volumeguard"), filepath.Join(dir, "args.log")
		older := ""
		if old {
			older = `for a in "$@"; do [ "$a" = --output-file ] && { echo 'Error: unknown flag: --output-file' >&2; exit 2; }; done
case " $* " in *" --help "*) "` + bin + `" "$@" | grep -v -e --output-file; exit 0;; esac
`
		}
		sh := "#!/bin/sh\necho \"$*\" >>'" + log + "'\n" + older + "exec '" + bin + "' \"$@\"\n"
		if err := os.WriteFile(w, []byte(sh), 0o755); err != nil {
			t.Fatal(err)
		}
		return w, log
	}
	for _, tc := range []struct {
		name string
		old  bool
		runs int
	}{
		{"action: one check run writes annotations, the step summary and SARIF", false, 1},
		{"action: a volumeguard without --output-file gets a second run for SARIF", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, argsLog := wrap(t, tc.old)
			_ = os.Remove(filepath.Join(repo, "vg.sarif"))
			out := filepath.Join(t.TempDir(), "output")
			summary := filepath.Join(t.TempDir(), "summary.md")
			cmd := exec.Command(script(t, "hack/action/check.sh"))
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "VOLUMEGUARD_BIN="+bin,
				"VOLUMEGUARD_PATHS=deploy charts", "VOLUMEGUARD_ARGS=--size-limit 2Gi", "VOLUMEGUARD_SARIF_FILE=vg.sarif",
				"GITHUB_OUTPUT="+out, "GITHUB_STEP_SUMMARY="+summary)
			stdout, err := cmd.Output()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d (%v), want 1 (findings)\n%s", code, err, stdout)
			}
			for _, want := range []string{
				"::error file=deploy/zk.yaml,line=13,col=16,title=VG001 uncovered-image-volume::Deployment default/zk: container \"zk\"",
				"::error file=charts/out.yaml,line=15,col=16,title=VG001 uncovered-image-volume::Deployment default/zk (from zk/templates/zk.yaml)",
				"sizeLimit: 2Gi",
				"6 findings in 2 objects, 0 errors",
			} {
				if !strings.Contains(string(stdout), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if got := readFile(t, out); got != "exit-code=1\nsarif-file=vg.sarif\n" {
				t.Errorf("GITHUB_OUTPUT = %q", got)
			}
			if got := readFile(t, summary); !strings.Contains(got, "| `deploy/zk.yaml:13:16` | Deployment default/zk | zk |") {
				t.Errorf("the step summary lacks the finding:\n%s", got)
			}
			var log struct {
				Runs []struct {
					Results []struct {
						RuleID    string `json:"ruleId"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(repo, "vg.sarif"))), &log); err != nil {
				t.Fatal(err)
			}
			if n := len(log.Runs[0].Results); n != 6 {
				t.Fatalf("%d SARIF results, want 6", n)
			}
			for i, want := range map[int]string{0: "deploy/zk.yaml:13", 3: "charts/out.yaml:15"} {
				r := log.Runs[0].Results[i]
				if loc := r.Locations[0].PhysicalLocation; r.RuleID != "VG001" || fmt.Sprintf("%s:%d", loc.ArtifactLocation.URI, loc.Region.StartLine) != want {
					t.Errorf("result %d %+v, want VG001 at %s", i, r, want)
				}
			}

			var runs int
			for _, line := range strings.Split(readFile(t, argsLog), "\n") {
				if strings.HasPrefix(line, "check -o") {
					runs++
				}
			}
			if runs != tc.runs {
				t.Errorf("%d check runs, want %d:\n%s", runs, tc.runs, readFile(t, argsLog))
			}
		})
	}

	// fail-on-findings: false keeps the step green; the output still says 1.
	t.Run("action: fail-on-findings false keeps the step green", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "output")
		cmd := exec.Command(script(t, "hack/action/check.sh"))
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "VOLUMEGUARD_BIN="+bin, "VOLUMEGUARD_PATHS=deploy", "VOLUMEGUARD_FAIL=false", "GITHUB_OUTPUT="+out)
		if stdout, err := cmd.Output(); err != nil {
			t.Errorf("with fail-on-findings false: %v\n%s", err, stdout)
		}
		if got := readFile(t, out); got != "exit-code=1\nsarif-file=\n" {
			t.Errorf("GITHUB_OUTPUT = %q", got)
		}
	})

	t.Run("action: install from a release archive, checked against checksums.txt", func(t *testing.T) {
		archive := "volumeguard_1.2.3_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
		data := tarGz(t, "volumeguard", readFile(t, bin))
		sum := sha256.Sum256(data)
		tests := []struct {
			name, version, install, checksums string
			wantExit                          int
			wantGoInstall                     bool
			wantErr                           string
		}{
			{name: "release", version: "v1.2.3", install: "release", checksums: hex.EncodeToString(sum[:]) + "  " + archive + "\n"},
			{name: "auto takes the release", version: "v1.2.3", install: "auto", checksums: hex.EncodeToString(sum[:]) + "  " + archive + "\n"},
			{name: "a checksum mismatch fails, without falling back", version: "v1.2.3", install: "auto",
				checksums: strings.Repeat("0", 64) + "  " + archive + "\n", wantExit: 1, wantErr: "does not match the release's checksums.txt"},
			{name: "an archive the checksums do not list fails", version: "v1.2.3", install: "release",
				checksums: strings.Repeat("0", 64) + "  other.tar.gz\n", wantExit: 1, wantErr: "does not match"},
			{name: "no release: auto falls back to go install", version: "v9.9.9", install: "auto", wantGoInstall: true},
			{name: "a branch: go install", version: "main", install: "auto", wantGoInstall: true},
			{name: "no release, release asked: fails", version: "v9.9.9", install: "release", wantExit: 1, wantErr: "no release archive v9.9.9"},
			{name: "no version", install: "auto", wantExit: 1, wantErr: "set the action's 'version' input"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mux := http.NewServeMux()
				mux.HandleFunc("/v1.2.3/checksums.txt", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(tt.checksums)) })
				mux.HandleFunc("/v1.2.3/"+archive, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(data) })
				srv := httptest.NewServer(mux)
				defer srv.Close()
				// A fake go records the install instead of reaching the module proxy.
				fakeBin := t.TempDir()
				goLog := filepath.Join(t.TempDir(), "go.log")
				fakeGo := "#!/bin/sh\necho \"$@\" >" + goLog + "\nprintf '#!/bin/sh\\necho volumeguard from go install\\n' >\"$GOBIN/volumeguard\"\nchmod +x \"$GOBIN/volumeguard\"\n"
				if err := os.WriteFile(filepath.Join(fakeBin, "go"), []byte(fakeGo), 0o755); err != nil {
					t.Fatal(err)
				}
				binDir, ghPath := t.TempDir(), filepath.Join(t.TempDir(), "path")
				cmd := exec.Command(script(t, "hack/action/install.sh"))
				cmd.Env = append(os.Environ(), "PATH="+fakeBin+":"+os.Getenv("PATH"), "VOLUMEGUARD_VERSION="+tt.version, "VOLUMEGUARD_INSTALL="+tt.install,
					"VOLUMEGUARD_RELEASE_URL="+srv.URL, "VOLUMEGUARD_BIN_DIR="+binDir, "GITHUB_PATH="+ghPath)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				stdout, _ := cmd.Output()
				if code := cmd.ProcessState.ExitCode(); code != tt.wantExit || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Fatalf("exit %d, want %d and %q\nstdout: %s\nstderr: %s", code, tt.wantExit, tt.wantErr, stdout, stderr.String())
				}
				_, statErr := os.Stat(filepath.Join(binDir, "volumeguard"))
				if tt.wantExit != 0 {
					if statErr == nil {
						t.Error("a binary was installed though the install failed")
					}
					return
				}
				if got := readFile(t, ghPath); got != binDir+"\n" {
					t.Errorf("GITHUB_PATH = %q, want the bin directory", got)
				}
				goArgs, _ := os.ReadFile(goLog)
				if wantArgs := "install github.com/volumeguard/volumeguard/cmd/volumeguard@" + tt.version + "\n"; tt.wantGoInstall != (string(goArgs) == wantArgs) {
					t.Errorf("go was run with %q; want go install: %v", goArgs, tt.wantGoInstall)
				}
				if want := "volumeguard from go install"; tt.wantGoInstall != strings.Contains(string(stdout), want) {
					t.Errorf("the installed binary says %q", stdout)
				}
			})
		}
	})

	t.Run("action.yml passes inputs through the environment to scripts that exist", func(t *testing.T) {
		var action struct {
			Inputs map[string]struct {
				Required bool `json:"required"`
			} `json:"inputs"`
			Runs struct {
				Using string `json:"using"`
				Steps []struct {
					Run  string            `json:"run"`
					Uses string            `json:"uses"`
					Env  map[string]string `json:"env"`
					With map[string]string `json:"with"`
				} `json:"steps"`
			} `json:"runs"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(repoRoot, "action.yml"))), &action); err != nil {
			t.Fatal(err)
		}
		if action.Runs.Using != "composite" || !action.Inputs["paths"].Required {
			t.Fatalf("want a composite action with a required paths input: %+v", action)
		}
		uploads := 0
		for _, step := range action.Runs.Steps {
			if strings.HasPrefix(step.Uses, "github/codeql-action/upload-sarif@") {
				uploads++
				if step.With["category"] != "${{ inputs.category }}" {
					t.Errorf("the upload does not pass the category: %v", step.With)
				}
			}
			if step.Run == "" {
				continue
			}
			if strings.Contains(step.Run, "${{") {
				t.Errorf("a run script holds an expression, which could inject shell: %q", step.Run)
			}
			path := strings.TrimPrefix(strings.Trim(step.Run, `'" `), "$GITHUB_ACTION_PATH/")
			if info, err := os.Stat(filepath.Join(repoRoot, path)); err != nil || info.Mode()&0o111 == 0 {
				t.Errorf("step runs %q, which is not an executable script of the repository (%v)", step.Run, err)
			}
			for name, value := range step.Env {
				input := strings.TrimSuffix(strings.TrimPrefix(value, "${{ inputs."), " }}")
				if _, ok := action.Inputs[input]; !ok {
					t.Errorf("env %s = %q names no input", name, value)
				}
			}
		}
		if uploads != 1 {
			t.Errorf("want one upload-sarif step, got %d", uploads)
		}
	})

	t.Run("pre-commit hooks", func(t *testing.T) {
		var hooks []struct {
			ID            string   `json:"id"`
			Entry         string   `json:"entry"`
			Language      string   `json:"language"`
			TypesOr       []string `json:"types_or"`
			RequireSerial bool     `json:"require_serial"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(repoRoot, ".pre-commit-hooks.yaml"))), &hooks); err != nil {
			t.Fatal(err)
		}
		languages := map[string]string{}
		for _, h := range hooks {
			languages[h.ID] = h.Language
			if !h.RequireSerial || strings.Join(h.TypesOr, ",") != "yaml,json" {
				t.Errorf("hook %s: want require_serial (one lookup per image) and types_or yaml, json: %+v", h.ID, h)
			}
			// pre-commit runs the entry with the staged files as arguments.
			entry := strings.Fields(h.Entry)
			if entry[0] != "volumeguard" {
				t.Fatalf("hook %s runs %q, not volumeguard", h.ID, h.Entry)
			}
			files := []string{filepath.Join(repo, "deploy/web.yaml"), filepath.Join(repo, "deploy/zk.yaml")}
			if res := runCLI(t, bin, "", append(entry[1:], files...)...); res.code != 1 || !strings.Contains(res.stdout, "deploy/zk.yaml:13:16: Deployment default/zk") {
				t.Errorf("hook %s on a finding: exit %d, want 1 naming deploy/zk.yaml:13:16\n%s%s", h.ID, res.code, res.stdout, res.stderr)
			}
			if res := runCLI(t, bin, "", append(entry[1:], files[0])...); res.code != 0 {
				t.Errorf("hook %s on a clean manifest: exit %d, want 0\n%s%s", h.ID, res.code, res.stdout, res.stderr)
			}
		}
		if languages["volumeguard-check"] != "golang" || languages["volumeguard-check-system"] != "system" {
			t.Errorf("want a golang hook volumeguard-check and a system hook volumeguard-check-system: %v", languages)
		}
	})

	t.Run("gitlab: a Code Quality report with repository paths", func(t *testing.T) {
		res := runCLIIn(t, repo, bin, "check", "-o", "gitlab", "deploy")
		if res.code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
		}
		var issues []struct {
			CheckName   string `json:"check_name"`
			Fingerprint string `json:"fingerprint"`
			Location    struct {
				Path  string              `json:"path"`
				Lines struct{ Begin int } `json:"lines"`
			} `json:"location"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &issues); err != nil {
			t.Fatal(err)
		}
		if len(issues) != 3 || issues[0].Location.Path != "deploy/zk.yaml" || issues[0].Location.Lines.Begin != 13 || issues[0].CheckName != "VG001 uncovered-image-volume" {
			t.Errorf("issues %+v, want 3 at deploy/zk.yaml:13", issues)
		}
	})
}

// runCLIIn runs the binary in dir.
func runCLIIn(t *testing.T, dir, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tarGz is a release archive holding one executable file.
func tarGz(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
