package webhook

import (
	"context"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// digestInspector is fakeInspector with the digest each tag names now,
// which a test may move.
// On an arm64 node, it answers arm64Volumes where it has them.
type digestInspector struct {
	*fakeInspector
	digests      map[string]string
	arm64Volumes map[string][]string
}

func (d *digestInspector) Inspect(ctx context.Context, ref string, p *imageinspect.Platform, opts ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	img, err := d.fakeInspector.Inspect(ctx, ref, p, opts...)
	if err != nil {
		return img, err
	}
	if d.digests[ref] != "" {
		img.Digest = d.digests[ref]
	}
	if vols, ok := d.arm64Volumes[ref]; ok && p != nil && p.Architecture == "arm64" {
		img.Platforms = []imageinspect.PlatformVolumes{{Platform: *p, Volumes: vols}}
	}
	return img, nil
}

// memoWorld is what a pod request is judged by, for one row of
// TestAnswerMemo to change.
type memoWorld struct {
	cfg        HandlerConfig
	inspector  *digestInspector
	namespaces fakeNamespaces
	namespace  string
	pod        *corev1.Pod
	old        *corev1.Pod // set: an UPDATE
	dryRun     bool
}

const tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// replicaPod is a pod as a ReplicaSet creates it, after the API server's
// service account admission: the token volume's name is random per pod.
func replicaPod(name, token string) *corev1.Pod {
	mount := corev1.VolumeMount{Name: token, MountPath: tokenMountPath, ReadOnly: true}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", GenerateName: "zk-7d9f8b6c5d-",
			Labels: map[string]string{"app": "zk", "pod-template-hash": "7d9f8b6c5d"}, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			Containers: []corev1.Container{
				{Name: "zk", Image: zkImage, VolumeMounts: []corev1.VolumeMount{mount},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}},
				{Name: "sidecar", Image: plainImg, VolumeMounts: []corev1.VolumeMount{mount}},
			},
			Volumes: []corev1.Volume{{Name: token, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}}},
		},
	}
}

func newMemoWorld() *memoWorld {
	in := &digestInspector{fakeInspector: newFakeInspector(), digests: map[string]string{}}
	namespaces := fakeNamespaces{"default": namespace("default", nil, nil)}
	return &memoWorld{
		inspector: in, namespaces: namespaces, namespace: "default", pod: replicaPod("zk-7d9f8b6c5d-abcde", "kube-api-access-abcde"),
		cfg: HandlerConfig{
			// Content scanned: /data is populated, so populated-volumes
			// and the copy init containers take part.
			Analyzer:         analysis.New(in, analysis.WithContentScanner(&fakeContent{})),
			Namespaces:       namespaces,
			DefaultMode:      ModeMutate,
			DefaultSizeLimit: resource.MustParse("1Gi"),
			CopierImage:      "volumeguard:test",
			Metrics:          NewMetrics(),
		},
	}
}

func (w *memoWorld) request(t *testing.T, uid string) admission.Request {
	t.Helper()
	op := admissionv1.Create
	var old any
	if w.old != nil {
		op, old = admissionv1.Update, w.old
	}
	req := request(t, op, podKind, w.namespace, w.pod, old)
	req.UID = types.UID(uid)
	req.DryRun = &w.dryRun
	return req
}

// memoHit handles req and reports whether the answer came from the memo.
func memoHit(h *Handler, req admission.Request) bool {
	rec := &record{}
	h.Handle(withRecord(context.Background(), rec), req)
	return rec.answer != nil
}

// serveReview is the HTTP answer to req, as the API server gets it; the
// status must be 200.
func serveReview(t *testing.T, h *Handler, req admission.Request) []byte {
	t.Helper()
	code, body := serveStatus(t, h, req)
	if code != http.StatusOK {
		t.Fatalf("answer %d: %s", code, body)
	}
	return body
}
