package chart

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// helmLabels are the labels the chart adds to every object and the
// kustomize install has no counterpart for. app.kubernetes.io/instance is
// also in the chart's selectors: a second release in the same namespace
// must not select the first one's pods.
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "app.kubernetes.io/instance"}

// normalize removes from a render what differs between the two installs by
// design, and indexes the objects by kind, namespace and name:
//
//   - Helm's labels (helmLabels), wherever they are: metadata, pod template,
//     selectors. app.kubernetes.io/name and app.kubernetes.io/component stay
//     and are compared.
//   - The Namespace object: `kubectl apply -k` creates it, with its Pod
//     Security labels; Helm installs into a namespace it does not own
//     (`helm install -n NS --create-namespace`, or one made beforehand).
//     Every other object's metadata.namespace is still compared.
//   - The ConfigMap volumeguard-config-<hash>: the kustomize install passes
//     serve's settings through it, as $(VARIABLES) of env entries that read
//     its keys, so that overlays can change them with a configMapGenerator
//     merge; the chart writes the same flags into args from values. Each
//     such $(VARIABLE) in args is replaced with the ConfigMap's value, the
//     env entry removed, and then the ConfigMap: both sides then compare
//     the flags serve runs with. Its hashed name is the only name that
//     differs; the rest are equal for a release named volumeguard.
func normalize(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			configMaps[o.GetName()] = data
		}
	}
	inlined := map[string]bool{}
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		o = o.DeepCopy()
		if o.GetKind() == "Namespace" {
			continue
		}
		dropKeys(o.Object, helmLabels)
		if o.GetKind() == "Deployment" {
			inlineSettings(t, o, configMaps, inlined)
		}
		out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = o
	}
	for name := range inlined {
		delete(out, "ConfigMap "+namespaceOf(objs)+"/"+name)
	}
	return out
}

// dropKeys deletes keys from every map in v, at any depth.
func dropKeys(v any, keys []string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(v, k)
		}
		for _, e := range v {
			dropKeys(e, keys)
		}
	case []any:
		for _, e := range v {
			dropKeys(e, keys)
		}
	}
}

var variable = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// inlineSettings replaces, in the Deployment's container args, each
// $(VARIABLE) that an env entry reads from a ConfigMap key, with that key's
// value, and removes the env entry. It records the ConfigMaps so read.
func inlineSettings(t *testing.T, d *unstructured.Unstructured, configMaps map[string]map[string]string, inlined map[string]bool) {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for i, c := range containers {
		c := c.(map[string]any)
		values := map[string]string{}
		var keep []any
		env, _, _ := unstructured.NestedSlice(c, "env")
		for _, e := range env {
			ref, found, _ := unstructured.NestedStringMap(e.(map[string]any), "valueFrom", "configMapKeyRef")
			data, known := configMaps[ref["name"]]
			if !found || !known {
				keep = append(keep, e)
				continue
			}
			value, ok := data[ref["key"]]
			if !ok {
				t.Errorf("env %v reads key %q that ConfigMap %s does not have", e, ref["key"], ref["name"])
			}
			values[e.(map[string]any)["name"].(string)] = value
			inlined[ref["name"]] = true
		}
		args, _, _ := unstructured.NestedStringSlice(c, "args")
		for j, a := range args {
			args[j] = variable.ReplaceAllStringFunc(a, func(m string) string {
				if v, ok := values[strings.TrimSuffix(strings.TrimPrefix(m, "$("), ")")]; ok {
					return v
				}
				return m
			})
			if variable.MatchString(args[j]) {
				t.Errorf("container %v: argument %q keeps a variable no ConfigMap sets", c["name"], args[j])
			}
		}
		if err := unstructured.SetNestedStringSlice(c, args, "args"); err != nil {
			t.Fatal(err)
		}
		if len(keep) == 0 {
			delete(c, "env")
		} else {
			c["env"] = keep
		}
		containers[i] = c
	}
	if err := unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

// namespaceOf is the namespace of the render's namespaced objects.
func namespaceOf(objs []*unstructured.Unstructured) string {
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			return ns
		}
	}
	return ""
}
