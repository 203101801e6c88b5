package reports

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/volumeguard/volumeguard/policy"
)

func zkWorkload() Workload {
	return Workload{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "data", Name: "zk", UID: "0a1b"}
}

func zkFinding(path string, content *policy.Content) policy.Finding {
	return policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "zookeeper:3.4.13",
		Digest: "sha256:" + strings.Repeat("1", 64), Path: path, Content: content}
}

func TestBuild(t *testing.T) {
	limit := resource.MustParse("2Gi")
	for _, c := range []Choice{OpenReports, WGPolicy} {
		t.Run(string(c), func(t *testing.T) {
			api := APIOf(c)
			s := Subject{Workload: zkWorkload(), Findings: []policy.Finding{
				zkFinding("/data", &policy.Content{State: policy.ContentPopulated, Entries: 2, Bytes: 10}),
				zkFinding("/logs", nil),
			}}
			obj := Build(api, s, limit)

			str := func(fields ...string) string {
				t.Helper()
				v, _, err := unstructured.NestedString(obj.Object, fields...)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			checks := []struct{ what, got, want string }{
				{"apiVersion", obj.GetAPIVersion(), api.APIVersion()},
				{"kind", obj.GetKind(), api.Kind},
				{"name: prefixed, never a bare UID (kyverno#10230)", obj.GetName(), "volumeguard-0a1b"},
				{"namespace", obj.GetNamespace(), "data"},
				{"label", obj.GetLabels()[ManagedByLabel], "volumeguard"},
				{"source (OpenReports only: PolicyReport has none)", str("source"), map[Choice]string{OpenReports: "volumeguard", WGPolicy: ""}[c]},
				{"scope.kind", str("scope", "kind"), "Deployment"},
				{"scope.apiVersion", str("scope", "apiVersion"), "apps/v1"},
				{"scope.name", str("scope", "name"), "zk"},
				{"scope.uid", str("scope", "uid"), "0a1b"},
			}
			for _, ch := range checks {
				if ch.got != ch.want {
					t.Errorf("%s = %q, want %q", ch.what, ch.got, ch.want)
				}
			}
			owners := obj.GetOwnerReferences()
			if len(owners) != 1 || owners[0].Kind != "Deployment" || owners[0].Name != "zk" || owners[0].UID != "0a1b" || owners[0].APIVersion != "apps/v1" {
				t.Errorf("ownerReferences = %+v, want the Deployment", owners)
			}
			if fail, _, _ := unstructured.NestedInt64(obj.Object, "summary", "fail"); fail != 2 {
				t.Errorf("summary.fail = %d, want 2", fail)
			}
			results, _, _ := unstructured.NestedSlice(obj.Object, "results")
			if len(results) != 2 {
				t.Fatalf("%d results, want 2", len(results))
			}
			wantState := []string{"populated", "unknown"} // nil content: not scanned, never a guess
			for i, r := range results {
				m := r.(map[string]any)
				for field, want := range map[string]string{"policy": "volumeguard", "rule": "uncovered-image-volume", "result": "fail", "severity": "medium", "source": "volumeguard"} {
					if m[field] != want {
						t.Errorf("result %d %s = %v, want %q", i, field, m[field], want)
					}
				}
				props := m["properties"].(map[string]any)
				if props["container"] != "zk" || props["image"] != "zookeeper:3.4.13" || props["digest"] != "sha256:"+strings.Repeat("1", 64) ||
					props["contentState"] != wantState[i] || props["containerType"] != "container" {
					t.Errorf("result %d properties = %v", i, props)
				}
				msg := m["message"].(string)
				// A populated path's fix is not a plain emptyDir: it would hide
				// what the image ships there.
				wantFix := []string{"would hide the 2 files", "sizeLimit: 2Gi"}[i]
				for _, want := range []string{`container "zk"`, "zookeeper:3.4.13", "Fix:", wantFix} {
					if !strings.Contains(msg, want) {
						t.Errorf("result %d message %q does not contain %q", i, msg, want)
					}
				}
			}
			if props := results[0].(map[string]any)["properties"].(map[string]any); props["path"] != "/data" {
				t.Errorf("first result's path = %v, want /data", props["path"])
			}
		})
	}
}

// The content hash decides whether a report is written again: equal for
// equal findings, different when anything a report says changes.
func TestBuildHash(t *testing.T) {
	limit := resource.MustParse("1Gi")
	api := APIOf(OpenReports)
	hash := func(s Subject) string { return Build(api, s, limit).GetAnnotations()[contentHashAnnotation] }
	base := Subject{Workload: zkWorkload(), Findings: []policy.Finding{zkFinding("/data", nil)}}
	if a, b := hash(base), hash(base); a == "" || a != b {
		t.Fatalf("hashes of equal subjects: %q and %q, want equal and not empty", a, b)
	}
	changes := map[string]Subject{
		"another path":     {Workload: zkWorkload(), Findings: []policy.Finding{zkFinding("/datalog", nil)}},
		"one more finding": {Workload: zkWorkload(), Findings: []policy.Finding{zkFinding("/data", nil), zkFinding("/logs", nil)}},
		"content known":    {Workload: zkWorkload(), Findings: []policy.Finding{zkFinding("/data", &policy.Content{State: policy.ContentEmpty})}},
	}
	for name, s := range changes {
		t.Run(name, func(t *testing.T) {
			if hash(s) == hash(base) {
				t.Errorf("hash unchanged")
			}
		})
	}
}

func TestParseChoice(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Choice
		wantErr bool
	}{
		{"auto", Auto, false}, {"openreports", OpenReports, false}, {"wgpolicyk8s", WGPolicy, false},
		{"", "", true}, {"OpenReports", "", true}, {"policyreport", "", true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseChoice(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseChoice(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
