package policy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// AnnotationSizeLimit on a Pod or pod template sets the sizeLimit of the
// emptyDirs added to it (the webhook also reads it on Namespaces).
const AnnotationSizeLimit = "volumeguard.io/size-limit"

// SizeLimitOf is the sizeLimit the annotations (of a pod, or of a pod
// template) set: AnnotationSizeLimit, when it holds a positive quantity.
func SizeLimitOf(annotations map[string]string) (resource.Quantity, bool) {
	v, ok := annotations[AnnotationSizeLimit]
	if !ok {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return resource.Quantity{}, false
	}
	return q, true
}

// SizeLimitFor is the sizeLimit of the emptyDirs for a pod spec with these
// annotations: SizeLimitOf them, else def. note says why an annotation was
// not used; "" when there was none or it was.
func SizeLimitFor(def resource.Quantity, annotations map[string]string) (limit resource.Quantity, note string) {
	if q, ok := SizeLimitOf(annotations); ok {
		return q, ""
	}
	if v, set := annotations[AnnotationSizeLimit]; set {
		return def, fmt.Sprintf("annotation %s=%q is not a positive quantity such as 512Mi or 2Gi; using %s", AnnotationSizeLimit, v, def.String())
	}
	return def, ""
}
