package reports

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"
)

func discoveryServing(groupVersions ...string) *fakediscovery.FakeDiscovery {
	d := &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{}}
	for _, gv := range groupVersions {
		res := "reports"
		if gv == "wgpolicyk8s.io/v1alpha2" {
			res = "policyreports"
		}
		d.Resources = append(d.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: []metav1.APIResource{{Name: res, Namespaced: true}}})
	}
	return d
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		served []string
		choice Choice
		want   string // Kind, "" for ErrNotServed
	}{
		{"auto prefers OpenReports", []string{"openreports.io/v1alpha1", "wgpolicyk8s.io/v1alpha2"}, Auto, "Report"},
		{"auto falls back to PolicyReport", []string{"wgpolicyk8s.io/v1alpha2"}, Auto, "PolicyReport"},
		{"auto with neither", nil, Auto, ""},
		{"wgpolicyk8s asked, both served", []string{"openreports.io/v1alpha1", "wgpolicyk8s.io/v1alpha2"}, WGPolicy, "PolicyReport"},
		{"openreports asked, only PolicyReport served", []string{"wgpolicyk8s.io/v1alpha2"}, OpenReports, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, err := Resolve(context.Background(), discoveryServing(tt.served...), tt.choice)
			if tt.want == "" {
				if !errors.Is(err, ErrNotServed) {
					t.Fatalf("Resolve = %+v, %v; want ErrNotServed", api, err)
				}
				return
			}
			if err != nil || api.Kind != tt.want {
				t.Errorf("Resolve = %+v, %v; want %s", api, err, tt.want)
			}
		})
	}
}
