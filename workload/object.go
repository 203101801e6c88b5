package workload

import corev1 "k8s.io/api/core/v1"

// Object is one Kubernetes object that carries at least one pod spec.
type Object struct {
	File       string // source file ("-" for stdin, "" when not from a file)
	Document   int    // 1-based index of the YAML/JSON document in the file (items of a List share their List's document number)
	APIVersion string
	Kind       string
	Namespace  string // as written (may be "")
	Name       string // metadata.name, or metadata.generateName when name is empty
	PodSpecs   []PodSpec
}

// PodSpec is one pod spec found inside an object.
type PodSpec struct {
	Path        []string // JSON path to the spec, e.g. ["spec"], ["spec","template","spec"], ["spec","jobTemplate","spec","template","spec"], ["template","spec"]
	Spec        *corev1.PodSpec
	Annotations map[string]string // annotations of the pod or of the pod template (metadata next to the spec)
	Labels      map[string]string
}
