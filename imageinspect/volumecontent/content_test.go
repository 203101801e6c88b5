package volumecontent

import (
	"encoding/json"
	"testing"
)

func TestContentJSONIsTheContract(t *testing.T) {
	cases := []struct {
		name string
		c    Content
		want string
	}{
		{
			name: "a populated directory",
			c:    Content{Path: "/data", State: Populated, Kind: KindDirectory, Entries: 3, Bytes: 1126, UID: 999, GID: 0, Mode: 0o750},
			want: `{"state":"populated","entries":3,"bytes":1126,"uid":999,"gid":0,"mode":"0750","kind":"directory"}`,
		},
		{
			name: "setuid, setgid and sticky bits",
			c:    Content{Path: "/tmp", State: Empty, Kind: KindDirectory, Mode: 0o1777},
			want: `{"state":"empty","entries":0,"bytes":0,"uid":0,"gid":0,"mode":"1777","kind":"directory"}`,
		},
		{
			name: "absent: no owner or mode",
			c:    Content{Path: "/data", State: Absent},
			want: `{"state":"absent","entries":0,"bytes":0}`,
		},
		{
			name: "unknown says why",
			c:    Content{Path: "/data", State: Unknown, Reason: "byte budget exhausted"},
			want: `{"state":"unknown","entries":0,"bytes":0,"reason":"byte budget exhausted"}`,
		},
		{
			name: "through a link",
			c: Content{Path: "/data", State: Empty, Kind: KindDirectory, Mode: 0o755, LinkTarget: "/srv/data",
				ResolvedPath: "/srv/data"},
			want: `{"state":"empty","entries":0,"bytes":0,"uid":0,"gid":0,"mode":"0755","kind":"directory",` +
				`"linkTarget":"/srv/data","resolvedPath":"/srv/data"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("json:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
