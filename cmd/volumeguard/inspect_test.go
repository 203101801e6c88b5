package main

import (
	"bytes"
	"testing"
)

func TestWriteInspectTextQuotesImageStrings(t *testing.T) {
	var out bytes.Buffer
	img := inspected{Reference: "localhost:5000/app:1", Digest: "sha256:abc", Platforms: []inspectedPlatform{
		{Platform: "linux/amd64", Volumes: []string{"/data", "/my data", "/x\n\x1b[2Jlinux/arm64 (no VOLUME)"}},
		{Platform: "linux/arm\x1b[0m", Volumes: nil},
	}}
	if err := writeInspectText(streams{out: &out}, img); err != nil {
		t.Fatal(err)
	}
	want := "localhost:5000/app:1\ndigest: sha256:abc\n" +
		`linux/amd64      /data "/my data" "/x\n\x1b[2Jlinux/arm64 (no VOLUME)"` + "\n" +
		`"linux/arm\x1b[0m" (no VOLUME)` + "\n"
	if out.String() != want {
		t.Errorf("inspect text =\n%s\nwant\n%s", out.String(), want)
	}
}
