package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// configWithVolumes is an image config declaring n volumes /v0, /v1, ...
func configWithVolumes(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"architecture":"amd64","os":"linux","config":{"Volumes":{`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"/v%d":{}`, k)
	}
	b.WriteString(`}},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return []byte(b.String())
}

func TestParseConfig(t *testing.T) {
	long := "/" + strings.Repeat("a", maxVolumePathBytes)
	for _, tc := range []struct {
		name  string
		raw   string
		limit int
		want  []string
		err   string // a limitError saying this; "" none
	}{
		{name: "volumes sorted, as declared", raw: `{"os":"linux","config":{"Volumes":{"/b":{},"data":{},"/a/":{}}}}`, limit: 256, want: []string{"/a/", "/b", "data"}},
		{name: "no volumes", raw: `{"os":"linux","config":{}}`, limit: 256, want: nil},
		{name: "null volumes", raw: `{"os":"linux","config":{"Volumes":null}}`, limit: 256, want: nil},
		{name: "a repeated key is one volume", raw: `{"config":{"Volumes":{"/a":{},"/a":{}}}}`, limit: 256, want: []string{"/a"}},
		{name: "Volumes repeated: both are read", raw: `{"config":{"Volumes":{"/a":{}},"Volumes":{"/b":{}}}}`, limit: 256, want: []string{"/a", "/b"}},
		{name: "strings with commas and braces count once", raw: `{"config":{"Volumes":{"/a,{[\"":{},"/b":{"x":[1,2]}}}}`, limit: 2, want: []string{"/a,{[\"", "/b"}},
		{name: "at the limit", raw: string(configWithVolumes(3)), limit: 3, want: []string{"/v0", "/v1", "/v2"}},
		{name: "over the limit", raw: string(configWithVolumes(4)), limit: 3, err: "config declares 4 VOLUMEs, over the limit of 3"},
		{name: "Volumes repeated over the limit", raw: `{"config":{"Volumes":{"/a":{},"/b":{}},"Volumes":{"/c":{}}}}`, limit: 2, err: "config declares 3 VOLUMEs, over the limit of 2"},
		{name: "a path of PATH_MAX", raw: `{"config":{"Volumes":{"` + long[:maxVolumePathBytes] + `":{}}}}`, limit: 256, want: []string{long[:maxVolumePathBytes]}},
		{name: "a path over PATH_MAX", raw: `{"config":{"Volumes":{"` + long + `":{}}}}`, limit: 256, err: "config declares a VOLUME path of 4097 bytes, over the limit of 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := parseConfig([]byte(tc.raw), tc.limit)
			if tc.err != "" {
				assertErr(t, err, ErrTooLarge, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(info.volumes, tc.want) {
				t.Errorf("volumes = %q, want %q", info.volumes, tc.want)
			}
			if tc.want == nil && len(info.volumes) != 0 {
				t.Errorf("volumes = %q, want none", info.volumes)
			}
		})
	}
	t.Run("platform", func(t *testing.T) {
		info, err := parseConfig([]byte(`{"os":"linux","architecture":"arm64","variant":"v8"}`), 256)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Platform{"linux", "arm64", "v8"}); info.platform != want {
			t.Errorf("platform = %v, want %v", info.platform, want)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		_, err := parseConfig([]byte(`{"config":`), 256)
		if err == nil || !strings.Contains(err.Error(), "parsing config") || errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want a parse error", err)
		}
	})
}

// The config of the issue: 100,000 VOLUMEs in 1.4 MB, under the 4 MiB cap.
// Refusing it must not cost memory growing with what it declares: decoded
// into a map it would take tens of MB.
func TestParseConfigOfManyVolumesCostsBoundedMemory(t *testing.T) {
	raw := configWithVolumes(100_000)
	if len(raw) > defaultMaxConfigBytes {
		t.Fatalf("test config is %d bytes, over the config cap: it would not reach parsing", len(raw))
	}
	_, err := parseConfig(raw, defaultMaxVolumes)
	assertErr(t, err, ErrTooLarge, "config declares 100000 VOLUMEs, over the limit of 256")

	allocs := testing.AllocsPerRun(20, func() { _, _ = parseConfig(raw, defaultMaxVolumes) })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		_, _ = parseConfig(raw, defaultMaxVolumes)
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("refusing a %d byte config of 100,000 volumes: %.0f allocations, %d bytes", len(raw), allocs, perRun)
	// Generous bounds: what matters is not growing with the 100,000.
	if allocs > 100 {
		t.Errorf("%.0f allocations per parse, want at most 100", allocs)
	}
	if perRun > 64<<10 {
		t.Errorf("%d bytes allocated per parse, want at most 64 KiB", perRun)
	}
}

func TestCountElements(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int
	}{
		{`{}`, 0},
		{` { } `, 0},
		{`[]`, 0},
		{`null`, 0},
		{`{"a":{}}`, 1},
		{`{"a":{},"b":{}}`, 2},
		{`[1, 2 ,3]`, 3},
		{`{"a,b":{"c":[1,2,{"d":","}]},"e\"f,":1}`, 2},
		{`["\\",","]`, 2},
		{`[[],[[]],{}]`, 3},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			if got := countElements([]byte(tc.raw)); got != tc.want {
				t.Errorf("countElements(%s) = %d, want %d", tc.raw, got, tc.want)
			}
		})
	}
}

func TestInspectRefusesTooManyVolumes(t *testing.T) {
	host := startRegistry(t, nil)
	var many []string
	for k := range 300 {
		many = append(many, fmt.Sprintf("/v%d", k))
	}
	pushImage(t, host, "many:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: many})

	for _, tc := range []struct {
		name string
		opts []Option
		err  string // "" succeeds
	}{
		{name: "default limit", err: "config declares 300 VOLUMEs, over the limit of 256"},
		{name: "WithMaxVolumes lower", opts: []Option{WithMaxVolumes(10)}, err: "over the limit of 10"},
		{name: "WithMaxVolumes raised", opts: []Option{WithMaxVolumes(300)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := newTestInspector(t, tc.opts...).Inspect(context.Background(), host+"/many:1", nil)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(img.Platforms[0].Volumes); n != 300 {
					t.Errorf("%d volumes, want 300", n)
				}
				return
			}
			assertErr(t, err, ErrTooLarge, tc.err, host+"/many:1", "reading config")
			if r := Reason(err); r != "too_large" {
				t.Errorf("Reason = %q, want too_large", r)
			}
		})
	}
}
