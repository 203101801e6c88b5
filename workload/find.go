package workload

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Find returns the pod specs inside one decoded object (unstructured form).
// Pod -> spec; PodTemplate -> template.spec; CronJob -> spec.jobTemplate.spec.template.spec;
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job -> spec.template.spec;
// ANY other kind whose spec.template.spec has a "containers" list (Argo Rollouts, OpenKruise CloneSet, ...) -> that;
// anything else -> none, no error.
//
// The built-in kinds are matched with their API group, so a custom kind that
// shares a name (a CRD's "Job") falls under the generic rule. A built-in kind
// without the spec (a kustomize patch that sets replicas) has none, no error;
// a part of the path that is not an object is an error.
func Find(obj map[string]any) ([]PodSpec, error) {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if path, ok := builtinPodSpecPath(apiGroup(apiVersion), kind); ok {
		spec, found, err := lookup(obj, path)
		if err != nil || !found {
			return nil, err
		}
		ps, err := podSpecAt(obj, path, spec)
		if err != nil {
			return nil, err
		}
		return []PodSpec{ps}, nil
	}

	path := []string{"spec", "template", "spec"}
	spec, found, err := lookup(obj, path)
	if err != nil || !found {
		// Not a pod template, whatever else the custom kind holds there.
		return nil, nil
	}
	if _, ok := spec["containers"].([]any); !ok {
		return nil, nil
	}
	ps, err := podSpecAt(obj, path, spec)
	if err != nil {
		return nil, err
	}
	return []PodSpec{ps}, nil
}

// builtinPodSpecPath is where the built-in kinds keep their pod spec. The
// legacy groups (extensions, apps/v1beta*, batch/v1beta1) are still found in
// old manifests.
func builtinPodSpecPath(group, kind string) ([]string, bool) {
	switch {
	case group == "" && kind == "Pod":
		return []string{"spec"}, true
	case group == "" && kind == "PodTemplate":
		return []string{"template", "spec"}, true
	case group == "" && kind == "ReplicationController",
		(group == "apps" || group == "extensions") &&
			(kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet"),
		group == "batch" && kind == "Job":
		return []string{"spec", "template", "spec"}, true
	case group == "batch" && kind == "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}, true
	}
	return nil, false
}

// apiGroup is the group of an apiVersion: "" for "v1", "apps" for "apps/v1".
func apiGroup(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}

// lookup follows path through nested objects. A missing or null step is not
// found; a step that is not an object is an error.
func lookup(obj map[string]any, path []string) (map[string]any, bool, error) {
	cur := obj
	for i, key := range path {
		v, ok := cur[key]
		if !ok || v == nil {
			return nil, false, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("%s: expected an object, got %s", dotted(path[:i+1]), describeValue(jsonKind(v), ""))
		}
		cur = m
	}
	return cur, true, nil
}

// podSpecAt decodes the pod spec at path and the metadata next to it.
func podSpecAt(obj map[string]any, path []string, raw map[string]any) (PodSpec, error) {
	spec := &corev1.PodSpec{}
	if err := decodeInto(path, raw, spec); err != nil {
		return PodSpec{}, err
	}
	ps := PodSpec{Path: slices.Clone(path), Spec: spec}

	metaPath := append(slices.Clone(path[:len(path)-1]), "metadata")
	meta, found, err := lookup(obj, metaPath)
	if err != nil {
		return PodSpec{}, err
	}
	if found {
		var m struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := decodeInto(metaPath, meta, &m); err != nil {
			return PodSpec{}, err
		}
		ps.Labels, ps.Annotations = m.Labels, m.Annotations
	}
	ps.ObjectAnnotations = objectAnnotations(obj)
	return ps, nil
}

// objectAnnotations reads the string values of metadata.annotations of
// obj, for the exceptions a workload declares on itself; the decoding of
// the template's metadata reports what is malformed.
func objectAnnotations(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["annotations"].(map[string]any)
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
