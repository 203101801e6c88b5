package chart

import (
	"net"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkWiring: whatever the values and the release's name, the names that
// tie the objects together agree: serve's flags, the Service, the Secret,
// the webhook configurations and the RBAC that names them, the selectors
// and the pods' labels, the ports.
func checkWiring(t *testing.T, r *render) {
	t.Helper()
	checkNamespaces(t, r)
	checkSelectors(t, r)
	checkPorts(t, r)
	checkWebhookTargets(t, r)
	checkCertWiring(t, r)
	for _, s := range r.subjects {
		if s.Kind != "ServiceAccount" || s.Name != r.deployment.Spec.Template.Spec.ServiceAccountName || s.Namespace != r.namespace {
			t.Errorf("binding subject %+v, want the Deployment's ServiceAccount in %s", s, r.namespace)
		}
	}
}

func checkNamespaces(t *testing.T, r *render) {
	t.Helper()
	clusterScoped := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true,
		"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true}
	for _, o := range r.objects {
		if want := r.namespace; clusterScoped[o.GetKind()] {
			want = ""
			if o.GetNamespace() != want {
				t.Errorf("%s %s: namespace %q on a cluster-scoped object", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		} else if o.GetNamespace() != want {
			t.Errorf("%s %s: namespace %q, want the release's %q", o.GetKind(), o.GetName(), o.GetNamespace(), want)
		}
	}
}

func checkSelectors(t *testing.T, r *render) {
	t.Helper()
	pods := labels.Set(r.deployment.Spec.Template.Labels)
	selectors := map[string]*metav1.LabelSelector{
		"Deployment": r.deployment.Spec.Selector,
		"Service":    {MatchLabels: r.service.Spec.Selector},
	}
	if r.pdb != nil {
		selectors["PodDisruptionBudget"] = r.pdb.Spec.Selector
	}
	if r.network != nil {
		selectors["NetworkPolicy"] = &r.network.Spec.PodSelector
	}
	for what, sel := range selectors {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(pods) {
			t.Errorf("%s selector %v does not select the pods %v", what, sel, pods)
		}
		if _, ok := sel.MatchLabels["app.kubernetes.io/instance"]; !ok {
			t.Errorf("%s selector %v would select another release's pods too", what, sel)
		}
	}
}

// checkPorts: serve listens where the container ports, the probes, the
// Service and the NetworkPolicy say.
func checkPorts(t *testing.T, r *render) {
	t.Helper()
	ports := map[string]int32{}
	for _, p := range r.container.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for flag, name := range map[string]string{"listen": "https", "metrics-listen": "metrics"} {
		if _, p, err := net.SplitHostPort(r.flag(t, flag)); err != nil || p != strconv.Itoa(int(ports[name])) {
			t.Errorf("--%s=%s but container port %s is %d", flag, r.flag(t, flag), name, ports[name])
		}
	}
	for _, probe := range []*corev1.Probe{r.container.ReadinessProbe, r.container.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Port.String() != "metrics" {
			t.Errorf("probe %+v is not on the metrics port", probe)
		}
	}
	service := map[string]string{}
	for _, p := range r.service.Spec.Ports {
		service[strconv.Itoa(int(p.Port))] = p.TargetPort.String()
	}
	if service["443"] != "https" || service["8080"] != "metrics" {
		t.Errorf("Service ports %v, want 443 -> https and 8080 -> metrics", service)
	}
	if r.network == nil {
		return
	}
	var open []int32
	for _, rule := range r.network.Spec.Ingress {
		for _, p := range rule.Ports {
			open = append(open, p.Port.IntVal)
		}
	}
	if !slices.Equal(open, []int32{ports["https"], ports["metrics"]}) {
		t.Errorf("NetworkPolicy opens ports %v, want the container's %v", open, ports)
	}
}

// checkWebhookTargets: every webhook calls the Service, on 443, and none
// is called for the release's own namespace or for namespaces in mode off.
func checkWebhookTargets(t *testing.T, r *render) {
	t.Helper()
	name := r.flag(t, "webhook-config-name")
	if r.mutating.Name != name || r.validating.Name != name {
		t.Errorf("webhook configurations %s and %s, but --webhook-config-name=%s", r.mutating.Name, r.validating.Name, name)
	}
	webhooks := r.webhooks()
	if len(webhooks) != 4 {
		t.Errorf("%d webhooks, want 4", len(webhooks))
	}
	for _, w := range webhooks {
		svc := w.ClientConfig.Service
		if svc == nil || svc.Name != r.service.Name || svc.Namespace != r.namespace || svc.Port == nil || *svc.Port != 443 {
			t.Errorf("%s calls %+v, want Service %s/%s on 443", w.Name, svc, r.namespace, r.service.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
		if err != nil {
			t.Fatal(err)
		}
		own := labels.Set{corev1.LabelMetadataName: r.namespace}
		off := labels.Set{corev1.LabelMetadataName: "team-a", "volumeguard.io/mode": "off"}
		if sel.Matches(own) || sel.Matches(off) {
			t.Errorf("%s: namespaceSelector %v selects the release's namespace or one in mode off", w.Name, sel)
		}
	}
}

// checkCertWiring: with --manage-certs the RBAC names the Secret and the
// configurations serve writes; otherwise there is no such RBAC and the
// certificate directory is the Secret.
func checkCertWiring(t *testing.T, r *render) {
	t.Helper()
	fullname := r.deployment.Name
	if r.flag(t, "service-name") != r.service.Name {
		t.Errorf("--service-name=%s, Service %s", r.flag(t, "service-name"), r.service.Name)
	}
	var certs *corev1.Volume
	for i, v := range r.deployment.Spec.Template.Spec.Volumes {
		if v.Name == "certs" {
			certs = &r.deployment.Spec.Template.Spec.Volumes[i]
		}
	}
	if certs == nil {
		t.Fatal("no certs volume")
	}
	role, cabundle := r.roles[fullname+"-certs"], r.clusterRoles[fullname+"-cabundle"]
	if r.flag(t, "manage-certs") == "true" {
		if role == nil || !slices.Equal(role.Rules[0].ResourceNames, []string{r.flag(t, "cert-secret")}) {
			t.Errorf("Role %s-certs does not name --cert-secret=%s: %+v", fullname, r.flag(t, "cert-secret"), role)
		}
		if cabundle == nil || !slices.Equal(cabundle.Rules[0].ResourceNames, []string{r.flag(t, "webhook-config-name")}) {
			t.Errorf("ClusterRole %s-cabundle does not name --webhook-config-name: %+v", fullname, cabundle)
		}
		if certs.EmptyDir == nil {
			t.Errorf("certificate volume %+v, want an emptyDir for --manage-certs", certs.VolumeSource)
		}
		return
	}
	if role != nil || cabundle != nil {
		t.Error("the RBAC of --manage-certs stays without it")
	}
	if certs.Secret == nil || certs.Secret.SecretName != r.flag(t, "cert-secret") {
		t.Errorf("certificate volume %+v, want the Secret %s", certs.VolumeSource, r.flag(t, "cert-secret"))
	}
}
