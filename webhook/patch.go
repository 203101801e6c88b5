package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/workload"
)

// podPatch is the JSON patch from the pod as the API server sent it to the
// pod with the mutated spec. workload.SetPodSpec writes only what changed
// into the object as sent, so fields this build of k8s.io/api does not know
// survive: a patch from a re-encoded typed Pod would remove them
// (kubernetes-sigs/kubebuilder#510).
func podPatch(raw []byte, mutated *corev1.PodSpec) admission.Response {
	obj, err := workload.FromJSON(raw)
	if err == nil {
		err = workload.SetPodSpec(obj.Content, []string{"spec"}, mutated)
	}
	var current []byte
	if err == nil {
		current, err = json.Marshal(obj.Content)
	}
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("building the patch: %w", err))
	}
	return admission.PatchResponseFromRaw(raw, current)
}
