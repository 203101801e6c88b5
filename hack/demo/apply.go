package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// registryPlaceholder starts the image references of examples/.
const registryPlaceholder = "REGISTRY/"

// example is one object of examples/, as written there.
type example struct {
	file string
	raw  []byte // one YAML document
}

// readExamples reads every document of the .yaml files of dir, in file name order.
func readExamples(dir string) ([]example, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []example
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			// Checked now, before anything is started.
			obj := map[string]any{}
			if err := utilyaml.Unmarshal(doc, &obj); err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if len(obj) == 0 {
				continue // only comments
			}
			u := unstructured.Unstructured{Object: obj}
			if u.GetKind() == "" || u.GetName() == "" {
				return nil, fmt.Errorf("reading %s: a document without kind or metadata.name", f)
			}
			out = append(out, example{file: filepath.Base(f), raw: doc})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no manifests in %s/*.yaml", dir)
	}
	return out, nil
}

// result is what happened to one object in one namespace.
type result struct {
	mode, namespace, kind, name string
	warnings                    []string
	denial                      string        // the webhook's message, when denied
	added                       []addedVolume // what the API server stored beyond the manifest
}

type addedVolume struct {
	container, mountPath, volume, sizeLimit string
}

// apply creates ex in namespace, as kubectl create would, and reads back what
// was stored. A denial is a result; any other failure is an error.
func apply(ctx context.Context, c client.Client, warns *warningCollector, ex example, namespace, mode, registry string) (*result, error) {
	raw := bytes.ReplaceAll(ex.raw, []byte(registryPlaceholder), []byte(registry+"/"))
	obj := &unstructured.Unstructured{}
	if err := utilyaml.Unmarshal(raw, &obj.Object); err != nil {
		return nil, fmt.Errorf("%s: %w", ex.file, err)
	}
	obj.SetNamespace(namespace)
	r := &result{mode: mode, namespace: namespace, kind: obj.GetKind(), name: obj.GetName()}
	sent := obj.DeepCopy()

	warns.reset()
	err := c.Create(ctx, obj)
	r.warnings = warns.take()
	if err != nil {
		if status := (apierrors.APIStatus)(nil); errors.As(err, &status) && apierrors.IsForbidden(err) &&
			strings.Contains(status.Status().Message, "denied the request") {
			r.denial = denialMessage(status.Status().Message)
			return r, nil
		}
		return nil, fmt.Errorf("creating %s %s/%s (%s): %w", r.kind, namespace, r.name, ex.file, err)
	}
	if r.kind == "Pod" {
		stored := &unstructured.Unstructured{}
		stored.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
			return nil, err
		}
		if r.added, err = addedVolumes(sent, stored); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// addedVolumes are the emptyDir mounts of stored whose volume sent lacks.
func addedVolumes(sent, stored *unstructured.Unstructured) ([]addedVolume, error) {
	var before, after corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sent.Object, &before); err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.Object, &after); err != nil {
		return nil, err
	}
	had := map[string]bool{}
	for _, v := range before.Spec.Volumes {
		had[v.Name] = true
	}
	added := map[string]string{} // volume -> sizeLimit
	for _, v := range after.Spec.Volumes {
		if !had[v.Name] && v.EmptyDir != nil {
			size := "none"
			if v.EmptyDir.SizeLimit != nil {
				size = v.EmptyDir.SizeLimit.String()
			}
			added[v.Name] = size
		}
	}
	var out []addedVolume
	for _, ctr := range append(after.Spec.InitContainers, after.Spec.Containers...) {
		for _, m := range ctr.VolumeMounts {
			if size, ok := added[m.Name]; ok {
				out = append(out, addedVolume{container: ctr.Name, mountPath: m.MountPath, volume: m.Name, sizeLimit: size})
			}
		}
	}
	return out, nil
}

// denialMessage is the webhook's own words: the API server wraps them in
// `admission webhook "<name>" denied the request: `.
func denialMessage(msg string) string {
	if _, rest, ok := strings.Cut(msg, "denied the request: "); ok {
		return rest
	}
	return msg
}

// warningCollector keeps the warnings the API server relays with each answer.
type warningCollector struct {
	mu   sync.Mutex
	list []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warningCollector) reset() { w.take() }

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}
