package policy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestSizeLimitFor(t *testing.T) {
	def := resource.MustParse("1Gi")
	tests := []struct {
		name        string
		annotations map[string]string
		want        string
		wantNote    string
	}{
		{"no annotation", nil, "1Gi", ""},
		{"a positive quantity", map[string]string{AnnotationSizeLimit: "3Gi"}, "3Gi", ""},
		{"not a quantity", map[string]string{AnnotationSizeLimit: "lots"}, "1Gi", `volumeguard.io/size-limit="lots" is not a positive quantity`},
		{"zero", map[string]string{AnnotationSizeLimit: "0"}, "1Gi", "not a positive quantity"},
		{"negative", map[string]string{AnnotationSizeLimit: "-2Gi"}, "1Gi", "not a positive quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, note := SizeLimitFor(def, tt.annotations)
			if got.String() != tt.want || (tt.wantNote == "") != (note == "") || !strings.Contains(note, tt.wantNote) {
				t.Errorf("SizeLimitFor = %s, %q; want %s, a note with %q", got.String(), note, tt.want, tt.wantNote)
			}
			q, ok := SizeLimitOf(tt.annotations)
			if ok != (tt.want != "1Gi") || (ok && q.String() != tt.want) {
				t.Errorf("SizeLimitOf = %s, %v", q.String(), ok)
			}
		})
	}
}
