package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDenialLinesShowFixYAMLOnce(t *testing.T) {
	denial := strings.Join([]string{
		"volumeguard (mode enforce) denies this pod:",
		`- container "zk" declares VOLUME /data and no volumeMount of this container covers it`,
		"fix: cover each path with an emptyDir that has a sizeLimit, in the pod spec:",
		"  volumes:",
		"  - name: vg-zk-data",
		"    emptyDir:",
		"      sizeLimit: 1Gi",
	}, "\n")
	p := &printer{}
	first := p.denialLines(denial)
	if got := strings.Join(first, "\n"); got != denial {
		t.Errorf("first denial:\n%s\nwant it in full", got)
	}
	second := p.denialLines(denial)
	want := []string{
		"volumeguard (mode enforce) denies this pod:",
		`- container "zk" declares VOLUME /data and no volumeMount of this container covers it`,
		"fix: cover each path with an emptyDir that has a sizeLimit, in the pod spec (4 lines of YAML, left out here)",
	}
	if strings.Join(second, "\n") != strings.Join(want, "\n") {
		t.Errorf("second denial:\n%s\nwant:\n%s", strings.Join(second, "\n"), strings.Join(want, "\n"))
	}
	// A denial without YAML (an image that cannot be read) is printed as is.
	plain := "volumeguard (mode enforce) denies this pod:\n- could not check image \"x\"\n  fix: make the image readable and retry"
	if got := strings.Join(p.denialLines(plain), "\n"); got != plain {
		t.Errorf("denial without YAML:\n%s", got)
	}
}

func TestWrapped(t *testing.T) {
	var out bytes.Buffer
	p := &printer{out: &out, width: 50}
	p.wrapped("  ! ", "    ", strings.Repeat("word ", 15)+"end", "")
	want := "  ! word word word word word word word word word\n" +
		"    word word word word word word end\n"
	if out.String() != want {
		t.Errorf("wrapped:\n%q\nwant:\n%q", out.String(), want)
	}
}

func TestResultCell(t *testing.T) {
	for _, tc := range []struct {
		r    result
		want string
	}{
		{result{}, "admitted"},
		{result{warnings: []string{"a"}}, "1 warning"},
		{result{warnings: []string{"a", "b"}, added: make([]addedVolume, 2)}, "+2 emptyDirs"},
		{result{warnings: []string{"a"}, denial: "no"}, "denied"},
	} {
		if got := tc.r.cell(); got != tc.want {
			t.Errorf("cell of %+v = %q, want %q", tc.r, got, tc.want)
		}
	}
}
