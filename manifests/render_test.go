package manifests

import "testing"

// Rendered objects go to API clients, which deep-copy them: every value
// must be a JSON type (int64, not YAML's int).
func TestRenderedObjectsDeepCopy(t *testing.T) {
	for _, overlay := range Overlays() {
		objs, err := Render(overlay)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: %s %s: DeepCopy panics: %v", overlay, obj.GetKind(), obj.GetName(), r)
					}
				}()
				obj.DeepCopy()
			}()
		}
	}
}
