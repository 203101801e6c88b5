// Package manifests holds volumeguard's Kubernetes installation, a
// kustomize base with components and overlays (see README.md), and renders
// it as `kubectl apply -k` would, so that tests can check it or create it on
// an API server.
package manifests

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

//go:embed base components overlays
var files embed.FS

// Overlays are the kustomizations meant to be applied, by their directory
// relative to this package.
func Overlays() []string {
	return []string{"overlays/audit", "overlays/enforce", "overlays/cert-manager"}
}

// Render builds the kustomization at dir, relative to this package
// ("overlays/audit"), from the copy of the files compiled into the package:
// it works from any working directory.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	mem, err := embedded()
	if err != nil {
		return nil, err
	}
	return RenderFS(mem, path.Join("/", dir))
}

// RenderWith builds overlay with components added, as a user's
// kustomization of `resources: [overlay]` and `components: [...]` would:
// RenderWith("overlays/audit", "continuous-audit").
func RenderWith(overlay string, components ...string) ([]*unstructured.Unstructured, error) {
	mem, err := embedded()
	if err != nil {
		return nil, err
	}
	// Outside the files' tree, as a user's directory is; kustomize takes
	// relative paths only.
	dir := "/user"
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [" + path.Join("..", overlay) + "]\ncomponents:\n"
	for _, c := range components {
		k += "  - " + path.Join("..", "components", c) + "\n"
	}
	if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(k)); err != nil {
		return nil, err
	}
	return RenderFS(mem, dir)
}

// embedded is an in-memory copy of the compiled-in files, at the root.
func embedded() (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", name), data)
	})
	if err != nil {
		return nil, fmt.Errorf("loading embedded manifests: %w", err)
	}
	return mem, nil
}

// RenderFS builds the kustomization at dir of fsys, for instance
// filesys.MakeFsOnDisk(), as `kustomize build` does: no plugins, files
// loaded from within the kustomization's root only, and objects in an order
// that can be created one by one (the Namespace first, the webhook
// configurations last, after the Deployment that serves them).
func RenderFS(fsys filesys.FileSystem, dir string) ([]*unstructured.Unstructured, error) {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	resources, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		// Through JSON, not r.Map(): that holds YAML's int, which
		// unstructured.Unstructured (DeepCopy, the clients) cannot take.
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %s: %w", dir, r.CurId(), err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("rendering %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}
