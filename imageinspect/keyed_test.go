package imageinspect

import (
	"fmt"
	"testing"
)

func TestKeyedBound(t *testing.T) {
	type state struct{ n int }
	made := 0
	k := newKeyed(2, func() *state { made++; return &state{n: made} })

	tests := []struct {
		name     string
		do       func()
		wantLen  int
		wantMade int
	}{
		{name: "idle keys beyond the bound are dropped, least recently used first", do: func() {
			for _, key := range []string{"a", "b", "c", "d"} {
				_, release := k.hold(key)
				release()
			}
		}, wantLen: 2, wantMade: 4},
		{name: "the most recent ones stay", do: func() {
			for _, key := range []string{"c", "d"} {
				_, release := k.hold(key)
				release()
			}
		}, wantLen: 2, wantMade: 4},
		{name: "keys in use are never dropped, even beyond the bound", do: func() {
			held, release := k.hold("held")
			defer release()
			for i := range 5 {
				_, r := k.hold(fmt.Sprint("flood", i))
				r()
			}
			if again, r := k.hold("held"); again != held {
				t.Error("a key in use got fresh state")
			} else {
				r()
			}
		}, wantLen: 2, wantMade: 10},
		{name: "releasing twice counts once", do: func() {
			_, release := k.hold("x")
			release()
			release()
			s, r := k.hold("x")
			r()
			if s.n != made {
				t.Error("x was dropped and made again")
			}
		}, wantLen: 2, wantMade: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if k.len() != tt.wantLen || made != tt.wantMade {
				t.Errorf("%d keys, %d made; want %d and %d", k.len(), made, tt.wantLen, tt.wantMade)
			}
		})
	}
}
