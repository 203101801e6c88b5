package webhook

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
)

// pod judges a Pod: CREATE, UPDATE and the ephemeralcontainers subresource.
func (h *Handler) pod(ctx context.Context, req admission.Request) admission.Response {
	s := h.settingsFor(ctx, req.Namespace)
	recordOf(ctx).mode = s.mode
	if s.mode == ModeOff {
		return admission.Allowed("").WithWarnings(limitWarnings(s.warnings)...)
	}
	// In the other modes /validate reports; /mutate has nothing to add.
	if h.endpoint == Mutating && s.mode != ModeMutate {
		return admission.Allowed("")
	}

	partial, err := decodeAdmissionPod(req.Object.Raw)
	if err != nil {
		return badObject(fmt.Errorf("decoding the pod: %w", err))
	}
	pod, err := partial.pod()
	if err != nil {
		return badObject(fmt.Errorf("decoding the pod: %w", err))
	}
	if policy.NamedAsInjected(&pod.Spec) {
		// A copy mutation's init containers are recognised by every field
		// (a reinvocation, or a pod created from a mutated one's spec).
		if pod, err = decodeWholePod(req.Object.Raw); err != nil {
			return badObject(fmt.Errorf("decoding the pod: %w", err))
		}
		partial = nil
	}
	if _, ok := pod.Annotations[annotationMirror]; ok {
		// The kubelet runs static pods from its own manifests whatever the
		// API says; denying or changing their API mirror helps nobody.
		return admission.Allowed("mirror pod")
	}
	s = s.withPodSizeLimit("pod", pod.Annotations)
	s.populatedFrom("pod", pod.Annotations, true)
	o := &outcome{mode: s.mode, endpoint: h.endpoint, policy: h.policyOptions(s)}
	o.warn(s.warnings...)

	running := req.Operation == admissionv1.Update
	spec := &pod.Spec
	if running {
		old, err := decodePod(req.OldObject.Raw)
		if err != nil {
			return badObject(fmt.Errorf("decoding the old pod: %w", err))
		}
		// A running pod's mounts cannot change, so only a changed image or
		// a new (ephemeral) container can bring an uncovered VOLUME.
		if spec = changedContainers(&old.Spec, &pod.Spec); spec == nil {
			return o.response(admission.Allowed(""))
		}
	}

	exceptions, notHonoured := h.exceptions(s, req.Namespace, "pod", spec, pod.Annotations)
	if notHonoured != "" {
		o.warn(notHonoured)
	}
	res := h.analyze(ctx, req.Namespace, spec, analysis.WithPolicy(o.policy...), analysis.WithPolicy(exceptions...))
	h.observe(ctx, s.mode, res)
	if !running {
		// Before the memo: its answer is made of the same inputs.
		o.warnUnusedIgnores(s, "pod", res, pod.Annotations)
	}
	var key string
	if memoizable(req, partial, res) {
		key = h.memoKey(req.Namespace, &s, partial, &res)
		if a, ok := h.memo.get(key); ok {
			recordOf(ctx).answer = a
			return a.response()
		}
	}
	var mutated *corev1.PodSpec
	if s.mode == ModeMutate && !running && len(res.Findings) > 0 {
		mutated = pod.Spec.DeepCopy()
	}
	m := h.judge(o, res, mutated, s.sizeLimit, running)
	allowed := admission.Allowed("")
	if h.endpoint == Mutating && len(m.Added) > 0 && len(o.deny) == 0 {
		allowed = podPatch(&pod.Spec, mutated, m.InitContainersAt)
		if size := patchBytes(allowed); size > maxPatchBytes {
			o.refusePatch(m, s.sizeLimit, size)
			allowed = admission.Allowed("")
		}
	}
	resp := o.response(allowed)
	if key != "" && rememberable(&pod.Spec, mutated) {
		h.memo.add(key, resp)
	}
	return resp
}

// changedContainers returns cur with only the containers that old does not
// have with the same image, or nil when there are none. Volumes and the
// platform pins stay, since the analysis reads them.
func changedContainers(old, cur *corev1.PodSpec) *corev1.PodSpec {
	out := cur.DeepCopy()
	out.InitContainers = changed(old.InitContainers, out.InitContainers, containerImage)
	out.Containers = changed(old.Containers, out.Containers, containerImage)
	out.EphemeralContainers = changed(old.EphemeralContainers, out.EphemeralContainers, ephemeralImage)
	if len(out.InitContainers)+len(out.Containers)+len(out.EphemeralContainers) == 0 {
		return nil
	}
	return out
}

func containerImage(c corev1.Container) (string, string)          { return c.Name, c.Image }
func ephemeralImage(c corev1.EphemeralContainer) (string, string) { return c.Name, c.Image }

func changed[T any](old, cur []T, key func(T) (name, image string)) []T {
	images := make(map[string]string, len(old))
	for _, c := range old {
		name, image := key(c)
		images[name] = image
	}
	var out []T
	for _, c := range cur {
		name, image := key(c)
		if prev, ok := images[name]; !ok || prev != image {
			out = append(out, c)
		}
	}
	return out
}
