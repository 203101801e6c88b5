package volumecontent

import (
	"math/rand"
	"testing"
)

// TestScanAgreesWithTheModel runs FuzzScanAgainstModel's check over
// pseudo-random layer programs (a fixed seed): every answer the scanner is
// sure of matches the model's bottom-up application of the layers.
func TestScanAgreesWithTheModel(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	agreed := map[State]int{}
	for range 3000 {
		program := make([]byte, 4+rng.Intn(40))
		for i := range program {
			program[i] = byte(rng.Intn(16))
			if rng.Intn(12) == 0 {
				program[i] = 0xff // next layer
			}
		}
		for state, n := range compareWithModel(t, buildLayers(program)) {
			agreed[state] += n
		}
	}
	if agreed[Populated] < 1000 || agreed[Empty] < 100 || agreed[Absent] < 1000 {
		t.Errorf("compared %v: too few of a kind for the check to mean much", agreed)
	}
}
