package volumecontent

import (
	"context"
	"math/rand"
	"strings"
	"testing"
)

// TestScanAgreesWithTheModel runs FuzzScanAgainstModel's check over
// pseudo-random layer programs (a fixed seed): every answer the scanner is
// sure of matches the model's bottom-up application of the layers.
func TestScanAgreesWithTheModel(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	paths := []string{"/data", "/a", "/a/b", "/data/sub", "/sub/data", "/b"}
	agreed := map[State]int{}
	for range 3000 {
		program := make([]byte, 4+rng.Intn(40))
		for i := range program {
			program[i] = byte(rng.Intn(16))
			if rng.Intn(12) == 0 {
				program[i] = 0xff // next layer
			}
		}
		built := buildLayers(program)
		model := newUnionModel()
		var ls []Layer
		for _, entries := range built {
			raw := tarBytes(t, entries...)
			ls = append(ls, newMemLayer(raw))
			model.apply(tarOrder(t, raw))
		}
		got, _ := NewScanner().Scan(context.Background(), ls, paths)
		for i, p := range paths {
			want, ok := model.answer(strings.TrimPrefix(p, "/"))
			c := got[i]
			if c.State == Unknown || !ok || !model.ok {
				continue
			}
			if c.Implicit = false; c != want {
				t.Fatalf("%s:\n scanner %+v\n   model %+v\nlayers %v", p, c, want, built)
			}
			agreed[c.State]++
		}
	}
	if agreed[Populated] < 1000 || agreed[Empty] < 100 || agreed[Absent] < 1000 {
		t.Errorf("compared %v: too few of a kind for the check to mean much", agreed)
	}
}
