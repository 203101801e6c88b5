package crirun

import (
	"archive/tar"
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestLayerWritesEntriesAsBuildersDo(t *testing.T) {
	layer, err := Layer(
		Dir("/srv/app/", 0o2750, 1000, 1001),
		File("srv/app/config", 0o640, 1000, 1001, "key: value\n"),
		Symlink("/srv/app/current", "../releases/1", 0, 0),
		Whiteout("/srv/app/gone.txt"),
		Opaque("/srv/app/cache"),
	)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type entry struct {
		Name, Link string
		Type       byte
		Mode       int64
		UID, GID   int
		Size       int64
	}
	var got []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size})
	}
	want := []entry{
		{Name: "srv/app/", Type: tar.TypeDir, Mode: 0o2750, UID: 1000, GID: 1001},
		{Name: "srv/app/config", Type: tar.TypeReg, Mode: 0o640, UID: 1000, GID: 1001, Size: 11},
		{Name: "srv/app/current", Link: "../releases/1", Type: tar.TypeSymlink, Mode: 0o777},
		{Name: "srv/app/.wh.gone.txt", Type: tar.TypeReg, Mode: 0o644},
		{Name: "srv/app/cache/.wh..wh..opq", Type: tar.TypeReg, Mode: 0o644},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer holds\n%+v\nwant\n%+v", got, want)
	}
}

func TestLayerRejects(t *testing.T) {
	for name, e := range map[string]Entry{
		"the image root":         Dir("/", 0o755, 0, 0),
		"content on a directory": {Path: "/d", Kind: KindDir, Content: "x"},
		"an unknown kind":        {Path: "/x", Kind: Kind(42)},
		"a root after cleaning":  Dir("/a/..", 0o755, 0, 0),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Layer(e); err == nil {
				t.Errorf("Layer(%+v) = nil error", e)
			}
		})
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/plain`:            "/tmp/plain",
		`/tmp/with\040space`:    "/tmp/with space",
		`/tmp/tab\011and\134bs`: "/tmp/tab\tand\\bs",
		`/tmp/trailing\`:        `/tmp/trailing\`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
