package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"text keeps the first line as it was", []string{"version"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || lines[0] != "volumeguard "+version || !strings.HasPrefix(lines[1], "commit: ") ||
				!strings.HasPrefix(lines[2], "built: ") || lines[3] != "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
				t.Errorf("version prints\n%s", out)
			}
		}},
		{"json", []string{"version", "-o", "json"}, func(t *testing.T, out string) {
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if got["version"] != version || got["goVersion"] != runtime.Version() || got["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
				t.Errorf("version -o json = %v", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
			root.SetArgs(tc.args)
			if err := root.Execute(); err != nil {
				t.Fatalf("%v: %s", err, errOut.String())
			}
			tc.check(t, out.String())
		})
	}
	t.Run("an unknown output format is a usage error", func(t *testing.T) {
		root := newRootCommand(streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}})
		root.SetArgs([]string{"version", "-o", "yaml"})
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "text or json") {
			t.Errorf("version -o yaml: %v", err)
		}
	})
}

func TestAsKubectlPlugin(t *testing.T) {
	for _, tc := range []struct {
		argv0 string
		want  string // in `check --help`
	}{
		{"/usr/local/bin/kubectl-volumeguard", "kubectl volumeguard check [PATH...|-]"},
		{"/home/me/.krew/bin/kubectl-volume_guard", "kubectl volume-guard check"},
		{"/usr/local/bin/volumeguard", "volumeguard check"},
		{"bin/kubectl-", "volumeguard check"},
	} {
		t.Run(tc.argv0, func(t *testing.T) {
			var out bytes.Buffer
			root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &out})
			asKubectlPlugin(root, tc.argv0)
			root.SetArgs([]string{"check", "--help"})
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			usage := strings.SplitN(out.String(), "Usage:\n", 2)
			if len(usage) != 2 || !strings.HasPrefix(strings.TrimSpace(usage[1]), tc.want) {
				t.Errorf("check --help as %s:\n%s\nwant usage %q", tc.argv0, out.String(), tc.want)
			}
		})
	}
}
