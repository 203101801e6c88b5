package reports

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/volumeguard/volumeguard/policy"
)

// Server-side apply, and so the writes, are tested on the real API server
// (test/e2e); these are the decisions taken before any write.
func TestReconcileTouchesOnlyItsOwn(t *testing.T) {
	api := APIOf(OpenReports)
	limit := resource.MustParse("1Gi")
	build := func(api API, s Subject) *unstructured.Unstructured { return Build(api, s, limit) }
	subject := Subject{Workload: zkWorkload(), Findings: []policy.Finding{zkFinding("/data", nil)}}

	// Someone else's report has the name volumeguard would take.
	taken := &unstructured.Unstructured{}
	taken.SetAPIVersion(api.APIVersion())
	taken.SetKind(api.Kind)
	taken.SetNamespace("data")
	taken.SetName(Name(subject.Workload))
	// Volumeguard's report of an unchanged workload.
	clean := Subject{Workload: Workload{APIVersion: "v1", Kind: "Pod", Namespace: "data", Name: "p", UID: "u-p"}, Findings: []policy.Finding{zkFinding("/logs", nil)}}
	unchanged := build(api, clean)

	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{api.Resource: "ReportList"}, taken, unchanged)
	w := NewWriter(client, api)
	res, err := w.Reconcile(context.Background(), []Subject{subject, clean}, Scope{Namespace: "data"}, build)
	if err == nil || !strings.Contains(err.Error(), "without the label app.kubernetes.io/managed-by=volumeguard: left alone") {
		t.Errorf("err = %v, want the taken name refused", err)
	}
	if res != (Result{Unchanged: 1}) {
		t.Errorf("result %+v, want 1 unchanged and nothing written or deleted", res)
	}
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "list", "get":
		default:
			t.Errorf("a write: %s %s", a.GetVerb(), describeAction(a))
		}
	}
}

func describeAction(a k8stesting.Action) string {
	if n, ok := a.(interface{ GetName() string }); ok {
		return a.GetResource().Resource + "/" + n.GetName()
	}
	return a.GetResource().Resource
}

// A partial scan deletes nothing; a full one deletes the reports of
// workloads it found clean, but not of those it could not evaluate.
func TestReconcileDeletes(t *testing.T) {
	api := APIOf(OpenReports)
	limit := resource.MustParse("1Gi")
	build := func(api API, s Subject) *unstructured.Unstructured { return Build(api, s, limit) }
	report := func(name string) *unstructured.Unstructured {
		return build(api, Subject{Workload: Workload{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "data", Name: name, UID: types.UID("u-" + name)},
			Findings: []policy.Finding{zkFinding("/data", nil)}})
	}
	tests := []struct {
		name        string
		scope       Scope
		wantDeleted int
	}{
		{"partial", Scope{Namespace: "data", Partial: true}, 0},
		{"full", Scope{Namespace: "data"}, 2},
		{"full, one workload not evaluated", Scope{Namespace: "data", Unknown: func(ref corev1.ObjectReference) bool { return ref.Name == "broken" }}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{api.Resource: "ReportList"}, report("fixed"), report("broken"))
			res, err := NewWriter(client, api).Reconcile(context.Background(), nil, tt.scope, build)
			if err != nil {
				t.Fatal(err)
			}
			if res.Deleted != tt.wantDeleted {
				t.Errorf("deleted %d, want %d", res.Deleted, tt.wantDeleted)
			}
		})
	}
}
