package e2e

import (
	"bufio"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volumeguard/volumeguard/manifests"
)

// startAuditor runs `volumeguard serve` with the background audit, on a
// port of its own, with kubeconfig, electing through the manifests' Lease.
func startAuditor(t *testing.T, kubeconfig string) *server {
	t.Helper()
	opts := s.env.WebhookInstallOptions
	return startServe(t,
		"--listen", freeAddr(t),
		"--tls-cert-file", filepath.Join(opts.LocalServingCertDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(opts.LocalServingCertDir, "tls.key"),
		"--audit-interval", "1m", "--reports", "--events",
		"--leader-election-namespace", "volumeguard", "--leader-election-lease", "volumeguard-audit",
		"--kubeconfig", kubeconfig, // the last one counts
	)
}

const serveAccount = "system:serviceaccount:volumeguard:volumeguard"

// asServeAccount creates the ServiceAccount and RBAC of overlays/audit with
// components/continuous-audit and audit-events, and returns a kubeconfig
// acting as that ServiceAccount: the replicas get what the install grants,
// no more. Removed, with the Lease, when t ends.
func asServeAccount(t *testing.T) string {
	t.Helper()
	objs, err := manifests.RenderWith("overlays/audit", "continuous-audit", "audit-events")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := runtimeClientWithWarnings(t)
	var created []*unstructured.Unstructured
	t.Cleanup(func() {
		err := s.client.CoordinationV1().Leases("volumeguard").Delete(ctx(t), "volumeguard-audit", metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting the Lease: %v", err)
		}
		uninstall(t, c, created)
	})
	for _, obj := range objs {
		switch obj.GetKind() {
		case "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if err := c.Create(ctx(t), obj.DeepCopy(), client.FieldValidation("Strict")); err != nil {
			t.Fatalf("creating %s: %v", describe(obj), err)
		}
		created = append(created, obj)
	}
	return kubeconfigAs(t, serveAccount, "system:serviceaccounts", "system:serviceaccounts:volumeguard", "system:authenticated")
}

// metric returns the value of the sample whose line starts with prefix
// (name and labels), as /metrics writes it, and whether there is one.
func (srv *server) metric(t *testing.T, prefix string) (string, bool) {
	t.Helper()
	resp, err := http.Get("http://" + srv.metrics + "/metrics")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix+" "); ok {
			return rest, true
		}
	}
	return "", false
}

func (srv *server) leading(t *testing.T) bool {
	v, _ := srv.metric(t, "volumeguard_audit_leader")
	return v == "1"
}

// TestContinuousAudit runs two `serve --audit-interval` replicas as the
// manifests' ServiceAccount, with the RBAC of components/continuous-audit
// and audit-events: one is elected and audits (reports, metric, Event);
// when it stops, the other takes the Lease over and audits in its place.
func TestContinuousAudit(t *testing.T) {
	ns := uniqueName("continuous-e2e")
	auditNamespace(t, ns)
	installReportCRD(t, "openreports-crds", "openreports.io_reports.yaml", openReports)
	pod := auditPod("zk", "node-1", nil, nil, corev1.Container{Name: "zk", Image: s.images["zookeeper"]})
	createRunning(t, ns, pod, corev1.PodRunning, "")
	created, err := s.client.CoreV1().Pods(ns).Get(ctx(t), "zk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report := "volumeguard-" + string(created.UID)
	series := `volumeguard_workload_uncovered_volumes{kind="Pod",name="zk",namespace="` + ns + `"}`

	kubeconfig := asServeAccount(t)
	replicas := []*server{startAuditor(t, kubeconfig), startAuditor(t, kubeconfig)}
	const lease = "volumeguard-audit"
	var leader, follower *server
	waitUntil(t, "one replica is elected", func() bool {
		for i, r := range replicas {
			if r.leading(t) {
				leader, follower = r, replicas[1-i]
				return true
			}
		}
		return false
	})

	t.Run("the elected replica audits: report, metric, Event", func(t *testing.T) {
		waitUntil(t, "the report exists", func() bool { return listReports(t, openReports, ns)[report] != nil })
		waitUntil(t, "the leader exports the workload's series", func() bool {
			v, ok := leader.metric(t, series)
			return ok && v == "3"
		})
		var events *corev1.EventList
		waitUntil(t, "a Warning Event on the pod", func() bool {
			events, err = s.client.CoreV1().Events(ns).List(ctx(t), metav1.ListOptions{FieldSelector: fields.Set{
				"involvedObject.name": "zk", "reason": "UncoveredImageVolume"}.String()})
			return err == nil && len(events.Items) > 0
		})
		e := events.Items[0]
		if len(events.Items) != 1 || e.Type != corev1.EventTypeWarning || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.UID != created.UID {
			t.Errorf("events %+v, want one Warning on the pod", events.Items)
		}
		wantAll(t, "event message", e.Message, `container "zk"`, "VOLUME /data, /datalog, /logs")
	})

	t.Run("elected once: the other replica neither leads nor exports", func(t *testing.T) {
		if follower.leading(t) {
			t.Errorf("both replicas lead")
		}
		if _, ok := follower.metric(t, series); ok {
			t.Errorf("the follower exports %s", series)
		}
		if n := strings.Count(leader.logs.String()+follower.logs.String(), "elected auditor: scanning"); n != 1 {
			t.Errorf("%d replicas started auditing, want 1", n)
		}
	})

	t.Run("the Lease is handed over when the leader stops", func(t *testing.T) {
		l, err := s.client.CoordinationV1().Leases("volumeguard").Get(ctx(t), lease, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before := *l.Spec.HolderIdentity
		leader.stop(t)
		waitUntil(t, "the other replica holds the Lease", func() bool {
			l, err := s.client.CoordinationV1().Leases("volumeguard").Get(ctx(t), lease, metav1.GetOptions{})
			return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" && *l.Spec.HolderIdentity != before
		})
		// The series is exported before the run writes its reports and
		// logs "audit done": wait for both.
		waitUntil(t, "the new leader audits and exports the series", func() bool {
			v, ok := follower.metric(t, series)
			return follower.leading(t) && ok && v == "3" && strings.Contains(follower.logs.String(), "audit done")
		})
		wantAll(t, "new leader's logs", follower.logs.String(), "elected auditor: scanning", "audit done")
		for _, r := range replicas {
			// The RBAC of the components suffices: nothing forbidden.
			if logs := r.logs.String(); strings.Contains(logs, "forbidden") {
				t.Errorf("a replica was refused something:\n%s", logs)
			}
		}
	})
}
