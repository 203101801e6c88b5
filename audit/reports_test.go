package audit

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
)

func TestReportSubjects(t *testing.T) {
	zk := Workload{Namespace: "data", Kind: "Deployment", Name: "zk", APIVersion: "apps/v1", UID: "u-zk"}
	noUID := Workload{Namespace: "data", Kind: "Thing", Name: "t", APIVersion: "example.com/v1"}
	finding := func(w Workload, path string) Finding {
		f := *newFinding(w, policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "resolved", Path: path})
		f.Image, f.Digest = "zookeeper:3.4", "sha256:1"
		return f
	}
	r := &Report{Findings: []Finding{finding(zk, "/data"), finding(zk, "/logs"), finding(noUID, "/data")}}
	got := r.ReportSubjects()
	if len(got) != 1 {
		t.Fatalf("%d subjects, want 1 (a workload without a UID cannot be named): %+v", len(got), got)
	}
	s := got[0]
	if s.Workload.UID != "u-zk" || s.Workload.APIVersion != "apps/v1" || len(s.Findings) != 2 {
		t.Errorf("subject = %+v, want the Deployment with 2 findings", s)
	}
	if f := s.Findings[1]; f.Path != "/logs" || f.Image != "zookeeper:3.4" || f.Digest != "sha256:1" {
		t.Errorf("second finding = %+v, want /logs of zookeeper:3.4 at sha256:1, as the spec writes it", f)
	}
}

func TestReportScope(t *testing.T) {
	ref := func(kind, name string) corev1.ObjectReference {
		return corev1.ObjectReference{Namespace: "data", Kind: kind, Name: name}
	}
	tests := []struct {
		name        string
		problems    []Problem
		selector    string
		wantPartial bool
		unknown     []corev1.ObjectReference
		known       []corev1.ObjectReference
	}{
		{name: "clean run", known: []corev1.ObjectReference{ref("Deployment", "zk")}},
		{name: "a label selector sees part of the workloads", selector: "app=zk", wantPartial: true},
		{name: "pods not listed", problems: []Problem{{Problem: report.Problem{Kind: "Pod", Message: "forbidden"}}}, wantPartial: true},
		{
			name:     "an unreadable image keeps its workload's report",
			problems: []Problem{{Namespace: "data", Problem: report.Problem{Kind: "Deployment", Name: "zk", Image: "x", Message: "timeout"}}},
			unknown:  []corev1.ObjectReference{ref("Deployment", "zk")},
			known:    []corev1.ObjectReference{ref("Deployment", "web"), ref("StatefulSet", "zk")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scope := (&Report{Problems: tt.problems}).ReportScope("data", tt.selector)
			if scope.Partial != tt.wantPartial || scope.Namespace != "data" {
				t.Errorf("scope = %+v, want partial %v in data", scope, tt.wantPartial)
			}
			for _, r := range tt.unknown {
				if !scope.Unknown(r) {
					t.Errorf("Unknown(%v) = false, want true", r)
				}
			}
			for _, r := range tt.known {
				if scope.Unknown(r) {
					t.Errorf("Unknown(%v) = true, want false", r)
				}
			}
		})
	}
}
