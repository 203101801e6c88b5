package continuousaudit

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/reports"
)

// subjects is one Deployment's findings in container zk, at paths.
func subjects(uid string, paths ...string) []reports.Subject {
	if len(paths) == 0 {
		return nil
	}
	s := reports.Subject{Workload: reports.Workload{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "data", Name: "zk", UID: types.UID(uid)}}
	for _, p := range paths {
		s.Findings = append(s.Findings, policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "zookeeper:3.4", Path: p})
	}
	return []reports.Subject{s}
}

// events drains what the fake recorder got.
func events(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestEventsDeduplicated(t *testing.T) {
	rec := record.NewFakeRecorder(100)
	d := newEventDeduper(rec)
	zk := func(paths ...string) []reports.Subject { return subjects("u-zk", paths...) }
	steps := []struct {
		name     string
		scan     []reports.Subject
		want     int
		contains []string
	}{
		{"first sight: one Event naming container, image and paths", zk("/data", "/logs"), 1,
			[]string{"Warning UncoveredImageVolume", `container "zk"`, `image "zookeeper:3.4"`, "VOLUME /data, /logs", "Fix:"}},
		{"the same findings again: none", zk("/data", "/logs"), 0, nil},
		{"one fixed: none", zk("/data"), 0, nil},
		{"a new path: one Event, naming the new path only", zk("/data", "/datalog"), 1, []string{"VOLUME /datalog"}},
		{"clean", zk(), 0, nil},
		{"back again: news again", zk("/data"), 1, []string{"VOLUME /data"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			d.record(st.scan)
			got := events(rec)
			if len(got) != st.want {
				t.Fatalf("%d events, want %d: %q", len(got), st.want, got)
			}
			for _, want := range st.contains {
				if !strings.Contains(got[0], want) {
					t.Errorf("event %q does not contain %q", got[0], want)
				}
			}
			if st.name == "a new path: one Event, naming the new path only" && strings.Contains(got[0], "/data,") {
				t.Errorf("event %q repeats /data", got[0])
			}
		})
	}
}

func TestEventMessageBounded(t *testing.T) {
	var paths []string
	for i := range 200 {
		paths = append(paths, "/a-long-volume-path/"+strings.Repeat("x", 20)+"/"+string(rune('a'+i%26)))
	}
	msg := eventMessage(subjects("u", paths...)[0].Findings)
	if len(msg) > maxEventMessage {
		t.Errorf("message of %d bytes, want at most %d", len(msg), maxEventMessage)
	}
}
