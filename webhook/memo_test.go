package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
)

// TestAnswerMemo changes one input of a remembered pod request per row:
// every input that can change the answer misses the memo, and whatever the
// memo answers is, byte for byte, what a handler without it answers.
func TestAnswerMemo(t *testing.T) {
	enforce := map[string]string{LabelMode: "enforce"}
	tests := []struct {
		name   string
		base   func(w *memoWorld) // applied before the first request too
		change func(w *memoWorld)
		hit    bool
	}{
		// What differs between the pods of one ReplicaSet.
		{name: "another pod of the ReplicaSet: name, token volume", hit: true, change: func(w *memoWorld) {
			w.pod = replicaPod("zk-7d9f8b6c5d-xyz12", "kube-api-access-xyz12")
		}},
		{name: "a label", hit: true, change: func(w *memoWorld) { w.pod.Labels["extra"] = "1" }},
		{name: "dry run", hit: true, change: func(w *memoWorld) { w.dryRun = true }},
		{name: "a platform pin that selects the same findings", hit: true, change: func(w *memoWorld) {
			w.pod.Spec.NodeSelector = map[string]string{corev1.LabelOSStable: "linux"}
		}},
		{name: "pull secrets that read the same images", hit: true, change: func(w *memoWorld) {
			w.pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		}},

		// The namespace and its settings.
		{name: "another namespace, same settings", change: func(w *memoWorld) {
			w.namespaces["other"] = namespace("other", nil, nil)
			w.namespace = "other"
		}},
		{name: "namespace mode enforce", change: func(w *memoWorld) { w.namespaces["default"] = namespace("default", enforce, nil) }},
		{name: "namespace mode audit", change: func(w *memoWorld) {
			w.namespaces["default"] = namespace("default", map[string]string{LabelMode: "audit"}, nil)
		}},
		{name: "namespace mode not understood (a warning)", change: func(w *memoWorld) {
			w.namespaces["default"] = namespace("default", map[string]string{LabelMode: "strict"}, nil)
		}},
		{name: "namespace size limit", change: func(w *memoWorld) {
			w.namespaces["default"] = namespace("default", nil, map[string]string{AnnotationSizeLimit: "2Gi"})
		}},
		{name: "namespace populated-volumes deny", change: func(w *memoWorld) {
			w.namespaces["default"] = namespace("default", nil, map[string]string{AnnotationPopulatedVolumes: "deny"})
		}},
		{name: "namespace allows exceptions", change: func(w *memoWorld) {
			w.namespaces["default"] = namespace("default", map[string]string{LabelAllowIgnore: "true"}, nil)
		}},

		// The pod's annotations.
		{name: "pod size limit", change: func(w *memoWorld) { w.pod.Annotations[AnnotationSizeLimit] = "512Mi" }},
		{name: "pod size limit not understood (a warning)", change: func(w *memoWorld) { w.pod.Annotations[AnnotationSizeLimit] = "big" }},
		{name: "pod populated-volumes copy", change: func(w *memoWorld) { w.pod.Annotations[AnnotationPopulatedVolumes] = "copy" }},
		{name: "pod ignore annotation, not honoured (a warning)", change: func(w *memoWorld) {
			w.pod.Annotations[policy.IgnoreAnnotation] = "/logs"
		}},
		{name: "pod ignore annotation, honoured",
			base: func(w *memoWorld) {
				w.namespaces["default"] = namespace("default", map[string]string{LabelAllowIgnore: "true"}, nil)
			},
			change: func(w *memoWorld) { w.pod.Annotations[policy.IgnoreAnnotation] = "/logs" }},
		{name: "another annotation", change: func(w *memoWorld) { w.pod.Annotations["team"] = "data" }},
		{name: "an annotation's value", change: func(w *memoWorld) { w.pod.Annotations["prometheus.io/scrape"] = "false" }},

		// The containers as mutation reads them.
		{name: "container name", change: func(w *memoWorld) { w.pod.Spec.Containers[0].Name = "zookeeper" }},
		{name: "container order", change: func(w *memoWorld) {
			slices.Reverse(w.pod.Spec.Containers)
		}},
		{name: "image tag with the same VOLUMEs", change: func(w *memoWorld) { w.pod.Spec.Containers[0].Image = zkImage35 }},
		{name: "the tag moved to another digest", change: func(w *memoWorld) { w.inspector.digests[zkImage] = "sha256:4567" }},
		{name: "the image declares another VOLUME", change: func(w *memoWorld) {
			w.inspector.volumes[zkImage] = []string{"/data", "/datalog", "/logs", "/conf"}
		}},
		{name: "a platform pin that selects other findings", change: func(w *memoWorld) {
			w.inspector.arm64Volumes = map[string][]string{zkImage: {"/data"}}
			w.pod.Spec.NodeSelector = map[string]string{corev1.LabelArchStable: "arm64"}
		}},
		{name: "a mount's bind options", change: func(w *memoWorld) {
			w.pod.Spec.Containers[0].VolumeMounts[0].BindMountOptions = []string{string(corev1.BindMountOptionNoExec)}
		}},
		{name: "a mount covers a VOLUME", change: func(w *memoWorld) {
			w.pod.Spec.Containers[0].VolumeMounts = append(w.pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
			w.pod.Spec.Volumes = append(w.pod.Spec.Volumes, corev1.Volume{Name: "data"})
		}},
		{name: "a mount inside a VOLUME (a near miss)", change: func(w *memoWorld) {
			w.pod.Spec.Containers[0].VolumeMounts = append(w.pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "x", MountPath: "/data/x"})
		}},
		{name: "a volumeDevice at a VOLUME path", change: func(w *memoWorld) {
			w.pod.Spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "block", DevicePath: "/data"}}
		}},
		{name: "a mount's readOnly", change: func(w *memoWorld) { w.pod.Spec.Containers[0].VolumeMounts[0].ReadOnly = false }},
		{name: "a mount's subPath", change: func(w *memoWorld) { w.pod.Spec.Containers[0].VolumeMounts[0].SubPath = "token" }},
		{name: "a mount's propagation", change: func(w *memoWorld) {
			w.pod.Spec.Containers[0].VolumeMounts[0].MountPropagation = ptr(corev1.MountPropagationNone)
		}},
		{name: "a volume renamed as an emptyDir mutation adds",
			base: func(w *memoWorld) { w.pod.Spec.Volumes = append(w.pod.Spec.Volumes, corev1.Volume{Name: "cache"}) },
			change: func(w *memoWorld) {
				w.pod.Spec.Volumes[1].Name = policy.VolumeName(policy.Container, "zk", "/datalog")
			}},
		{name: "a volume renamed", hit: true,
			base:   func(w *memoWorld) { w.pod.Spec.Volumes = append(w.pod.Spec.Volumes, corev1.Volume{Name: "cache"}) },
			change: func(w *memoWorld) { w.pod.Spec.Volumes[1].Name = "cache-2" }},
		{name: "one more volume", change: func(w *memoWorld) { w.pod.Spec.Volumes = append(w.pod.Spec.Volumes, corev1.Volume{Name: "cache"}) }},
		{name: "no volumes at all", change: func(w *memoWorld) {
			w.pod.Spec.Volumes = nil
			for i := range w.pod.Spec.Containers {
				w.pod.Spec.Containers[i].VolumeMounts = nil
			}
		}},
		{name: "securityContext, copied by populated-volumes=copy",
			base: func(w *memoWorld) { w.pod.Annotations[AnnotationPopulatedVolumes] = "copy" },
			change: func(w *memoWorld) {
				w.pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
			}},
		{name: "an empty securityContext",
			base:   func(w *memoWorld) { w.pod.Annotations[AnnotationPopulatedVolumes] = "copy" },
			change: func(w *memoWorld) { w.pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{} }},
		{name: "resources, copied by populated-volumes=copy",
			base: func(w *memoWorld) { w.pod.Annotations[AnnotationPopulatedVolumes] = "copy" },
			change: func(w *memoWorld) {
				w.pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
			}},
		{name: "imagePullPolicy, copied by populated-volumes=copy",
			base:   func(w *memoWorld) { w.pod.Annotations[AnnotationPopulatedVolumes] = "copy" },
			change: func(w *memoWorld) { w.pod.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways }},
		{name: "an init container", change: func(w *memoWorld) {
			w.pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: debugImg}}
		}},
		{name: "the same image as an init container", change: func(w *memoWorld) {
			w.pod.Spec.InitContainers = []corev1.Container{w.pod.Spec.Containers[0]}
			w.pod.Spec.Containers = w.pod.Spec.Containers[1:]
		}},

		// Requests that are never remembered.
		{name: "an image that cannot be read", change: func(w *memoWorld) {
			w.inspector.errs = map[string]error{plainImg: errors.New("registry unavailable")}
		}},
		{name: "an UPDATE", change: func(w *memoWorld) {
			w.old = replicaPod(w.pod.Name, "kube-api-access-abcde")
			w.old.Spec.Containers[0].Image = zkImage35
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMemoWorld()
			if tt.base != nil {
				tt.base(w)
			}
			for _, e := range []Endpoint{Mutating, Validating} {
				h := NewHandler(w.cfg, e)
				if memoHit(h, w.request(t, "a-1")) {
					t.Fatal("the first request hit the memo")
				}
				if !memoHit(h, w.request(t, "a-2")) {
					t.Fatal("the same request again missed the memo")
				}
			}
			w = newMemoWorld()
			if tt.base != nil {
				tt.base(w)
			}
			h := NewHandler(w.cfg, Mutating)
			serveReview(t, h, w.request(t, "a-1"))
			tt.change(w)
			req := w.request(t, "b-1")
			if hit := memoHit(h, req); hit != tt.hit {
				t.Errorf("memo hit %v, want %v", hit, tt.hit)
			}
			got := serveReview(t, h, req) // the memo's answer now, if it can hold one
			want := serveReview(t, NewHandler(w.cfg, Mutating), req)
			if !bytes.Equal(got, want) {
				t.Errorf("the memo answered\n%s\nwithout it:\n%s", got, want)
			}
		})
	}
}

func withoutUID(body []byte) []byte {
	var review admissionv1.AdmissionReview
	if json.Unmarshal(body, &review) != nil || review.Response == nil {
		return body
	}
	review.Response.UID = ""
	b, _ := json.Marshal(review)
	return b
}

// TestAnswerMemoCoversEveryField fails when a type the memo key reads
// gains a field: memoKey must then write it, or its comment say why it
// cannot decide the answer.
func TestAnswerMemoCoversEveryField(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want []string
	}{
		// Written by memoKey...
		{reflect.TypeFor[admissionContainer](), []string{"Name", "Image", "VolumeMounts", "VolumeDevices", "SecurityContext", "ImagePullPolicy", "Resources"}},
		{reflect.TypeFor[corev1.VolumeDevice](), []string{"Name", "DevicePath"}},
		{reflect.TypeFor[corev1.VolumeMount](), []string{"Name", "ReadOnly", "RecursiveReadOnly", "MountPath", "SubPath", "MountPropagation", "SubPathExpr", "BindMountOptions"}},
		{reflect.TypeFor[policy.Finding](), []string{"Container", "ContainerType", "Image", "Digest", "Path", "Relative", "Platforms", "Content", "NearMounts"}},
		{reflect.TypeFor[policy.Platform](), []string{"OS", "Architecture", "Variant"}},
		{reflect.TypeFor[policy.Content](), []string{"State", "Entries", "Bytes", "UID", "GID", "Mode", "Kind", "Reason"}},
		{reflect.TypeFor[settings](), []string{"mode", "sizeLimit", "populated", "warnings", "allowIgnore"}},
		// ...but the platform pins and the pull credentials, which reach
		// the answer only through the analysis, in the key too.
		{reflect.TypeFor[admissionPod]().Field(1).Type, []string{"InitContainers", "Containers", "EphemeralContainers", "Volumes",
			"NodeSelector", "Affinity", "ImagePullSecrets", "ServiceAccountName", "DeprecatedServiceAccount"}},
		// analysis.Result's Errors are never remembered, Images reach the
		// answer as findings, CredentialsErr is only logged.
		{reflect.TypeFor[analysis.Result](), []string{"Findings", "FindingsOmitted", "Ignored", "Errors", "Images", "CredentialsErr"}},
	}
	for _, tt := range tests {
		var got []string
		for i := range tt.typ.NumField() {
			// Unexported fields of other packages are derived from the
			// exported ones (policy.Finding's copyFrom: from the container).
			if f := tt.typ.Field(i); f.IsExported() || f.PkgPath == reflect.TypeFor[settings]().PkgPath() {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s has the fields %v, the memo key knows %v", tt.typ, got, tt.want)
		}
	}
}

// TestAnswerMemoVolumePrefix: the key leaves out the names of volumes
// without generatedVolumePrefix, which is sound only while every volume
// mutation adds has it.
func TestAnswerMemoVolumePrefix(t *testing.T) {
	for _, name := range []string{
		policy.VolumeName(policy.Container, "zk", "/data"),
		policy.VolumeName(policy.InitContainer, strings.Repeat("x", 80), "/"+strings.Repeat("y", 80)),
	} {
		if !strings.HasPrefix(name, generatedVolumePrefix) {
			t.Errorf("policy names a volume %q, without the prefix %q", name, generatedVolumePrefix)
		}
	}
	before := &replicaPod("p", "t").Spec
	after := before.DeepCopy()
	after.Volumes = append(after.Volumes, corev1.Volume{Name: "tools"})
	if rememberable(before, after) {
		t.Error("a mutation adding a volume without the prefix is remembered")
	}
}

// TestAnswerMemoConcurrent shares one remembered answer between requests
// in flight (go test -race).
func TestAnswerMemoConcurrent(t *testing.T) {
	w := newMemoWorld()
	h := NewHandler(w.cfg, Mutating)
	rh := newReviewHandler(Mutating, h, 8*time.Second, nil, h.cfg.Metrics, logr.Discard())
	want := withoutUID(serveReview(t, NewHandler(w.cfg, Mutating), w.request(t, "first")))
	const workers, each = 4, 20
	bodies := make([][]byte, workers*each)
	for i := range bodies {
		req := w.request(t, fmt.Sprintf("uid-%d", i))
		bodies[i] = mustJSON(t, admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request:  &req.AdmissionRequest,
		})
	}
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := g * each; i < (g+1)*each; i++ {
				r := httptest.NewRequest(http.MethodPost, "/mutate?timeout=10s", bytes.NewReader(bodies[i]))
				r.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				rh.ServeHTTP(rec, r)
				got := rec.Body.Bytes()
				if !bytes.Contains(got, fmt.Appendf(nil, `"uid":"uid-%d"`, i)) || !bytes.Equal(withoutUID(got), want) {
					t.Errorf("answer to uid-%d: %s", i, got)
				}
			}
		})
	}
	wg.Wait()
}
