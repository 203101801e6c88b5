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
