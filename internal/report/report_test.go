package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name    string
		summary Summary
		want    int
	}{
		{"nothing", Summary{}, ExitClean},
		{"notes alone", Summary{Notes: []string{"nothing to check"}}, ExitClean},
		{"findings", Summary{Findings: 1}, ExitFindings},
		{"problems", Summary{Problems: 1}, ExitUnchecked},
		{"problems win over findings: a finding may hide there", Summary{Findings: 1, Problems: 1}, ExitUnchecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.summary.ExitCode(); got != tt.want {
				t.Errorf("ExitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSubjectString(t *testing.T) {
	tests := []struct {
		s    Subject
		want string
	}{
		{Subject{File: "deploy.yaml", Kind: "Deployment", Namespace: "default", Name: "zk"}, "deploy.yaml: Deployment default/zk"},
		{Subject{File: "pod.yaml", Kind: "Pod", Name: "web"}, "pod.yaml: Pod web"},
		{Subject{Kind: "StatefulSet", Namespace: "data", Name: "zk"}, "StatefulSet data/zk"},
		{Subject{File: "deploy.yaml", Kind: "Deployment", Namespace: "default", Name: "zk", Line: 14, Column: 16}, "deploy.yaml:14:16: Deployment default/zk"},
		{Subject{File: "-", Kind: "Pod", Name: "web", Line: 3, Column: 9}, "<stdin>:3:9: Pod web"},
		{Subject{File: "-", Kind: "Pod", Name: "web"}, "<stdin>: Pod web"},
		{Subject{File: "out.yaml", Kind: "Pod", Name: "web", Line: 3, Column: 9, Template: "web/templates/pod.yaml"}, "out.yaml:3:9: Pod web (from web/templates/pod.yaml)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// row and problemRow are a command's rows: their own fields, then the
// shared ones.
type row struct {
	Where string `json:"where"`
	Finding
	Extra int `json:"extra"`
}

func (r row) Subject() Subject { return Subject{File: r.Where} }

type problemRow struct {
	Where string `json:"where"`
	Problem
}

func (p problemRow) Subject() Subject { return Subject{File: p.Where} }

// TestJSONWriterWritesWhatTheEncoderWould: the streamed document is, byte
// for byte, the one json.Encoder writes for the whole report, with each
// command's fields where its row type puts them.
func TestJSONWriterWritesWhatTheEncoderWould(t *testing.T) {
	f := func(where, path string) row {
		return row{Where: where, Finding: NewFinding(policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "zk:1", Digest: "sha256:a", Path: path,
			Platforms: []policy.Platform{{OS: "linux", Architecture: "arm64"}}}), Extra: 3}
	}
	p := problemRow{Where: "<a&b>", Problem: Problem{Kind: "Pod", Name: "p", Image: "i", Message: "m <html>"}}
	tests := []struct {
		name     string
		objects  [][]row
		problems []problemRow
	}{
		{name: "empty"},
		{name: "findings of two objects", objects: [][]row{{f("a", "/data"), f("a", "/logs")}, {f("b", "data")}}},
		{name: "problems only", problems: []problemRow{p, p}},
		{name: "both", objects: [][]row{{f("a", "/data")}}, problems: []problemRow{p}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			w := NewJSONWriter[row, problemRow](&got)
			whole := struct {
				Findings []row        `json:"findings"`
				Errors   []problemRow `json:"errors"`
			}{Findings: []row{}, Errors: []problemRow{}}
			for _, obj := range tt.objects {
				if err := w.WriteObject(obj); err != nil {
					t.Fatal(err)
				}
				whole.Findings = append(whole.Findings, obj...)
			}
			for _, p := range tt.problems {
				w.AddProblem(p)
				whole.Errors = append(whole.Errors, p)
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(whole); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("streamed JSON differs\n got: %s\nwant: %s", got.String(), want.String())
			}
			if len(tt.objects) > 0 && !strings.Contains(got.String(), `"where": "a",`+"\n      \"container\": \"zk\"") {
				t.Errorf("the command's own field does not come first:\n%s", got.String())
			}
		})
	}
}

func TestWriteContainer(t *testing.T) {
	finding := func(path string, relative bool) Finding {
		return NewFinding(policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "zk:1", Digest: "sha256:z", Path: path, Relative: relative})
	}
	tests := []struct {
		name string
		c    Container
		want []string
		not  []string
	}{
		{
			name: "fixable paths share one fragment",
			c:    Container{Findings: []Finding{finding("/data", false), finding("/logs", false)}, FixIn: "pod spec", SizeLimit: resource.MustParse("2Gi")},
			want: []string{
				`  container "zk", image zk:1 @ sha256:z` + "\n",
				"    VOLUME /data: no volumeMount of this container covers it\n    VOLUME /logs:",
				"    fix: cover each path with an emptyDir that has a sizeLimit, in the pod spec:\n      volumes:\n",
				"sizeLimit: 2Gi", "mountPath: /logs",
			},
		},
		{
			name: "where the container and each path are",
			c: Container{Findings: []Finding{finding("/data", false), finding("data", true)}, FixIn: "pod template", SizeLimit: resource.MustParse("1Gi"),
				Where: "3 pods on node-1", PathWhere: []string{"1 pod on node-1", "2 pods on node-1"}},
			want: []string{
				`image zk:1 @ sha256:z: 3 pods on node-1` + "\n",
				"VOLUME /data: no volumeMount of this container covers it (1 pod on node-1)\n",
				"VOLUME data: a relative path, no volumeMount can cover it (2 pods on node-1)\n      fix: rebuild image",
				"in the pod template:",
			},
		},
		{
			name: "nothing fixable: no fragment",
			c:    Container{Findings: []Finding{finding("data", true)}, FixIn: "pod spec"},
			not:  []string{"volumes:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			WriteContainer(&b, tt.c)
			for _, want := range tt.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("text lacks %q:\n%s", want, b.String())
				}
			}
			for _, not := range tt.not {
				if strings.Contains(b.String(), not) {
					t.Errorf("text has %q:\n%s", not, b.String())
				}
			}
		})
	}
}

func TestFindingCarriesContentAndNearMounts(t *testing.T) {
	pg := policy.Finding{Container: "db", ContainerType: policy.Container, Image: "postgres:18", Path: "/var/lib/postgresql",
		Content:    &policy.Content{State: policy.ContentPopulated, Entries: 3, Bytes: 1126, UID: 999, GID: 999, Mode: 0o750},
		NearMounts: []string{"/var/lib/postgresql/data"}}
	tests := []struct {
		name     string
		finding  policy.Finding
		wantJSON string // in the row's JSON
		wantText []string
		notText  []string
	}{
		{name: "populated near miss", finding: pg,
			wantJSON: `"content":{"state":"populated","entries":3,"bytes":1126,"uid":999,"gid":999,"mode":"0750"},"nearMounts":["/var/lib/postgresql/data"]`,
			wantText: []string{"the image ships 3 files, 1.1 KiB there", "goes to an anonymous volume", "mount at /var/lib/postgresql itself", "would hide"}},
		{name: "unknown", finding: policy.Finding{Container: "c", ContainerType: policy.Container, Image: "i", Path: "/d",
			Content: &policy.Content{State: policy.ContentUnknown, Reason: "byte budget exhausted"}},
			wantJSON: `"content":{"state":"unknown","entries":0,"bytes":0,"reason":"byte budget exhausted"}`,
			wantText: []string{"not known (byte budget exhausted)"}},
		{name: "not scanned: no content field", finding: policy.Finding{Container: "c", ContainerType: policy.Container, Image: "i", Path: "/d"},
			wantJSON: `"path":"/d"}`},
		{name: "empty directory: said once where", finding: policy.Finding{Container: "c", ContainerType: policy.Container, Image: "i", Path: "/d",
			Content: &policy.Content{State: policy.ContentEmpty, UID: 1, GID: 2, Mode: 0o755, Kind: policy.KindDirectory}},
			wantJSON: `"content":{"state":"empty","entries":0,"bytes":0,"uid":1,"gid":2,"mode":"0755"}`,
			wantText: []string{"; the image ships an empty directory there (mode 0755, owner 1:2)\n"},
			notText:  []string{"there there", ") there"}},
		{name: "near miss over an absent path: its YAML under its fix", finding: policy.Finding{Container: "db", ContainerType: policy.Container, Image: "mysql:8", Path: "/var/lib/mysql",
			Content: &policy.Content{State: policy.ContentAbsent}, NearMounts: []string{"/var/lib"}},
			wantJSON: `"nearMounts":["/var/lib"]`,
			wantText: []string{"      fix: to keep what the container writes there, mount your volume at /var/lib/mysql itself; otherwise add an emptyDir with a sizeLimit mounted at /var/lib/mysql to the pod spec:\n" +
				"        volumes:\n        - name: vg-db-var-lib-mysql-"},
			notText: []string{"\n  volumes:", "\n\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(NewFinding(tt.finding))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), tt.wantJSON) {
				t.Errorf("JSON %s, want it to hold %s", raw, tt.wantJSON)
			}
			var b bytes.Buffer
			WriteContainer(&b, Container{Findings: []Finding{NewFinding(tt.finding)}, FixIn: "pod spec", SizeLimit: resource.MustParse("1Gi")})
			for _, w := range tt.wantText {
				if !strings.Contains(b.String(), w) {
					t.Errorf("text %q, want it to say %q", b.String(), w)
				}
			}
			for _, n := range tt.notText {
				if strings.Contains(b.String(), n) {
					t.Errorf("text %q, want it without %q", b.String(), n)
				}
			}
		})
	}
}
