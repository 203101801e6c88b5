package audit

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const ns = "team-a"

// controllerRef is the ownerReference a controller sets on what it creates.
func controllerRef(apiVersion, kind, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid(kind, name), Controller: new(true)}
}

func uid(kind, name string) types.UID { return types.UID(kind + "/" + name) }

// wl is the workload an ownerReference made by controllerRef names.
func wl(apiVersion, kind, name string) Workload {
	return Workload{Namespace: ns, Kind: kind, Name: name, APIVersion: apiVersion, UID: uid(kind, name)}
}

// podWorkload is a pod of ownedPod's as its own workload (it has no UID).
func podWorkload(name string) Workload {
	return Workload{Namespace: ns, Kind: "Pod", Name: name, APIVersion: "v1"}
}

func replicaSet(name string, owners ...metav1.OwnerReference) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("ReplicaSet", name), OwnerReferences: owners}}
}

func job(name string, owners ...metav1.OwnerReference) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("Job", name), OwnerReferences: owners}}
}

func ownedPod(name string, owners ...metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners}}
}

func TestWorkloadOf(t *testing.T) {
	rs := func(name string) metav1.OwnerReference { return controllerRef("apps/v1", "ReplicaSet", name) }
	forbidden := func(c *fake.Clientset) {
		c.PrependReactor("get", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web-1", nil)
		})
	}
	mirror := ownedPod("etcd-node-1", metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node-1", Controller: new(true)})
	mirror.Annotations = map[string]string{mirrorAnnotation: "abc"}
	tests := []struct {
		name     string
		objects  []runtime.Object
		react    func(*fake.Clientset)
		pod      *corev1.Pod
		want     Workload
		wantGets int
		wantNote string
	}{
		{name: "bare pod", pod: ownedPod("p"), want: podWorkload("p")},
		{
			name:    "Deployment -> ReplicaSet -> Pod",
			objects: []runtime.Object{replicaSet("web-1", controllerRef("apps/v1", "Deployment", "web"))},
			pod:     ownedPod("web-1-x", rs("web-1")), want: wl("apps/v1", "Deployment", "web"), wantGets: 1,
		},
		{
			name:    "CronJob -> Job -> Pod",
			objects: []runtime.Object{job("backup-29000", controllerRef("batch/v1", "CronJob", "backup"))},
			pod:     ownedPod("backup-29000-x", controllerRef("batch/v1", "Job", "backup-29000")), want: wl("batch/v1", "CronJob", "backup"), wantGets: 1,
		},
		{
			name:    "a Job of its own",
			objects: []runtime.Object{job("migrate")},
			pod:     ownedPod("migrate-x", controllerRef("batch/v1", "Job", "migrate")), want: wl("batch/v1", "Job", "migrate"), wantGets: 1,
		},
		{
			name:    "orphan ReplicaSet",
			objects: []runtime.Object{replicaSet("web-1")},
			pod:     ownedPod("web-1-x", rs("web-1")), want: wl("apps/v1", "ReplicaSet", "web-1"), wantGets: 1,
		},
		{
			name: "ReplicaSet gone", pod: ownedPod("web-1-x", rs("web-1")),
			want: wl("apps/v1", "ReplicaSet", "web-1"), wantGets: 1,
		},
		{
			name: "ReplicaSet replaced by another of the same name",
			objects: []runtime.Object{&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", UID: "other",
				OwnerReferences: []metav1.OwnerReference{controllerRef("apps/v1", "Deployment", "web")}}}},
			pod: ownedPod("web-1-x", rs("web-1")), want: wl("apps/v1", "ReplicaSet", "web-1"), wantGets: 1,
		},
		{
			name:    "forbidden to read the ReplicaSet",
			objects: []runtime.Object{replicaSet("web-1", controllerRef("apps/v1", "Deployment", "web"))},
			react:   forbidden, pod: ownedPod("web-1-x", rs("web-1")),
			want: wl("apps/v1", "ReplicaSet", "web-1"), wantGets: 1, wantNote: "could not read 1 ReplicaSet(s) that own pods, so their pods are reported under the ReplicaSet, not its owner (Forbidden",
		},
		{name: "StatefulSet, no read", pod: ownedPod("zk-0", controllerRef("apps/v1", "StatefulSet", "zk")), want: wl("apps/v1", "StatefulSet", "zk")},
		{name: "DaemonSet, no read", pod: ownedPod("agent-x", controllerRef("apps/v1", "DaemonSet", "agent")), want: wl("apps/v1", "DaemonSet", "agent")},
		{name: "ReplicationController, no read", pod: ownedPod("old-x", controllerRef("v1", "ReplicationController", "old")), want: wl("v1", "ReplicationController", "old")},
		{name: "a custom controller", pod: ownedPod("x", controllerRef("example.com/v1", "Thing", "t")), want: wl("example.com/v1", "Thing", "t")},
		{
			name: "a ReplicaSet of another API group is not read",
			pod:  ownedPod("x", controllerRef("example.com/v1", "ReplicaSet", "r")), want: wl("example.com/v1", "ReplicaSet", "r"),
		},
		{name: "mirror pod is itself, not its Node", pod: mirror, want: podWorkload("etcd-node-1")},
		{
			name: "an owner that is not the controller does not make a workload",
			pod:  ownedPod("p", metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "c", UID: "c"}), want: podWorkload("p"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			if tt.react != nil {
				tt.react(client)
			}
			o := newOwners(client)
			// Twice: the second answer comes from the cache.
			for range 2 {
				if got := o.workloadOf(context.Background(), tt.pod); got != tt.want {
					t.Errorf("workloadOf = %+v, want %+v", got, tt.want)
				}
			}
			if gets := countVerb(client, "get"); gets != tt.wantGets {
				t.Errorf("%d GETs, want %d", gets, tt.wantGets)
			}
			notes := strings.Join(o.notes(), "\n")
			if tt.wantNote == "" && notes != "" || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes = %q, want %q", notes, tt.wantNote)
			}
		})
	}
}

func countVerb(c *fake.Clientset, verb string) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == verb {
			n++
		}
	}
	return n
}

// TestWorkloadOfForbiddenAsksOncePerNamespace: once reading ReplicaSets is
// forbidden in a namespace, its other ReplicaSets are not asked for (a
// thousand owners, a thousand forbidden GETs before), but still counted;
// another namespace, where a RoleBinding may allow it, is asked.
func TestWorkloadOfForbiddenAsksOncePerNamespace(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "replicasets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "", nil)
	})
	o := newOwners(client)
	for _, name := range []string{"web-1", "web-2", "api-1"} {
		p := ownedPod(name+"-x", controllerRef("apps/v1", "ReplicaSet", name))
		got := o.workloadOf(context.Background(), p)
		if want := (Workload{Namespace: ns, Kind: "ReplicaSet", Name: name}); got.Namespace != want.Namespace || got.Kind != want.Kind || got.Name != want.Name {
			t.Errorf("workloadOf = %+v, want %+v", got, want)
		}
	}
	other := ownedPod("web-1-x", controllerRef("apps/v1", "ReplicaSet", "web-1"))
	other.Namespace = "team-b"
	o.workloadOf(context.Background(), other)
	if gets := countVerb(client, "get"); gets != 2 {
		t.Errorf("%d GETs, want 2: one per namespace", gets)
	}
	if notes := strings.Join(o.notes(), "\n"); !strings.Contains(notes, "could not read 4 ReplicaSet(s)") {
		t.Errorf("notes = %q, want the 4 unread ReplicaSets counted", notes)
	}
}
