package chart

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/diff"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/volumeguard/volumeguard/manifests"
)

// TestSameAsKustomize is the one source of truth: the chart, rendered as
// `helm install volumeguard -n volumeguard` would, gives the objects that
// the kustomize install gives, for the defaults (overlays/audit) and for the
// values that stand for each component. What differs by design is
// normalised away first (normalize says what and why); anything else that
// differs fails, so that a change to one install that is not made to the
// other is caught.
func TestSameAsKustomize(t *testing.T) {
	helm := HelmBinary(t)
	for _, tc := range []struct {
		name   string
		values string
		// The kustomization to compare with: an overlay, and components
		// added to it.
		overlay    string
		components []string
	}{
		{name: "defaults", overlay: "overlays/audit"},
		{name: "mode enforce", values: "mode: enforce", overlay: "overlays/enforce"},
		{name: "cert-manager", values: "certManager: {enabled: true}", overlay: "overlays/cert-manager"},
		{name: "enforce with cert-manager", values: "mode: enforce\ncertManager: {enabled: true}",
			overlay: "overlays/enforce", components: []string{"components/cert-manager"}},
		{name: "no pull secrets", values: "pullSecrets: false",
			overlay: "overlays/audit", components: []string{"components/no-pull-secrets"}},
		{name: "restricted egress", values: "networkPolicy: {restrictedEgress: {enabled: true}}",
			overlay: "overlays/audit", components: []string{"components/restricted-egress"}},
		{name: "continuous audit", values: "audit: {enabled: true}",
			overlay: "overlays/audit", components: []string{"components/continuous-audit"}},
		{name: "continuous audit with events", values: "audit: {enabled: true, events: true}",
			overlay: "overlays/audit", components: []string{"components/continuous-audit", "components/audit-events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			fromHelm, err := Template(ctx, helm, "volumeguard", "volumeguard", tc.values)
			if err != nil {
				t.Fatal(err)
			}
			fromKustomize := kustomize(t, tc.overlay, tc.components...)
			compare(t, normalize(t, fromHelm), normalize(t, fromKustomize))
		})
	}
}

// kustomize renders overlay with components added, from the manifests on
// disk (copied into memory, so that the kustomization that adds the
// components can sit next to the overlays, as a user's would).
func kustomize(t *testing.T, overlay string, components ...string) []*unstructured.Unstructured {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	root := filepath.Join(Dir(), "..", "..", "manifests")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", filepath.ToSlash(rel)), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := path.Join("/", overlay)
	if len(components) > 0 {
		dir = "/overlays/chart-test"
		var k strings.Builder
		fmt.Fprintf(&k, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../%s]\ncomponents:\n", overlay)
		for _, c := range components {
			fmt.Fprintf(&k, "  - ../../%s\n", c)
		}
		if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(k.String())); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := manifests.RenderFS(mem, dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// compare reports objects that only one side has, and the differences of
// those both have, by kind, namespace and name.
func compare(t *testing.T, fromHelm, fromKustomize map[string]*unstructured.Unstructured) {
	t.Helper()
	for _, id := range sortedKeys(fromKustomize) {
		h, ok := fromHelm[id]
		if !ok {
			t.Errorf("%s: in the kustomize install, not in the chart", id)
			continue
		}
		if d := diff.Diff(fromKustomize[id].Object, h.Object); d != "" {
			t.Errorf("%s differs (- kustomize, + chart):\n%s", id, d)
		}
	}
	for _, id := range sortedKeys(fromHelm) {
		if _, ok := fromKustomize[id]; !ok {
			t.Errorf("%s: in the chart, not in the kustomize install", id)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
