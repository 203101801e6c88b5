// Package reports writes volumeguard's findings as policy report objects,
// where operators already look (Policy Reporter, Rancher, kubectl get
// reports): one openreports.io/v1alpha1 Report, or wgpolicyk8s.io/v1alpha2
// PolicyReport, per workload with findings, in the workload's namespace.
//
// Reports are named volumeguard-<workload UID> (a bare UID collides with
// Kyverno's, kyverno#10230), owned by the workload, labelled
// app.kubernetes.io/managed-by=volumeguard, and written with server-side
// apply. Reconcile deletes those of workloads that are now clean or gone
// in the same run, rather than leave it to the garbage collector, which
// keeps a report as long as its workload lives.
//
// # RBAC
//
//	rules:
//	- apiGroups: ["openreports.io"]          # or wgpolicyk8s.io
//	  resources: ["reports"]                 # or policyreports
//	  verbs: ["get", "list", "create", "patch", "delete"]
package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/volumeguard/volumeguard/policy"
)

// Names on the report objects.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "volumeguard"
	Source         = "volumeguard"
	PolicyName     = "volumeguard"
	Rule           = "uncovered-image-volume"
	// Severity: an anonymous volume can fill a node and get its pods
	// evicted, but it exposes nothing: not high, not low.
	Severity = "medium"
	Category = "Node Stability"
	// contentHashAnnotation is a digest of what volumeguard writes, so that
	// an unchanged report costs no write.
	contentHashAnnotation = "volumeguard.io/content-hash"
	namePrefix            = "volumeguard-"
)

// Workload is the object a report is about: its scope and owner.
type Workload struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
}

// Ref is the workload as an ObjectReference (a report's scope, an Event's
// object).
func (w Workload) Ref() *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, UID: w.UID}
}

// Subject is a workload and its findings, as the report lists them.
type Subject struct {
	Workload Workload
	Findings []policy.Finding
}

// Name is the report's name for w.
func Name(w Workload) string { return namePrefix + string(w.UID) }

// Build returns the report of s in api's schema. Fixes name sizeLimit.
// Build is deterministic: no timestamps, so that a report whose findings
// have not changed is not written again.
func Build(api API, s Subject, sizeLimit resource.Quantity) *unstructured.Unstructured {
	w := s.Workload
	results := make([]any, 0, len(s.Findings))
	for _, f := range s.Findings {
		results = append(results, result(f, sizeLimit))
	}
	content := map[string]any{
		"scope": objectRef(w),
		"summary": map[string]any{
			"pass": int64(0), "fail": int64(len(results)), "warn": int64(0), "error": int64(0), "skip": int64(0),
		},
		"results": results,
	}
	if api.reportSource {
		content["source"] = Source
	}
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range content {
		obj.Object[k] = v
	}
	obj.SetAPIVersion(api.APIVersion())
	obj.SetKind(api.Kind)
	obj.SetNamespace(w.Namespace)
	obj.SetName(Name(w))
	obj.SetLabels(map[string]string{ManagedByLabel: ManagedBy})
	obj.SetAnnotations(map[string]string{contentHashAnnotation: hashOf(content, w)})
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: w.APIVersion, Kind: w.Kind, Name: w.Name, UID: w.UID}})
	return obj
}

func objectRef(w Workload) map[string]any {
	return map[string]any{"apiVersion": w.APIVersion, "kind": w.Kind, "namespace": w.Namespace, "name": w.Name, "uid": string(w.UID)}
}

// result is one uncovered path: the message says what is wrong and how to
// fix it, as check's and the webhook's do; properties carry the fields of
// check's JSON findings.
func result(f policy.Finding, sizeLimit resource.Quantity) map[string]any {
	state := policy.ContentUnknown // not scanned: not known, never a guess
	if f.Content != nil {
		state = f.Content.State
	}
	props := map[string]any{
		"container":     f.Container,
		"containerType": string(f.ContainerType),
		"image":         f.Image,
		"digest":        f.Digest,
		"path":          f.Path,
		"contentState":  string(state),
	}
	if f.Relative {
		props["relative"] = strconv.FormatBool(true)
	}
	if len(f.Platforms) > 0 {
		props["platforms"] = f.PlatformNames()
	}
	return map[string]any{
		"source":     Source,
		"policy":     PolicyName,
		"rule":       Rule,
		"category":   Category,
		"severity":   Severity,
		"result":     "fail",
		"scored":     true,
		"message":    f.Problem() + ". Fix: " + f.Fix(sizeLimit),
		"properties": props,
	}
}

// hashOf digests what a report says. json.Marshal sorts map keys.
func hashOf(content map[string]any, w Workload) string {
	b, err := json.Marshal([]any{content, w})
	if err != nil {
		// Only plain maps, strings and numbers: it always marshals. Should
		// it not, an empty hash never matches, and the report is written.
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// isOurs reports whether obj carries volumeguard's label.
func isOurs(obj metav1.Object) bool { return obj.GetLabels()[ManagedByLabel] == ManagedBy }

// scopeOf reads a report's scope.
func scopeOf(obj *unstructured.Unstructured) corev1.ObjectReference {
	var ref corev1.ObjectReference
	if m, ok, _ := unstructured.NestedMap(obj.Object, "scope"); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ref)
	}
	return ref
}
