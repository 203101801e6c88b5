package manifestfix

import "testing"

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
