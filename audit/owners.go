package audit

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Workload is what an operator calls a group of pods: their top owner.
type Workload struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// APIVersion and UID identify the object itself, for what refers to it
	// (a report's owner and scope, an Event); "" where they are not known.
	// Not in the JSON output: its contract is namespace, kind and name.
	APIVersion string    `json:"-"`
	UID        types.UID `json:"-"`
}

// mirrorAnnotation marks the API server's copy of a static pod (the
// kubelet's kubetypes.ConfigMirrorAnnotationKey). Its owner is the Node,
// which is not a workload: the static pod is reported as itself.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// owners resolves pods to workloads, reading each intermediate owner
// (ReplicaSet, Job) once per run. Not safe for concurrent use: pods are
// resolved as their pages arrive, one at a time.
type owners struct {
	client  kubernetes.Interface
	parents map[ownerKey]*metav1.OwnerReference // nil: none, or unknown
	// unread counts owners that could not be read, by kind and reason, with
	// the first error as an example.
	unread map[unreadKey]*unreadCount
	// forbidden holds the Forbidden answer for a kind in a namespace: RBAC
	// grants get per resource and namespace, so the other owners of that
	// kind there are forbidden too, and asking for each of a thousand
	// ReplicaSets only spends the client's rate limit (test/bench/auditscale).
	forbidden map[forbiddenKey]error
}

type forbiddenKey struct{ namespace, kind string }

type ownerKey struct {
	namespace, kind, name string
	uid                   types.UID
}

type unreadKey struct{ kind, reason string }

type unreadCount struct {
	n       int
	example error
}

func newOwners(client kubernetes.Interface) *owners {
	return &owners{client: client, parents: map[ownerKey]*metav1.OwnerReference{}, unread: map[unreadKey]*unreadCount{}, forbidden: map[forbiddenKey]error{}}
}

// workloadOf names the pod's top owner: Pod -> ReplicaSet -> Deployment,
// Pod -> Job -> CronJob, or the pod's controller of any other kind
// (StatefulSet, DaemonSet, ReplicationController, a custom one). A pod
// without a controller is its own workload. Where an owner cannot be read
// (forbidden, gone, replaced), the chain stops at the last one known.
func (o *owners) workloadOf(ctx context.Context, pod *corev1.Pod) Workload {
	self := Workload{Namespace: pod.Namespace, Kind: "Pod", Name: pod.Name, APIVersion: "v1", UID: pod.UID}
	if _, mirror := pod.Annotations[mirrorAnnotation]; mirror {
		return self
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return self
	}
	w := Workload{Namespace: pod.Namespace, Kind: ref.Kind, Name: ref.Name, APIVersion: ref.APIVersion, UID: ref.UID}
	if up := o.parentOf(ctx, pod.Namespace, *ref); up != nil {
		w.Kind, w.Name, w.APIVersion, w.UID = up.Kind, up.Name, up.APIVersion, up.UID
	}
	return w
}

// parentOf returns the controller of the ReplicaSet or Job that ref names,
// or nil: for other kinds, which are workloads themselves, and where none
// is known.
func (o *owners) parentOf(ctx context.Context, namespace string, ref metav1.OwnerReference) *metav1.OwnerReference {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil
	}
	var get func() (metav1.Object, error)
	switch {
	case gv.Group == "apps" && ref.Kind == "ReplicaSet":
		get = func() (metav1.Object, error) {
			return o.client.AppsV1().ReplicaSets(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		}
	case gv.Group == "batch" && ref.Kind == "Job":
		get = func() (metav1.Object, error) {
			return o.client.BatchV1().Jobs(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		}
	default:
		return nil
	}
	key := ownerKey{namespace: namespace, kind: ref.Kind, name: ref.Name, uid: ref.UID}
	if parent, seen := o.parents[key]; seen {
		return parent
	}
	var parent *metav1.OwnerReference
	fk := forbiddenKey{namespace: namespace, kind: ref.Kind}
	if err, ok := o.forbidden[fk]; ok {
		o.noteUnread(ref.Kind, err)
		o.parents[key] = nil
		return nil
	}
	obj, err := get()
	if apierrors.IsForbidden(err) {
		o.forbidden[fk] = err
	}
	switch {
	case apierrors.IsNotFound(err):
		// Gone: an orphan whose owner was deleted with --cascade=orphan.
	case err != nil:
		o.noteUnread(ref.Kind, err)
	case ref.UID != "" && obj.GetUID() != ref.UID:
		// Same name, another object: the pod's owner is gone.
	default:
		parent = metav1.GetControllerOfNoCopy(obj)
	}
	o.parents[key] = parent
	return parent
}

func (o *owners) noteUnread(kind string, err error) {
	reason := string(apierrors.ReasonForError(err))
	if reason == "" {
		reason = "error"
	}
	k := unreadKey{kind: kind, reason: reason}
	if o.unread[k] == nil {
		o.unread[k] = &unreadCount{example: err}
	}
	o.unread[k].n++
}

// notes says which owners could not be read, one line per kind and reason.
func (o *owners) notes() []string {
	var out []string
	for k, c := range o.unread {
		out = append(out, fmt.Sprintf("could not read %d %s(s) that own pods, so their pods are reported under the %s, not its owner (%s: %v)",
			c.n, k.kind, k.kind, k.reason, c.example))
	}
	sort.Strings(out)
	return out
}
