package volumecontent

import (
	"reflect"
	"testing"
)

func TestIndexFindsNamesAndWhatLiesBeneath(t *testing.T) {
	x := &layerIndex{}
	for _, n := range []string{"data", "data-old", "data/a", "data/a/b", "data.x", "data0", "dat", "data/z"} {
		x.entries = append(x.entries, entry{name: n})
	}
	x.entries = append(x.entries, entry{name: "data", kind: kindWhiteout}, entry{name: "data", kind: kindFile})
	x.finish()
	names := func(es []entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.name)
		}
		return out
	}
	if got, want := names(x.beneath("data")), []string{"data/a", "data/a/b", "data/z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("beneath(data) = %q, want %q", got, want)
	}
	if got := len(x.beneath("")); got != 9 {
		t.Errorf("beneath the root: %d entries, want 9", got)
	}
	at := x.at("data")
	if len(at) != 2 || at[0].kind != kindFile || at[1].kind != kindWhiteout {
		t.Errorf("at(data) = %+v, want the last real entry (a file) and the whiteout", at)
	}
}

func TestFollowResolvesLinksInsideTheRoot(t *testing.T) {
	cases := []struct {
		path, linkAt, target string
		want                 string
		wantErr              bool
	}{
		{"data", "data", "/srv/data", "srv/data", false},
		{"var/run/app", "var/run", "../run", "run/app", false},
		{"var/run/app", "var/run", "/run/", "run/app", false},
		{"a/b", "a", "./c/./d", "c/d/b", false},
		{"data", "data", "../../../..", "", false},
		{"data", "data", "x/../y", "", true},
		{"data", "data", "", "", true},
	}
	for _, tc := range cases {
		got, err := follow(tc.path, tc.linkAt, tc.target)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("follow(%q, %q -> %q) = %q, %v; want %q, error %v", tc.path, tc.linkAt, tc.target, got, err, tc.want, tc.wantErr)
		}
	}
}
