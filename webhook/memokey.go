package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
)

// generatedVolumePrefix starts every volume name policy.Mutate makes
// (policy.VolumeName, the copier's tools volume). Mutate reads the names of
// a pod's volumes only to keep its own from colliding with them, so the
// memo key holds a volume name only when it has this prefix: the
// service-account token volume, named kube-api-access-<random> anew for
// every pod of a ReplicaSet, does not split their answers. A mutation that
// adds a volume without the prefix is not remembered (rememberable).
const generatedVolumePrefix = "vg-"

// memoizable says whether the answer to req may be remembered and looked
// up: pod CREATE requests whose pod was decoded partially (p: not a pod
// carrying volumeguard's copy init containers, judged on every field) and
// whose analysis found something (a clean pod's answer is cheaper to build
// than its key) and read every image (an error's text is of its moment).
func memoizable(req admission.Request, p *admissionPod, res analysis.Result) bool {
	return req.Operation == admissionv1.Create && req.SubResource == "" && p != nil && len(res.Errors) == 0 &&
		len(res.Findings)+len(res.Ignored)+res.FindingsOmitted > 0
}

// memoKey is the SHA-256 of everything that decides the answer to a
// memoizable pod request besides the handler's own configuration: the
// endpoint, the namespace and its settings after the pod's annotations
// (mode, size limit, populated-volumes, exceptions allowed, warnings), the
// pod's annotations, its containers as mutation reads them, its volumes'
// names (generatedVolumePrefix), and the analysis: findings, with the
// digests the images resolved to, and the findings exceptions dropped.
// The platform pins and pull credentials reach the answer only through the
// analysis. Every field is written with its length, so that no two inputs
// write the same bytes.
func (h *Handler) memoKey(namespace string, s *settings, p *admissionPod, res *analysis.Result) string {
	w := h.memo.writer()
	defer h.memo.done(w)
	w.str(string(h.endpoint))
	w.str(namespace)
	w.str(string(s.mode))
	w.str(s.sizeLimit.String())
	w.str(string(s.populated))
	w.flag(s.allowIgnore)
	w.strs(s.warnings)

	w.annotations(p.Metadata.Annotations)
	w.containers(p.Spec.InitContainers)
	w.containers(p.Spec.Containers)
	w.containers(p.Spec.EphemeralContainers)
	w.num(len(p.Spec.Volumes))
	for _, v := range p.Spec.Volumes {
		w.volumeName(v.Name)
		w.flag(v.EmptyDir != nil) // an emptyDir of volumeguard's counts against MaxAddedVolumes
	}

	w.findings(res.Findings)
	w.num(res.FindingsOmitted)
	w.findings(res.Ignored)
	sum := sha256.Sum256(w.b)
	return string(sum[:])
}

// keyWriter appends length-prefixed fields.
type keyWriter struct{ b []byte }

func (w *keyWriter) num(n int) { w.num64(int64(n)) }

func (w *keyWriter) num64(n int64) { w.b = binary.AppendVarint(w.b, n) }

func (w *keyWriter) str(s string) {
	w.num(len(s))
	w.b = append(w.b, s...)
}

func (w *keyWriter) raw(b []byte) {
	w.num(len(b))
	w.b = append(w.b, b...)
}

func (w *keyWriter) flag(b bool) {
	if b {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// optStr writes a pointer to a string: absent and empty differ.
func optStr[S ~string](w *keyWriter, p *S) {
	w.flag(p != nil)
	if p != nil {
		w.str(string(*p))
	}
}

func (w *keyWriter) strs(ss []string) {
	w.num(len(ss))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *keyWriter) volumeName(name string) {
	if !strings.HasPrefix(name, generatedVolumePrefix) {
		name = ""
	}
	w.str(name)
}

func (w *keyWriter) annotations(a map[string]string) {
	w.num(len(a))
	var buf [8]string
	keys := buf[:0]
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.str(k)
		w.str(a[k])
	}
}

func (w *keyWriter) containers(cs []admissionContainer) {
	w.num(len(cs))
	for i := range cs {
		c := &cs[i]
		w.str(c.Name)
		w.str(c.Image)
		w.str(string(c.ImagePullPolicy))
		w.raw(c.SecurityContext)
		w.raw(c.Resources)
		w.num(len(c.VolumeMounts))
		for j := range c.VolumeMounts {
			w.mount(&c.VolumeMounts[j])
		}
		w.num(len(c.VolumeDevices))
		for _, d := range c.VolumeDevices {
			w.volumeName(d.Name)
			w.str(d.DevicePath)
		}
	}
}

func (w *keyWriter) mount(m *corev1.VolumeMount) {
	w.volumeName(m.Name)
	w.flag(m.ReadOnly)
	optStr(w, m.RecursiveReadOnly)
	w.str(m.MountPath)
	w.str(m.SubPath)
	optStr(w, m.MountPropagation)
	w.str(m.SubPathExpr)
	w.strs(m.BindMountOptions)
}

func (w *keyWriter) findings(fs []policy.Finding) {
	w.num(len(fs))
	for i := range fs {
		w.finding(&fs[i])
	}
}

func (w *keyWriter) finding(f *policy.Finding) {
	w.str(f.Container)
	w.str(string(f.ContainerType))
	w.str(f.Image)
	w.str(f.Digest)
	w.str(f.Path)
	w.flag(f.Relative)
	w.num(len(f.Platforms))
	for _, p := range f.Platforms {
		w.str(p.OS)
		w.str(p.Architecture)
		w.str(p.Variant)
	}
	w.flag(f.Content != nil)
	if c := f.Content; c != nil {
		w.str(string(c.State))
		w.num64(int64(c.Entries))
		w.num64(int64(c.Bytes))
		w.num64(int64(c.UID))
		w.num64(int64(c.GID))
		w.num64(int64(c.Mode))
		w.str(string(c.Kind))
		w.str(c.Reason)
	}
	w.strs(f.NearMounts)
}
