package policy

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// scanned is single with what the image ships at each path.
func scanned(digest string, content map[string]Content) ImageFacts {
	facts := ImageFacts{Digest: digest, Platforms: []PlatformVolumes{{Platform: amd64, Content: content}}}
	for p := range content {
		facts.Platforms[0].Volumes = append(facts.Platforms[0].Volumes, p)
	}
	return facts
}

var (
	populated = Content{State: ContentPopulated, Entries: 3, Bytes: 1126, UID: 1000, GID: 1000, Mode: 0o755, Kind: KindDirectory}
	emptyDir  = Content{State: ContentEmpty, UID: 123, GID: 456, Mode: 0o700, Kind: KindDirectory}
	absent    = Content{State: ContentAbsent}
	unknown   = Content{State: ContentUnknown, Reason: "the byte budget ran out"}
)

func TestContentSummary(t *testing.T) {
	tests := []struct {
		content Content
		want    string
	}{
		{populated, "ships 3 files, 1.1 KiB"},
		{Content{State: ContentPopulated, Entries: 1, Bytes: 11}, "ships 1 file, 11 B"},
		{Content{State: ContentPopulated, Entries: 120000, Bytes: 5 << 30}, "ships 120000 files, 5.0 GiB"},
		{emptyDir, "ships an empty directory there (mode 0700, owner 123:456)"},
		{absent, "ships nothing there"},
		{unknown, "ships something not known yet"},
		{Content{State: ContentPopulated, Kind: KindFile, Bytes: 4}, "has a regular file there, not a directory"},
		{Content{State: ContentPopulated, Kind: KindOther}, "has a device, fifo or socket there, not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.content.Summary(); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1126: "1.1 KiB", 10 << 20: "10.0 MiB", 1 << 62: "4.0 EiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestContentJSONIsTheContract: state, entries, bytes, and uid, gid and an
// octal mode only when the path exists.
func TestContentJSONIsTheContract(t *testing.T) {
	tests := []struct {
		content Content
		want    string
	}{
		{Content{State: ContentPopulated, Entries: 3, Bytes: 1126, UID: 1000, GID: 1001, Mode: 0o2750, Kind: KindDirectory},
			`{"state":"populated","entries":3,"bytes":1126,"uid":1000,"gid":1001,"mode":"2750"}`},
		{emptyDir, `{"state":"empty","entries":0,"bytes":0,"uid":123,"gid":456,"mode":"0700"}`},
		{absent, `{"state":"absent","entries":0,"bytes":0}`},
		{unknown, `{"state":"unknown","entries":0,"bytes":0,"reason":"the byte budget ran out"}`},
		{Content{State: ContentPopulated, Kind: KindFile, Bytes: 4, Mode: 0o644}, `{"state":"populated","entries":0,"bytes":4,"uid":0,"gid":0,"mode":"0644","kind":"file"}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.content.State), func(t *testing.T) {
			got, err := json.Marshal(&tt.content)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFindingsCarryContent(t *testing.T) {
	bigger := populated
	bigger.Entries, bigger.Bytes = 9, 9000
	file := Content{State: ContentPopulated, Kind: KindFile, Bytes: 4}
	platforms := func(cs ...map[string]Content) ImageFacts {
		var facts ImageFacts
		for i, c := range cs {
			p := Platform{OS: "linux", Architecture: []string{"amd64", "arm64", "s390x"}[i]}
			facts.Platforms = append(facts.Platforms, PlatformVolumes{Platform: p, Volumes: []string{"/data/"}, Content: c})
		}
		return facts
	}
	tests := []struct {
		name  string
		facts ImageFacts
		want  *Content
	}{
		{"not scanned", single("sha256:a", "/data"), nil},
		{"by the declared key", platforms(map[string]Content{"/data/": populated}), &populated},
		{"by the clean key volumecontent gives", platforms(map[string]Content{"/data": emptyDir}), &emptyDir},
		{"missing from a scanned platform", platforms(map[string]Content{}), &Content{State: ContentUnknown, Reason: "the scan gave no answer for this path"}},
		{"populated on any platform wins", platforms(map[string]Content{"/data": absent}, map[string]Content{"/data": populated}, map[string]Content{"/data": unknown}), &populated},
		{"the platform shipping most", platforms(map[string]Content{"/data": populated}, map[string]Content{"/data": bigger}), &bigger},
		{"a file anywhere wins", platforms(map[string]Content{"/data": bigger}, map[string]Content{"/data": file}), &file},
		{"unknown if none is populated", platforms(map[string]Content{"/data": emptyDir}, map[string]Content{"/data": unknown}), &unknown},
		{"empty over absent", platforms(map[string]Content{"/data": absent}, map[string]Content{"/data": emptyDir}), &emptyDir},
		{"an unscanned platform is unknown", platforms(map[string]Content{"/data": emptyDir}, nil), &Content{State: ContentUnknown, Reason: "some platforms of the image were not scanned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Containers: []corev1.Container{container("app", "img")}}
			fs := Findings(spec, map[string]ImageFacts{"img": tt.facts})
			if len(fs) != 1 {
				t.Fatalf("findings = %q, want one", keys(fs))
			}
			if !reflect.DeepEqual(fs[0].Content, tt.want) {
				t.Errorf("Content = %+v, want %+v", fs[0].Content, tt.want)
			}
		})
	}
}
