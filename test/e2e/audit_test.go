package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/volumeguard/volumeguard/internal/testimage"
)

// TestAudit runs `volumeguard audit` on workloads made as their controllers
// would make them: envtest runs no controllers, so the test creates the
// ReplicaSets, Jobs and Pods with their ownerReferences, and sets what the
// kubelet would report (phase, node, imageID) through the status.
func TestAudit(t *testing.T) {
	// A fresh namespace per run: envtest has no namespace controller to
	// delete one, and the suite may run again on the same API server.
	ns := uniqueName("audit-e2e")
	auditNamespace(t, ns)
	zk, nginx := s.images["zookeeper"], s.images["nginx"]
	zkDigest := digestOf(t, zk)

	// The CronJob's pod runs an image whose tag has moved on since: audit
	// must judge the digest that runs, not what the tag names now.
	backupImage := s.registry + "/library/backup:e2e"
	runningDigest, err := testimage.Push(backupImage, []string{"/data", "/datalog", "/logs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testimage.Push(backupImage, []string{"/elsewhere"}); err != nil {
		t.Fatal(err)
	}

	labels := map[string]string{"app": "zk"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: zk}}},
	}
	deploy := create(t, s.client.AppsV1().Deployments(ns).Create, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "zk"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	})
	var revisions []*appsv1.ReplicaSet
	for _, rev := range []string{"zk-rev1", "zk-rev2"} {
		revisions = append(revisions, create(t, s.client.AppsV1().ReplicaSets(ns).Create, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: rev, OwnerReferences: []metav1.OwnerReference{controlledBy(deploy, "apps/v1", "Deployment")}},
			Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
		}))
	}
	jobSpec := batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "backup", Image: backupImage}},
	}}}
	cron := create(t, s.client.BatchV1().CronJobs(ns).Create, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup"},
		Spec:       batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: jobSpec}},
	})
	job := create(t, s.client.BatchV1().Jobs(ns).Create, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "backup-29000", OwnerReferences: []metav1.OwnerReference{controlledBy(cron, "batch/v1", "CronJob")}},
		Spec:       jobSpec,
	})

	rev1, rev2 := controlledBy(revisions[0], "apps/v1", "ReplicaSet"), controlledBy(revisions[1], "apps/v1", "ReplicaSet")
	zkContainers := func(mounts ...string) []corev1.Container {
		c := corev1.Container{Name: "zk", Image: zk}
		for i, m := range mounts {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: fmt.Sprintf("v%d", i), MountPath: m})
		}
		return []corev1.Container{c, {Name: "web", Image: nginx}}
	}
	pods := []struct {
		pod     *corev1.Pod
		phase   corev1.PodPhase
		imageID string
	}{
		// Revision 1 mounts nothing, revision 2 covers /data.
		{pod: auditPod("zk-rev1-a", "node-1", labels, &rev1, zkContainers()...), phase: corev1.PodRunning},
		{pod: auditPod("zk-rev2-a", "node-2", labels, &rev2, zkContainers("/data")...), phase: corev1.PodRunning},
		{pod: auditPod("zk-rev2-b", "node-1", labels, &rev2, zkContainers("/data")...), phase: corev1.PodRunning},
		// Finished: no container runs, no volume is left to report.
		{pod: auditPod("zk-rev1-done", "node-9", labels, &rev1, zkContainers()...), phase: corev1.PodSucceeded},
		{
			pod:   auditPod("backup-29000-x", "node-2", nil, ptr(controlledBy(job, "batch/v1", "Job")), corev1.Container{Name: "backup", Image: backupImage}),
			phase: corev1.PodRunning, imageID: backupImage[:len(backupImage)-len(":e2e")] + "@" + runningDigest,
		},
		{pod: auditPod("web", "node-3", nil, nil, corev1.Container{Name: "web", Image: nginx}), phase: corev1.PodRunning},
	}
	for _, p := range pods {
		createRunning(t, ns, p.pod, p.phase, p.imageID)
	}

	t.Run("json", func(t *testing.T) {
		res := runAudit(t, "-o", "json", "-n", ns)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1 (findings); stderr:\n%s", res.code, res.stderr)
		}
		finding := func(kind, name, container, image, digest, path string, pods int, nodes ...string) map[string]any {
			nodeList := []any{}
			for _, n := range nodes {
				nodeList = append(nodeList, n)
			}
			return map[string]any{
				"namespace": ns, "kind": kind, "name": name, "container": container, "containerType": "container",
				"image": image, "digest": digest, "path": path, "pods": float64(pods), "nodes": nodeList,
				// The test images' one random layer ships nothing there.
				"content": map[string]any{"state": "absent", "entries": float64(0), "bytes": float64(0)},
			}
		}
		want := map[string]any{
			"findings": []any{
				finding("CronJob", "backup", "backup", backupImage, runningDigest, "/data", 1, "node-2"),
				finding("CronJob", "backup", "backup", backupImage, runningDigest, "/datalog", 1, "node-2"),
				finding("CronJob", "backup", "backup", backupImage, runningDigest, "/logs", 1, "node-2"),
				finding("Deployment", "zk", "zk", zk, zkDigest, "/data", 1, "node-1"),
				finding("Deployment", "zk", "zk", zk, zkDigest, "/datalog", 3, "node-1", "node-2"),
				finding("Deployment", "zk", "zk", zk, zkDigest, "/logs", 3, "node-1", "node-2"),
			},
			"errors": []any{},
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("%v in:\n%s", err, res.stdout)
		}
		if !reflect.DeepEqual(got, want) {
			wantJSON, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("report:\n%s\nwant:\n%s", res.stdout, wantJSON)
		}
	})

	t.Run("text names workloads, nodes and the fix", func(t *testing.T) {
		res := runAudit(t, "-n", ns)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1; stderr:\n%s", res.code, res.stderr)
		}
		wantAll(t, "text report", res.stdout,
			"Deployment "+ns+"/zk\n",
			"VOLUME /data: no volumeMount of this container covers it (1 pod on node-1)",
			"VOLUME /datalog: no volumeMount of this container covers it (3 pods on node-1, node-2)",
			"CronJob "+ns+"/backup\n",
			fmt.Sprintf("container %q, image %s @ %s: 1 pod on node-2", "backup", backupImage, runningDigest),
			"fix: cover each path with an emptyDir that has a sizeLimit, in the pod template:",
			"mountPath: /datalog",
			"6 findings in 2 workloads on 2 nodes, 0 errors",
		)
	})

	t.Run("a label selector narrows the pods", func(t *testing.T) {
		res := runAudit(t, "-o", "json", "-n", ns, "-l", "app=zk")
		var got struct {
			Findings []struct{ Kind string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if res.code != 1 || len(got.Findings) != 3 || got.Findings[0].Kind != "Deployment" {
			t.Errorf("exit code %d, findings %+v; want the Deployment's 3", res.code, got.Findings)
		}
	})

	t.Run("RBAC: the documented rules suffice; without them, owners stop at what could be read", func(t *testing.T) {
		documented := []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{"apps", "batch"}, Resources: []string{"replicasets", "jobs"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"get"}},
		}
		full := runAudit(t, "-o", "json", "-n", ns)
		documentedRun := runAuditAs(t, grantUser(t, ns, "auditor", documented), "-o", "json", "-n", ns)
		if documentedRun.code != 1 || documentedRun.stdout != full.stdout || documentedRun.stderr != "" {
			t.Errorf("with the documented rules: exit %d, stderr %q, same report %v; want 1, none, true",
				documentedRun.code, documentedRun.stderr, documentedRun.stdout == full.stdout)
		}

		podsOnly := grantUser(t, ns, "pod-lister", documented[:1])
		res := runAuditAs(t, podsOnly, "-o", "json", "-n", ns)
		var got struct {
			Findings []struct{ Kind, Name string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatal(err)
		}
		workloads := map[string]bool{}
		for _, f := range got.Findings {
			workloads[f.Kind+"/"+f.Name] = true
		}
		want := map[string]bool{"Job/backup-29000": true, "ReplicaSet/zk-rev1": true, "ReplicaSet/zk-rev2": true}
		if res.code != 1 || !reflect.DeepEqual(workloads, want) {
			t.Errorf("exit %d, workloads %v; want 1 and %v", res.code, workloads, want)
		}
		wantAll(t, "stderr", res.stderr, "could not read 2 ReplicaSet(s) that own pods", "(Forbidden", "could not read 1 Job(s)", "pull secrets not read")

		res = runAuditAs(t, podsOnly, "-o", "json") // all namespaces: not granted
		if res.code != 2 {
			t.Errorf("listing every namespace without the right: exit %d, want 2", res.code)
		}
		wantAll(t, "report", res.stdout, "listing pods in all namespaces", "forbidden")
	})

	t.Run("an unreadable image exits 2 naming it", func(t *testing.T) {
		broken := uniqueName("audit-e2e-broken")
		auditNamespace(t, broken)
		missing := s.registry + "/library/missing:e2e"
		createRunning(t, broken, auditPod("ghost", "node-1", nil, nil, corev1.Container{Name: "ghost", Image: missing}), corev1.PodRunning, "")
		res := runAudit(t, "-o", "json", "-n", broken)
		if res.code != 2 {
			t.Fatalf("exit code %d, want 2; stdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
		var got struct {
			Findings []any `json:"findings"`
			Errors   []struct {
				Namespace, Kind, Name, Container, Image, Message string
			} `json:"errors"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Findings) != 0 || len(got.Errors) != 1 {
			t.Fatalf("report = %+v, want one error", got)
		}
		e := got.Errors[0]
		if e.Namespace != broken || e.Kind != "Pod" || e.Name != "ghost" || e.Container != "ghost" || e.Image != missing {
			t.Errorf("error = %+v", e)
		}
		wantAll(t, "error message", e.Message, missing)
	})
}

func auditNamespace(t *testing.T, name string) {
	t.Helper()
	// Isolated: the suite's webhook configurations (and their
	// failurePolicy: Fail) do not apply, with or without a server running.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		isolatedLabel: "true", "volumeguard.io/mode": "off",
	}}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func create[T any](t *testing.T, fn func(context.Context, T, metav1.CreateOptions) (T, error), obj T) T {
	t.Helper()
	created, err := fn(ctx(t), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating %T: %v", obj, err)
	}
	return created
}

// controlledBy is the ownerReference a controller puts on what it creates.
func controlledBy(owner metav1.Object, apiVersion, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr(true), BlockOwnerDeletion: ptr(true),
	}
}

// auditPod is a pod bound to node, with an emptyDir for each volume its
// containers mount.
func auditPod(name, node string, labels map[string]string, owner *metav1.OwnerReference, containers ...corev1.Container) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: containers},
	}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	seen := map[string]bool{}
	for _, c := range containers {
		for _, m := range c.VolumeMounts {
			if !seen[m.Name] {
				seen[m.Name] = true
				pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: m.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			}
		}
	}
	return pod
}

// createRunning creates pod and reports, as its kubelet would, its phase
// and, when imageID is set, the image its first container runs.
func createRunning(t *testing.T, namespace string, pod *corev1.Pod, phase corev1.PodPhase, imageID string) {
	t.Helper()
	created := create(t, s.client.CoreV1().Pods(namespace).Create, pod)
	created.Status.Phase = phase
	if imageID != "" {
		c := created.Spec.Containers[0]
		created.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: c.Name, Image: c.Image, ImageID: imageID, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		}}
	}
	if _, err := s.client.CoreV1().Pods(namespace).UpdateStatus(ctx(t), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the status of pod %s: %v", pod.Name, err)
	}
}

// grantUser binds rules in namespace to user, and returns a kubeconfig that
// acts as that user (impersonated by the suite's administrator).
func grantUser(t *testing.T, namespace, user string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	create(t, s.client.RbacV1().Roles(namespace).Create, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: rules})
	create(t, s.client.RbacV1().RoleBindings(namespace).Create, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})
	return kubeconfigAs(t, user)
}

// kubeconfigAs returns a kubeconfig that acts as user in groups,
// impersonated by the suite's administrator.
func kubeconfigAs(t *testing.T, user string, groups ...string) string {
	t.Helper()
	path := writeKubeconfig(t, s.cfg)
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range kc.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func digestOf(t *testing.T, image string) string {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("reading the digest of %s: %v", image, err)
	}
	return desc.Digest.String()
}

type auditResult struct {
	code           int
	stdout, stderr string
}

// runAudit runs the built binary against the suite's API server as its
// administrator, without the user's docker credentials.
func runAudit(t *testing.T, args ...string) auditResult {
	t.Helper()
	return runAuditAs(t, writeKubeconfig(t, s.cfg), args...)
}

func runAuditAs(t *testing.T, kubeconfig string, args ...string) auditResult {
	t.Helper()
	cmd := exec.Command(s.bin, append([]string{"audit", "--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := auditResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running volumeguard audit: %v", err)
	}
	return res
}
