package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/volumeguard/volumeguard/internal/crirun"
	"github.com/volumeguard/volumeguard/internal/crirun/fstree"
)

// contentLayers are two layers as a builder writes them (parents of changed
// entries included): the lower one ships files under the volume paths, the
// upper one deletes some by whiteout, makes a directory opaque, replaces a
// file, and deletes a volume path and the parent of another.
func contentLayers() [][]crirun.Entry {
	lower := []crirun.Entry{
		crirun.Dir("/srv", 0o755, 0, 0),
		crirun.Dir("/srv/app", 0o750, 1000, 1001),
		crirun.File("/srv/app/config.yaml", 0o640, 1000, 1001, "key: lower\n"),
		crirun.Dir("/srv/app/bin", 0o755, 0, 0),
		crirun.File("/srv/app/bin/run.sh", 0o755, 0, 0, "#!/bin/sh\necho hi\n"),
		crirun.File("/srv/app/bin/suid", 0o4755, 0, 0, "x"),
		crirun.Symlink("/srv/app/current", "bin", 1000, 1001),
		crirun.Symlink("/srv/app/passwd", "/etc/passwd", 0, 0),
		crirun.Dir("/srv/app/empty", 0o700, 999, 998),
		crirun.Dir("/srv/app/shared", 0o2775, 1000, 1001),
		crirun.Dir("/srv/app/tmp", 0o1777, 0, 0),
		crirun.File("/srv/app/gone.txt", 0o644, 0, 0, "deleted above"),
		crirun.Dir("/srv/app/gone-dir", 0o755, 0, 0),
		crirun.File("/srv/app/gone-dir/x", 0o644, 0, 0, "deleted above"),
		crirun.Dir("/srv/app/opq", 0o755, 0, 0),
		crirun.File("/srv/app/opq/old.txt", 0o644, 0, 0, "hidden above"),
		crirun.Dir("/srv/real", 0o755, 1000, 1000),
		crirun.File("/srv/real/f", 0o644, 1000, 1000, "real"),
		crirun.Symlink("/linked", "/srv/real", 0, 0),
		crirun.Dir("/cache", 0o700, 123, 456),
		crirun.Dir("/wiped", 0o755, 0, 0),
		crirun.File("/wiped/file", 0o644, 0, 0, "deleted above"),
		crirun.Dir("/parent", 0o755, 0, 0),
		crirun.Dir("/parent/child", 0o755, 0, 0),
		crirun.File("/parent/child/file", 0o644, 0, 0, "deleted above"),
	}
	upper := []crirun.Entry{
		crirun.Dir("/srv", 0o755, 0, 0),
		crirun.Dir("/srv/app", 0o750, 1000, 1001),
		crirun.File("/srv/app/config.yaml", 0o600, 1000, 1001, "key: upper\n"),
		crirun.Whiteout("/srv/app/gone.txt"),
		crirun.Whiteout("/srv/app/gone-dir"),
		crirun.Dir("/srv/app/opq", 0o755, 0, 0),
		crirun.Opaque("/srv/app/opq"),
		crirun.File("/srv/app/opq/new.txt", 0o600, 1000, 1001, "new"),
		crirun.Whiteout("/wiped"),
		crirun.Whiteout("/parent"),
	}
	return [][]crirun.Entry{lower, upper}
}

// contentVolumes are the declared volumes and the tree containerd copies
// into each anonymous volume (fstree.List of the host directory).
func contentVolumes() map[string][]fstree.Entry {
	dir := func(p, mode string, uid, gid uint32) fstree.Entry {
		return fstree.Entry{Path: p, Type: fstree.Dir, Mode: mode, UID: uid, GID: gid}
	}
	file := func(p, mode string, uid, gid uint32, size int64) fstree.Entry {
		return fstree.Entry{Path: p, Type: fstree.File, Mode: mode, UID: uid, GID: gid, Size: size}
	}
	link := func(p, target string, uid, gid uint32) fstree.Entry {
		return fstree.Entry{Path: p, Type: fstree.Symlink, Mode: "0777", UID: uid, GID: gid, Target: target}
	}
	// A path the image does not have: the empty directory the CRI plugin
	// made for the bind mount (MkdirAll 0755), nothing copied.
	absent := []fstree.Entry{dir(".", "0755", 0, 0)}
	return map[string][]fstree.Entry{
		"/srv/app": {
			dir(".", "0750", 1000, 1001),
			dir("bin", "0755", 0, 0),
			file("bin/run.sh", "0755", 0, 0, 18),
			file("bin/suid", "4755", 0, 0, 1),
			file("config.yaml", "0600", 1000, 1001, 11),
			link("current", "bin", 1000, 1001),
			dir("empty", "0700", 999, 998),
			dir("opq", "0755", 0, 0),
			file("opq/new.txt", "0600", 1000, 1001, 3),
			link("passwd", "/etc/passwd", 0, 0),
			dir("shared", "2775", 1000, 1001),
			dir("tmp", "1777", 0, 0),
		},
		"/cache":        {dir(".", "0700", 123, 456)},
		"/linked":       {dir(".", "0755", 1000, 1000), file("f", "0644", 1000, 1000, 4)},
		"/absent":       absent,
		"/wiped":        absent,
		"/parent/child": absent,
	}
}

// testContent runs one container of an image shipping content under its
// volume paths, and compares what containerd copied into each anonymous
// volume, and what the container sees there, with contentVolumes.
func testContent(t *testing.T, rt *crirun.Runtime, pod *crirun.Pod) {
	want := contentVolumes()
	image := rt.PushImage(t, "content", crirun.Image{Layers: contentLayers(), Volumes: slices.Sorted(maps.Keys(want))})
	c, err := pod.RunContainer(t, "content", image)
	if err != nil {
		t.Fatal(err)
	}
	volumes, err := c.AnonymousVolumes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The trailing slashes follow /linked, a symlink to the directory
	// runc mounted its volume on.
	var dirs []string
	for dst := range want {
		dirs = append(dirs, dst+"/")
	}
	inside, err := c.Trees(t.Context(), dirs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range slices.Sorted(maps.Keys(want)) {
		t.Run(strings.TrimPrefix(dst, "/"), func(t *testing.T) {
			src, ok := volumes[dst]
			if !ok {
				t.Fatalf("no anonymous volume for %s: %v", dst, volumes)
			}
			onHost, err := fstree.List(src)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(onHost, want[dst]) {
				t.Errorf("containerd copied into the volume:\n%s\nwant:\n%s", listing(onHost), listing(want[dst]))
			}
			if !slices.Equal(inside[dst+"/"], onHost) {
				t.Errorf("the container sees at %s:\n%s\nthe volume holds:\n%s", dst, listing(inside[dst+"/"]), listing(onHost))
			}
		})
	}
}

// testFileAtVolumePath: containerd refuses to create a container whose image
// has a regular file where it declares a VOLUME (continuity's CopyDir wants
// a directory), and cleans up after itself.
func testFileAtVolumePath(t *testing.T, rt *crirun.Runtime, pod *crirun.Pod) {
	image := rt.PushImage(t, "file-at-volume", crirun.Image{
		Layers:  [][]crirun.Entry{{crirun.File("/afile", 0o644, 0, 0, "not a directory")}},
		Volumes: []string{"/afile"},
	})
	_, err := pod.RunContainer(t, "file-at-volume", image)
	if err == nil || !strings.Contains(err.Error(), "is not directory") {
		t.Fatalf("running an image with a file at its VOLUME path: %v, want containerd's \"source ... is not directory\"", err)
	}
	t.Logf("containerd refuses it: %v", err)
}

// listing prints entries one a line, for failure messages.
func listing(entries []fstree.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "  %s %s %s %d:%d", e.Path, e.Type, e.Mode, e.UID, e.GID)
		if e.Type == fstree.File {
			fmt.Fprintf(&b, " size %d", e.Size)
		}
		if e.Target != "" {
			fmt.Fprintf(&b, " -> %s", e.Target)
		}
		b.WriteString("\n")
	}
	return b.String()
}
