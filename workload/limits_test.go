package workload

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// billionLaughs is the classic alias bomb: 9^9 strings from a few hundred bytes.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		p := string(c - 1)
		fmt.Fprintf(&b, "  %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, p, p, p, p, p, p, p, p, p)
	}
	return b.String()
}

// longStringBomb repeats a 1 MiB string ten thousand times with few
// aliases: it passes yaml.v2's alias-ratio check and would expand to 10 GiB.
func longStringBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\ndata:\n  s: &s \"" + strings.Repeat("x", 1<<20) + "\"\n")
	b.WriteString("  l: &l [" + strings.TrimSuffix(strings.Repeat("*s,", 100), ",") + "]\n")
	b.WriteString("  m: [" + strings.TrimSuffix(strings.Repeat("*l,", 100), ",") + "]\n")
	return b.String()
}

func TestDecodeLimits(t *testing.T) {
	bigConfigMap := "apiVersion: v1\nkind: ConfigMap\ndata:\n  big: \"" + strings.Repeat("x", 2048) + "\"\n"
	tests := []struct {
		name     string
		opts     []Option
		in       string
		want     []summary
		wantErrs []wantErr
	}{
		{
			name:     "YAML document over the limit is skipped, the next is read",
			opts:     []Option{WithMaxDocumentSize(1024)},
			in:       podYAML + "---\n" + bigConfigMap + "---\n" + podYAML,
			want:     []summary{at(podWeb, 1), at(podWeb, 3)},
			wantErrs: []wantErr{{2, "document too large: more than 1024 bytes"}},
		},
		{
			name:     "YAML line longer than the read buffer and the limit",
			opts:     []Option{WithMaxDocumentSize(100 << 10)},
			in:       "a: " + strings.Repeat("x", 200<<10) + "\n---\n" + podYAML,
			want:     []summary{at(podWeb, 2)},
			wantErrs: []wantErr{{1, "document too large"}},
		},
		{
			name:     "JSON value over the limit ends the stream",
			opts:     []Option{WithMaxDocumentSize(1024)},
			in:       podJSON + `{"kind":"ConfigMap","data":{"big":"` + strings.Repeat("x", 4096) + `"}}` + podJSON,
			want:     []summary{at(podP1, 1)},
			wantErrs: []wantErr{{2, "document too large: more than 1024 bytes"}},
		},
		{
			name:     "default limit is 8 MiB",
			in:       "apiVersion: v1\nkind: ConfigMap\ndata:\n  big: " + strings.Repeat("x", 9<<20) + "\n---\n" + podYAML,
			want:     []summary{at(podWeb, 2)},
			wantErrs: []wantErr{{1, "document too large: more than 8388608 bytes"}},
		},
		{
			name:     "billion laughs",
			in:       billionLaughs() + "---\n" + podYAML,
			want:     []summary{at(podWeb, 2)},
			wantErrs: []wantErr{{1, "document too large: YAML aliases expand to more than"}},
		},
		{
			name:     "long string repeated by aliases",
			in:       longStringBomb(),
			wantErrs: []wantErr{{1, "document too large: YAML aliases expand to more than 33554432 bytes"}},
		},
		{
			name: "aliases expanding within the limit",
			opts: []Option{WithMaxDocumentSize(1 << 20)},
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n  s: &s \"" + strings.Repeat("x", 1000) + "\"\n  l: [" + strings.TrimSuffix(strings.Repeat("*s,", 100), ",") + "]\n---\n" + podYAML,
			want: []summary{at(podWeb, 2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			objs, errs := NewDecoder(tt.opts...).Decode("t.yaml", strings.NewReader(tt.in))
			runtime.ReadMemStats(&after)

			checkSummary(t, objs, tt.want)
			checkErrors(t, "t.yaml", errs, tt.wantErrs)
			for _, err := range errs {
				if !errors.Is(err, ErrDocumentTooLarge) {
					t.Errorf("errors.Is(%v, ErrDocumentTooLarge) = false", err)
				}
			}
			// Rejecting must cost about what reading the input costs: bounded
			// in allocations (the clock would also measure the machine's load).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(16*len(tt.in))+64<<20 {
				t.Errorf("allocated %d MiB for %d KiB of input", alloc>>20, len(tt.in)>>10)
			}
		})
	}
}

func TestFromJSONLimit(t *testing.T) {
	_, err := NewDecoder(WithMaxDocumentSize(16)).FromJSON([]byte(podJSON))
	if !errors.Is(err, ErrDocumentTooLarge) {
		t.Fatalf("FromJSON() error = %v, want ErrDocumentTooLarge", err)
	}
}
