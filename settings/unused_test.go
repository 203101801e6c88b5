package settings

import (
	"slices"
	"testing"

	"github.com/volumeguard/volumeguard/policy"
)

func TestUnusedIgnores(t *testing.T) {
	ignored := []policy.Finding{{Path: "/logs"}, {Path: "/data/"}, {Path: "data"}}
	tests := []struct {
		name        string
		annotations []map[string]string
		want        []string
	}{
		{"none", nil, nil},
		{"all used, however written", []map[string]string{{policy.IgnoreAnnotation: "/logs/, /data ,data"}}, nil},
		{"a typo", []map[string]string{{policy.IgnoreAnnotation: "/dta,/logs"}}, []string{"/dta"}},
		{"a parent of an ignored path", []map[string]string{{policy.IgnoreAnnotation: "/"}}, []string{"/"}},
		{"each once, in order, over both maps", []map[string]string{
			{policy.IgnoreAnnotation: "/b,/a"}, {policy.IgnoreAnnotation: "/a/,/c"}}, []string{"/b", "/a", "/c"}},
		{"other annotations", []map[string]string{{"other": "/x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnusedIgnores(ignored, tt.annotations...); !slices.Equal(got, tt.want) {
				t.Errorf("UnusedIgnores = %q, want %q", got, tt.want)
			}
		})
	}
	if note := UnusedIgnoresNote(nil); note != "" {
		t.Errorf("UnusedIgnoresNote(nil) = %q, want none", note)
	}
}
