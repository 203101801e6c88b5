package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// podPatch is the JSON patch from the pod as the API server sent it to the
// pod with the mutated spec. policy.Mutate only appends volumes and mounts,
// and inserts its copy init containers (populated-volumes=copy) at
// insertedAt, consecutively (policy.Mutation.InitContainersAt), so the
// patch is those appends and inserts, read off the before and after specs: no
// re-encoding of the pod, so fields this build of k8s.io/api does not know
// survive (kubernetes-sigs/kubebuilder#510), no generic JSON diff on the API
// server's hot path, and before may be the partial pod of decodePod.
// Anything else is a bug here: an internal error, so that the webhook's
// failurePolicy decides.
func podPatch(before, after *corev1.PodSpec, insertedAt int) admission.Response {
	ops, ok := appendOps(before, after, insertedAt)
	if !ok {
		return admission.Errored(http.StatusInternalServerError, errors.New("building the patch: the mutation changed more than it appended"))
	}
	return patched(ops)
}

// patched is admission.Patched with the patch encoded here, once: Patches
// stay for readers of the response, Patch is what is sent, and
// admission.Response.Complete, seeing Patch set, is not called on it
// (completeAnswer encodes Patches only when Patch is empty).
func patched(ops []jsonpatch.Operation) admission.Response {
	patch, err := encodePatch(ops)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the patch: %w", err))
	}
	resp := admission.Patched("", ops...)
	resp.Patch = patch
	pt := admissionv1.PatchTypeJSONPatch
	resp.PatchType = &pt
	return resp
}

// appendOps returns the add operations turning before into after, when
// after only appends volumes and volume mounts to before, and inserts init
// containers at insertedAt.
func appendOps(before, after *corev1.PodSpec, insertedAt int) ([]jsonpatch.Operation, bool) {
	inserted := len(after.InitContainers) - len(before.InitContainers)
	if len(before.Containers) != len(after.Containers) || inserted < 0 || insertedAt < 0 || insertedAt > len(before.InitContainers) {
		return nil, false
	}
	var ops []jsonpatch.Operation
	ok := appendList(&ops, "/spec/volumes", before.Volumes, after.Volumes)
	// The mounts of the init containers already there first, at their
	// indices before the insert, then the inserted containers, in order.
	for i := range before.InitContainers {
		j := i
		if i >= insertedAt {
			j += inserted
		}
		path := "/spec/initContainers/" + strconv.Itoa(i) + "/volumeMounts"
		ok = ok && appendList(&ops, path, before.InitContainers[i].VolumeMounts, after.InitContainers[j].VolumeMounts)
	}
	switch {
	case inserted > 0 && len(before.InitContainers) == 0:
		// The list may be absent (or null) in the pod as sent: set it whole.
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/initContainers", after.InitContainers))
	case inserted > 0:
		for k := range inserted {
			at := insertedAt + k
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/initContainers/"+strconv.Itoa(at), after.InitContainers[at]))
		}
	}
	for i := range after.Containers {
		path := "/spec/containers/" + strconv.Itoa(i) + "/volumeMounts"
		ok = ok && appendList(&ops, path, before.Containers[i].VolumeMounts, after.Containers[i].VolumeMounts)
	}
	return ops, ok
}

// appendList adds the operations appending after's extra items to path; it
// reports false when after is not before plus appended items.
func appendList[T any](ops *[]jsonpatch.Operation, path string, before, after []T) bool {
	if len(after) < len(before) {
		return false
	}
	// A mutation that appends never touches the items already there; a
	// cheap length check plus policy.Mutate's contract make comparing them
	// one by one unnecessary, except for the count.
	added := after[len(before):]
	if len(added) == 0 {
		return true
	}
	if len(before) == 0 {
		// The list may be absent (or null) in the pod as sent: set it whole.
		*ops = append(*ops, jsonpatch.NewOperation("add", path, added))
		return true
	}
	for _, item := range added {
		*ops = append(*ops, jsonpatch.NewOperation("add", path+"/-", item))
	}
	return true
}
