package manifestfix

import (
	"strings"
	"testing"
)

// TestExitCode: errors win; then anything left to a person, a suggestion
// or a path left for what the image ships there; findings no mount can
// cover do not count.
func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want int
	}{
		{"nothing", Result{Files: []File{{}}}, ExitFixed},
		{"only unfixable findings", Result{Files: []File{{Unfixable: []Unfixable{{}}}}}, ExitFixed},
		{"a suggestion", Result{Files: []File{{}, {Suggestions: []Suggestion{{}}}}}, ExitSuggested},
		{"a path left for its content", Result{Files: []File{{Left: []Left{{}}}}}, ExitSuggested},
		{"an error wins", Result{Files: []File{{Left: []Left{{}}}}, Errors: []Problem{{}}}, ExitErrors},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.ExitCode(); got != tt.want {
				t.Errorf("ExitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReportSummaryCountsLeftPaths: the summary line counts the paths left
// for what the image ships there, which make fix exit 1; it said nothing
// was left to do.
func TestReportSummaryCountsLeftPaths(t *testing.T) {
	for _, tt := range []struct {
		left int
		want string
	}{
		{0, "0 fixes to make by hand, 0 findings no mount can cover"},
		{1, "0 fixes to make by hand, 1 path left as it is, 0 findings no mount can cover"},
		{2, "0 fixes to make by hand, 2 paths left as they are, 0 findings no mount can cover"},
	} {
		var b strings.Builder
		res := Result{Files: []File{{Name: "pod.yaml", Left: make([]Left, tt.left)}}}
		if err := WriteReport(&b, res); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("%d left: report %q lacks %q", tt.left, b.String(), tt.want)
		}
	}
}
