package workload

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

// Object is one Kubernetes object that carries at least one pod spec.
type Object struct {
	File       string // source file ("-" for stdin, "" when not from a file)
	Document   int    // 1-based index of the YAML/JSON document in the file (items of a List share their List's document number)
	APIVersion string
	Kind       string
	Namespace  string // as written (may be "")
	Name       string // metadata.name, or metadata.generateName when name is empty
	PodSpecs   []PodSpec

	// Path is where the object is inside its document: nil when the
	// document is the object, ["items", "[2]"] for the third item of a List,
	// ["[0]"] for the first value of a JSON array.
	Path []string
	// Position is where the object's mapping starts (its first key).
	Position Position
	// DocumentRange is where the object's document lies in its file, a
	// `---` line before it excluded; the items of a List share it. It is
	// zero for FromJSON.
	DocumentRange ByteRange
	// Template is the Helm template that rendered the object, named by a
	// `# Source: chart/templates/x.yaml` comment at the top of its document
	// (`helm template` writes one); "" when there is none.
	Template string
}

// PodSpec is one pod spec found inside an object.
type PodSpec struct {
	Path        []string // JSON path to the spec, e.g. ["spec"], ["spec","template","spec"], ["spec","jobTemplate","spec","template","spec"], ["template","spec"]
	Spec        *corev1.PodSpec
	Annotations map[string]string // annotations of the pod or of the pod template (metadata next to the spec)
	// ObjectAnnotations are the annotations of the object holding the spec
	// (a Deployment's own); for a Pod the same as Annotations.
	ObjectAnnotations map[string]string
	Labels            map[string]string

	// Position is where the spec's mapping starts (its first key), and
	// Containers where each of its containers is written, in the order of
	// policy.Containers: init containers, containers, ephemeral containers.
	// They are zero and nil for FromJSON, and when the document cannot be
	// read for positions.
	Position   Position
	Containers []ContainerPosition
}

// ContainerPosition is where one container of a pod spec is written.
type ContainerPosition struct {
	Type  policy.ContainerType
	Name  string
	Index int      // in its list of the spec (Spec.InitContainers, ...)
	At    Position // the container's mapping (its first key)
	Image Position // the value of its image field; zero when it has none
}

// ImagePosition is where the image of the first container of type t named
// name is written, as policy's findings name containers; zero when unknown.
func (ps PodSpec) ImagePosition(t policy.ContainerType, name string) Position {
	for _, c := range ps.Containers {
		if c.Type == t && c.Name == name {
			return c.Image
		}
	}
	return Position{}
}

// Position is a place in a file: the 1-based line, lines ending at LF as
// editors and CI systems count them, and the 1-based column, counted in
// characters (Unicode code points). The zero Position is unknown.
type Position struct {
	Line, Column int
}

// IsValid reports whether the position is known.
func (p Position) IsValid() bool { return p.Line > 0 && p.Column > 0 }

// String is "line:column", or "-" when unknown.
func (p Position) String() string {
	if !p.IsValid() {
		return "-"
	}
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// ByteRange is the bytes [Start, End) of a file.
type ByteRange struct {
	Start, End int64
}
