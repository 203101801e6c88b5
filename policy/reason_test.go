package policy

import "testing"

func TestUncoveredReason(t *testing.T) {
	tests := []struct {
		name string
		f    Finding
		want string
	}{
		{"absolute", Finding{Path: "/data"}, "no volumeMount of this container covers it"},
		{"relative", Finding{Path: "data", Relative: true}, "a relative path, no volumeMount can cover it"},
		{
			"some platforms, quoted as they come from the image",
			Finding{Path: "/data", Platforms: []Platform{{OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "amd64\x1b[0m"}}},
			`no volumeMount of this container covers it (declared on linux/arm64, "linux/amd64\x1b[0m")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.UncoveredReason(); got != tt.want {
				t.Errorf("UncoveredReason() = %q, want %q", got, tt.want)
			}
		})
	}
}
