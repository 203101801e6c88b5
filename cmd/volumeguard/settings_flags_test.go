package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestCheckSettingsFile(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".yaml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		content   string
		args      []string
		wantLimit string
		wantErr   string
	}{
		{"the file's size limit", "defaultSizeLimit: 2Gi\n", nil, "2Gi", ""},
		{"a flag beats the file", "defaultSizeLimit: 2Gi\n", []string{"--size-limit", "3Gi"}, "3Gi", ""},
		{"no size in the file", "ignore: []\n", nil, "1Gi", ""},
		{"a typo names the key", "defaultSizeLimt: 2Gi\n", nil, "", `unknown field "defaultSizeLimt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o checkOptions
			fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
			o.addFlags(fs)
			if err := fs.Parse(append([]string{"--config", file(tt.content)}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			cfg, err := o.validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--config") {
					t.Errorf("error %v, want --config saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.sizeLimit.String(); got != tt.wantLimit {
				t.Errorf("size limit %s, want %s", got, tt.wantLimit)
			}
		})
	}
}

func TestServeSettingsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(p, []byte("defaultSizeLimit: 2Gi\nignore:\n- images: [zk*]\n  paths: [/logs]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantLimit string
		wantAllow bool
	}{
		{"the file's size limit", []string{"--config", p}, "2Gi", false},
		{"a flag beats the file", []string{"--config", p, "--default-size-limit", "3Gi", "--allow-pod-ignore"}, "3Gi", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := parseServe(t, tt.args...)
			h := cfg.Handler
			if h.DefaultSizeLimit.String() != tt.wantLimit || h.AllowPodIgnore != tt.wantAllow || len(h.Settings.IgnoredPaths("zk:1")) != 1 {
				t.Errorf("size limit %s, allow %v, zk:1 ignores %v; want %s, %v, [/logs]",
					h.DefaultSizeLimit.String(), h.AllowPodIgnore, h.Settings.IgnoredPaths("zk:1"), tt.wantLimit, tt.wantAllow)
			}
		})
	}
}
