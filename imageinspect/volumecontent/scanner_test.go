package volumecontent

import (
	"testing"
)

func TestScanFollowsTheUnionOfLayers(t *testing.T) {
	lib := []tarEntry{dir("var/", 0o755, 0, 0), dir("var/lib/", 0o755, 0, 0)}
	cases := []struct {
		name   string
		layers [][]tarEntry // base first
		path   string
		want   Content
		// unopened lists layers (index, base first) the walk must not
		// need: a layer above decided.
		unopened []int
	}{
		{
			name: "files under the path",
			layers: [][]tarEntry{{dir("data/", 0o750, 999, 998), file("data/a", 10), dir("data/sub/", 0o755, 999, 998),
				file("data/sub/b", 20), symlink("data/l", "a")}},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 4, Bytes: 30, UID: 999, GID: 998, Mode: 0o750},
		},
		{
			name:   "./ prefixes and absolute names",
			layers: [][]tarEntry{{dir("./data/", 0o700, 1, 2), file("./data/a", 5), file("/data/b", 6)}},
			path:   "data/",
			want:   Content{State: Populated, Kind: KindDirectory, Entries: 2, Bytes: 11, UID: 1, GID: 2, Mode: 0o700},
		},
		{
			name:   "an empty directory keeps its owner and mode",
			layers: [][]tarEntry{append(lib, dir("var/lib/postgresql/", 0o1770, 70, 71), file("var/lib/other", 3))},
			path:   "/var/lib/postgresql",
			want:   Content{State: Empty, Kind: KindDirectory, UID: 70, GID: 71, Mode: 0o1770},
		},
		{
			name:   "no such path",
			layers: [][]tarEntry{append(lib, file("var/lib/x", 1))},
			path:   "/var/lib/mysql",
			want:   Content{State: Absent},
		},
		{
			name:   "a directory only implied by what lies beneath it",
			layers: [][]tarEntry{{file("srv/app/a", 7)}},
			path:   "/srv/app",
			want:   Content{State: Populated, Kind: KindDirectory, Implicit: true, Entries: 1, Bytes: 7, Mode: 0o755},
		},
		{
			name: "an entry in two layers counts once, the upper one's size",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/a", 10), file("data/b", 20)},
				{dir("data/", 0o700, 5, 5), file("data/a", 1), file("data/c", 2)},
			},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 3, Bytes: 23, UID: 5, GID: 5, Mode: 0o700},
		},
		{
			name: "files deleted by whiteouts",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/a", 10), file("data/b", 20), dir("data/sub/", 0o755, 0, 0), file("data/sub/x", 4)},
				{whiteout("data/a"), whiteout("data/sub")},
			},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 20, Mode: 0o755},
		},
		{
			name: "every file whited out leaves an empty directory",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/a", 10)},
				{whiteout("data/a")},
			},
			path: "/data",
			want: Content{State: Empty, Kind: KindDirectory, Mode: 0o755},
		},
		{
			name: "the path whited out",
			layers: [][]tarEntry{
				{dir("base/", 0o755, 0, 0)},
				{dir("data/", 0o755, 0, 0), file("data/a", 10)},
				{whiteout("data")},
			},
			path:     "/data",
			want:     Content{State: Absent},
			unopened: []int{0, 1},
		},
		{
			name: "whited out and made again above",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/a", 10)},
				{whiteout("data"), dir("data/", 0o700, 3, 3), file("data/b", 1)},
			},
			path:     "/data",
			want:     Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 1, UID: 3, GID: 3, Mode: 0o700},
			unopened: []int{0},
		},
		{
			name: "an opaque directory hides the layers below",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/old", 100)},
				{dir("data/", 0o755, 0, 0), file("data/a", 10), file("data/b", 20)},
				{dir("data/", 0o2775, 1000, 1000), opaque("data/"), file("data/c", 1)},
			},
			path:     "/data",
			want:     Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 1, UID: 1000, GID: 1000, Mode: 0o2775},
			unopened: []int{0, 1},
		},
		{
			name: "an opaque marker without its directory's entry takes the directory from below",
			layers: [][]tarEntry{
				{dir("data/", 0o711, 4, 4), file("data/old", 100)},
				{opaque("data/")},
			},
			path: "/data",
			want: Content{State: Empty, Kind: KindDirectory, UID: 4, GID: 4, Mode: 0o711},
		},
		{
			name: "an opaque subdirectory",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), dir("data/sub/", 0o755, 0, 0), file("data/sub/old", 9), file("data/keep", 1)},
				{dir("data/sub/", 0o755, 0, 0), opaque("data/sub/"), file("data/sub/new", 2)},
			},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 3, Bytes: 3, Mode: 0o755},
		},
		{
			name: "a parent deleted",
			layers: [][]tarEntry{
				append(lib, dir("var/lib/mysql/", 0o755, 0, 0), file("var/lib/mysql/ibdata", 10)),
				{whiteout("var/lib")},
			},
			path:     "/var/lib/mysql",
			want:     Content{State: Absent},
			unopened: []int{0},
		},
		{
			name: "a parent made opaque",
			layers: [][]tarEntry{
				append(lib, dir("var/lib/mysql/", 0o755, 0, 0), file("var/lib/mysql/ibdata", 10)),
				{dir("var/", 0o755, 0, 0), opaque("var/"), dir("var/log/", 0o755, 0, 0)},
			},
			path:     "/var/lib/mysql",
			want:     Content{State: Absent},
			unopened: []int{0},
		},
		{
			name: "a parent replaced by a file",
			layers: [][]tarEntry{
				append(lib, dir("var/lib/mysql/", 0o755, 0, 0), file("var/lib/mysql/ibdata", 10)),
				{file("var/lib", 3)},
			},
			path:     "/var/lib/mysql",
			want:     Content{State: Absent},
			unopened: []int{0},
		},
		{
			name: "the path replaced by a file",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/a", 10)},
				{file("data", 42)},
			},
			path:     "/data",
			want:     Content{State: Populated, Kind: KindFile, Bytes: 42, Mode: 0o644},
			unopened: []int{0},
		},
		{
			name:   "a fifo at the path",
			layers: [][]tarEntry{{fifo("data")}},
			path:   "/data",
			want:   Content{State: Populated, Kind: KindOther, Mode: 0o600},
		},
		{
			name: "a directory replacing a file keeps nothing from below it",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), file("data/old", 10)},
				{file("data", 1)},
				{dir("data/", 0o755, 0, 0), file("data/new", 2)},
			},
			path:     "/data",
			want:     Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 2, Mode: 0o755},
			unopened: []int{0},
		},
		{
			name: "a subdirectory replaced by a file",
			layers: [][]tarEntry{
				{dir("data/", 0o755, 0, 0), dir("data/sub/", 0o755, 0, 0), file("data/sub/x", 10), file("data/y", 1)},
				{file("data/sub", 5)},
			},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 2, Bytes: 6, Mode: 0o755},
		},
		{
			name: "links beneath the path are entries, hard links of 0 bytes",
			layers: [][]tarEntry{{dir("data/", 0o755, 0, 0), file("data/a", 8), hardlink("data/b", "data/a"),
				symlink("data/c", "/etc/passwd")}},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 3, Bytes: 8, Mode: 0o755},
		},
		{
			name: "the path a symbolic link to a directory",
			layers: [][]tarEntry{
				{dir("srv/", 0o755, 0, 0), dir("srv/data/", 0o700, 8, 8), file("srv/data/a", 3)},
				{symlink("data", "/srv/data")},
			},
			path: "/data",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 3, UID: 8, GID: 8, Mode: 0o700,
				LinkTarget: "/srv/data", ResolvedPath: "/srv/data"},
		},
		{
			name: "a parent a relative symbolic link",
			layers: [][]tarEntry{{dir("var/", 0o755, 0, 0), symlink("var/run", "../run"), dir("run/", 0o755, 0, 0),
				dir("run/app/", 0o750, 2, 2), file("run/app/pid", 1)}},
			path: "/var/run/app",
			want: Content{State: Populated, Kind: KindDirectory, Entries: 1, Bytes: 1, UID: 2, GID: 2, Mode: 0o750,
				ResolvedPath: "/run/app"},
		},
		{
			name:   "a symbolic link that climbs out of the root stays in it",
			layers: [][]tarEntry{{symlink("data", "../../../srv"), dir("srv/", 0o755, 0, 0)}},
			path:   "/data",
			want:   Content{State: Empty, Kind: KindDirectory, Mode: 0o755, LinkTarget: "../../../srv", ResolvedPath: "/srv"},
		},
		{
			name:   "a dangling symbolic link",
			layers: [][]tarEntry{{symlink("data", "/nowhere")}},
			path:   "/data",
			want:   Content{State: Absent, LinkTarget: "/nowhere", ResolvedPath: "/nowhere"},
		},
		{
			name:   "a hard link at the path is the file it links to",
			layers: [][]tarEntry{{file("a", 9), hardlink("data", "a")}},
			path:   "/data",
			want:   Content{State: Populated, Kind: KindFile, Bytes: 9, Mode: 0o644},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ls []*memLayer
			for _, entries := range tc.layers {
				ls = append(ls, layer(t, entries...))
			}
			got := scanOne(t, NewScanner(), layers(ls...), tc.path)
			tc.want.Path = "/" + trimSlashes(tc.path)
			if got != tc.want {
				t.Errorf("Scan(%q):\n got %+v\nwant %+v", tc.path, got, tc.want)
			}
			for _, i := range tc.unopened {
				if n := ls[i].opens.Load(); n != 0 {
					t.Errorf("layer %d opened %d times; the layers above decide", i, n)
				}
			}
		})
	}
}

func trimSlashes(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
