package webhook

import (
	"context"
	"fmt"
	"github.com/volumeguard/volumeguard/analysis"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/workload"
)

// workload judges the pod templates of any object that has one (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController,
// custom kinds with spec.template.spec): feedback at apply time, so nobody
// learns about a denied pod from a ReplicaSet's FailedCreate event.
func (h *Handler) workload(ctx context.Context, req admission.Request) admission.Response {
	s := h.settingsFor(ctx, req.Namespace)
	recordOf(ctx).mode = s.mode
	if s.mode == ModeOff {
		return admission.Allowed("").WithWarnings(limitWarnings(s.warnings)...)
	}
	obj, err := workload.FromJSON(req.Object.Raw)
	if err != nil {
		// Never block an object for what volumeguard cannot read in it.
		return admission.Allowed("").WithWarnings(oneLine(fmt.Sprintf(
			"volumeguard: reading the pod template of %s %q: %v", req.Kind.Kind, req.Name, err), maxWarningRunes))
	}
	if len(obj.PodSpecs) == 0 {
		return admission.Allowed("")
	}
	var old map[string]*corev1.PodSpec
	if req.Operation == admissionv1.Update {
		old = podSpecsByPath(req.OldObject.Raw)
	}

	name := obj.Name
	if name == "" {
		name = req.Name
	}
	o := &outcome{subject: subject{kind: obj.Kind, name: name}, mode: s.mode, endpoint: h.endpoint}
	o.warn(s.warnings...)
	for _, ps := range obj.PodSpecs {
		// An UPDATE that leaves the template alone (scaling, labels, the
		// removal of a finalizer during deletion) creates no new pods;
		// judging it could keep a workload admitted earlier from being deleted.
		if prev, ok := old[strings.Join(ps.Path, ".")]; ok && equality.Semantic.DeepEqual(prev, ps.Spec) {
			continue
		}
		ts := s.withPodSizeLimit("pod template", ps.Annotations)
		ts.populatedFrom("pod template", ps.Annotations, true)
		o.warn(ts.warnings[len(s.warnings):]...)
		o.policy = h.policyOptions(ts)
		exceptions, notHonoured := h.exceptions(s, req.Namespace, strings.ToLower(obj.Kind), ps.Spec, ps.ObjectAnnotations, ps.Annotations)
		if notHonoured != "" {
			o.warn(notHonoured)
		}
		res := h.analyze(ctx, req.Namespace, ps.Spec, analysis.WithPolicy(o.policy...), analysis.WithPolicy(exceptions...))
		h.observe(ctx, s.mode, res)
		o.warnUnusedIgnores(s, strings.ToLower(obj.Kind), res, ps.ObjectAnnotations, ps.Annotations)
		var work *corev1.PodSpec
		if s.mode == ModeMutate {
			// Mutated only to say what the pods will get.
			work = ps.Spec.DeepCopy()
		}
		h.judge(o, res, work, ts.sizeLimit, false)
	}
	return o.response(admission.Allowed(""))
}

// podSpecsByPath reads the pod specs of an UPDATE's old object. An old object
// that cannot be read has none: the new one is then judged in full.
func podSpecsByPath(raw []byte) map[string]*corev1.PodSpec {
	obj, err := workload.FromJSON(raw)
	if err != nil {
		return nil
	}
	out := make(map[string]*corev1.PodSpec, len(obj.PodSpecs))
	for _, ps := range obj.PodSpecs {
		out[strings.Join(ps.Path, ".")] = ps.Spec
	}
	return out
}
