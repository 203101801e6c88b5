package chart

import (
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/diff"
	"sigs.k8s.io/yaml"
)

// TestValueGroups: each group's values land where they should, and the
// objects stay wired together (checkWiring). TestSameAsKustomize compares
// the defaults and the values that stand for a kustomize component with
// the kustomize install.
func TestValueGroups(t *testing.T) {
	helm := HelmBinary(t)
	ca := testCA(t)
	checks := map[string]func(t *testing.T, r *render, values map[string]any){
		"defaults": func(t *testing.T, r *render, _ map[string]any) {
			if r.deployment.Name != "vg-defaults-volumeguard" {
				t.Errorf("Deployment %s: the release's name and the chart's make the names", r.deployment.Name)
			}
		},
		"audit": func(t *testing.T, r *render, _ map[string]any) {
			for flag, want := range map[string]string{"audit-interval": "15m", "reports": "true", "report-api": "openreports",
				"events": "true", "leader-election-lease": "vg-auditor", "audit-concurrency": "2"} {
				if got := r.flag(t, flag); got != want {
					t.Errorf("--%s=%s, want %s", flag, got, want)
				}
			}
			for _, name := range []string{r.release + "-volumeguard-audit", r.release + "-volumeguard-audit-events"} {
				if r.clusterRoles[name] == nil {
					t.Errorf("no ClusterRole %s: the audit's RBAC comes with audit.enabled", name)
				}
			}
			lease := r.roles[r.release+"-volumeguard-audit-lease"]
			if lease == nil || len(lease.Rules) == 0 || !slices.Equal(lease.Rules[0].ResourceNames, []string{"vg-auditor"}) {
				t.Errorf("Lease Role %+v: want get and update on the Lease vg-auditor only", lease)
			}
		},
		"settings": func(t *testing.T, r *render, _ map[string]any) {
			for flag, want := range map[string]string{"mode": "enforce", "default-size-limit": "2Gi",
				"on-registry-error": "deny", "admission-timeout": "5s", "log-level": "debug"} {
				if got := r.flag(t, flag); got != want {
					t.Errorf("--%s=%s, want %s", flag, got, want)
				}
			}
			for name, w := range r.webhooks() {
				want := admissionregistrationv1.Ignore
				if name == "pods.validate.volumeguard.io" {
					want = admissionregistrationv1.Fail // enforce holds when volumeguard is unreachable
				}
				if *w.FailurePolicy != want {
					t.Errorf("%s: failurePolicy %s, want %s in mode enforce", name, *w.FailurePolicy, want)
				}
			}
		},
		"webhooks": func(t *testing.T, r *render, _ map[string]any) {
			if got := r.flag(t, "admission-timeout"); got != "3s" {
				t.Errorf("--admission-timeout=%s, want 3s: two seconds under timeoutSeconds 5", got)
			}
			want := map[string]admissionregistrationv1.FailurePolicyType{
				"pods.mutate.volumeguard.io": "Fail", "pods.validate.volumeguard.io": "Ignore",
				"pod-updates.validate.volumeguard.io": "Fail", "workloads.validate.volumeguard.io": "Fail"}
			for name, w := range r.webhooks() {
				if *w.FailurePolicy != want[name] || *w.TimeoutSeconds != 5 {
					t.Errorf("%s: failurePolicy %s, timeoutSeconds %d; want %s and 5", name, *w.FailurePolicy, *w.TimeoutSeconds, want[name])
				}
				ns := w.NamespaceSelector
				if ns.MatchLabels["team"] != "payments" || len(ns.MatchExpressions) != 3 ||
					!slices.Equal(ns.MatchExpressions[0].Values, []string{"kube-system", r.namespace}) ||
					ns.MatchExpressions[2].Key != "env" {
					t.Errorf("%s: namespaceSelector %+v, want the exclusions and the values' conditions", name, ns)
				}
				if w.ObjectSelector == nil || len(w.ObjectSelector.MatchExpressions) != 1 ||
					w.ObjectSelector.MatchExpressions[0].Operator != metav1.LabelSelectorOpDoesNotExist {
					t.Errorf("%s: objectSelector %+v", name, w.ObjectSelector)
				}
			}
		},
		"scheduling": func(t *testing.T, r *render, values map[string]any) {
			pod := r.deployment.Spec.Template.Spec
			if *r.deployment.Spec.Replicas != 3 || pod.PriorityClassName != "system-cluster-critical" ||
				pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 {
				t.Errorf("replicas %d, priorityClassName %q, nodeSelector %v, tolerations %v",
					*r.deployment.Spec.Replicas, pod.PriorityClassName, pod.NodeSelector, pod.Tolerations)
			}
			if pod.Affinity.PodAntiAffinity != nil || pod.Affinity.NodeAffinity == nil {
				t.Errorf("affinity %+v: the values' replace the default", pod.Affinity)
			}
			if len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
				t.Errorf("topologySpreadConstraints %+v: the values' replace the default", pod.TopologySpreadConstraints)
			}
			sameAsValues(t, values["resources"], r.container.Resources)
			if r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() != 1 || r.pdb.Spec.MinAvailable != nil ||
				*r.pdb.Spec.UnhealthyPodEvictionPolicy != "IfHealthyBudget" {
				t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1 alone", r.pdb.Spec)
			}
			tmpl := r.deployment.Spec.Template
			if tmpl.Annotations["sidecar.istio.io/inject"] != "false" || tmpl.Labels["team"] != "platform" ||
				tmpl.Labels["app.kubernetes.io/component"] != "webhook" {
				t.Errorf("pod annotations %v, labels %v", tmpl.Annotations, tmpl.Labels)
			}
		},
		"hostnetwork": func(t *testing.T, r *render, _ map[string]any) {
			pod := r.deployment.Spec.Template.Spec
			if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("hostNetwork %v, dnsPolicy %q; want true and ClusterFirstWithHostNet (kyverno#1443)", pod.HostNetwork, pod.DNSPolicy)
			}
			if r.flag(t, "listen") != ":9443" || r.flag(t, "metrics-listen") != ":9080" {
				t.Errorf("--listen=%s --metrics-listen=%s", r.flag(t, "listen"), r.flag(t, "metrics-listen"))
			}
		},
		"certmanager": func(t *testing.T, r *render, _ map[string]any) {
			serving := r.other["Certificate/vg-certmanager-volumeguard-serving"]
			if serving == nil {
				t.Fatalf("no serving Certificate: %v", sortedKeys(r.other))
			}
			dnsNames, _, _ := unstructured.NestedStringSlice(serving.Object, "spec", "dnsNames")
			if !slices.Contains(dnsNames, r.service.Name+"."+r.namespace+".svc") {
				t.Errorf("serving Certificate for %v, not for the Service", dnsNames)
			}
			want := r.namespace + "/" + serving.GetName()
			for _, o := range []metav1.Object{r.mutating, r.validating} {
				if got := o.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != want {
					t.Errorf("%s: inject-ca-from %q, want %q", o.GetName(), got, want)
				}
			}
		},
		"ownsecret": func(t *testing.T, r *render, _ map[string]any) {
			if r.flag(t, "cert-secret") != "webhook-tls" {
				t.Errorf("--cert-secret=%s, want the values' webhook-tls", r.flag(t, "cert-secret"))
			}
			for name, w := range r.webhooks() {
				if strings.TrimSpace(string(w.ClientConfig.CABundle)) != strings.TrimSpace(ca) {
					t.Errorf("%s: caBundle %q, want the values' CA", name, w.ClientConfig.CABundle)
				}
			}
		},
		"monitoring": func(t *testing.T, r *render, _ map[string]any) {
			sm := r.other["ServiceMonitor/vg-monitoring-volumeguard"]
			if sm == nil {
				t.Fatalf("no ServiceMonitor: %v", sortedKeys(r.other))
			}
			sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			for k, v := range sel {
				if r.service.Labels[k] != v {
					t.Errorf("ServiceMonitor selects %s=%s; the Service has %v", k, v, r.service.Labels)
				}
			}
			if sm.GetLabels()["release"] != "prometheus" {
				t.Errorf("ServiceMonitor labels %v lack the values' release=prometheus", sm.GetLabels())
			}
		},
		"network": func(t *testing.T, r *render, _ map[string]any) {
			np := r.network.Spec
			if len(np.Ingress[0].From) != 1 || np.Ingress[0].From[0].IPBlock.CIDR != "10.0.0.0/24" || len(np.Ingress[1].From) != 1 {
				t.Errorf("ingress %+v, want the values' sources", np.Ingress)
			}
			if !slices.Contains(np.PolicyTypes, "Egress") || len(np.Egress) != 2 || len(np.Egress[1].Ports) != 3 {
				t.Errorf("egress %+v, want DNS and 443, 6443, 5000", np.Egress)
			}
		},
		"registry": func(t *testing.T, r *render, _ map[string]any) {
			if r.container.Image != "registry.example/platform/volumeguard@sha256:"+strings.Repeat("ab", 32) ||
				r.container.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("image %s (%s), want the digest to win over the tag", r.container.Image, r.container.ImagePullPolicy)
			}
			want := map[string][]string{
				"pull-secrets":       {"false"},
				"registry-mirror":    {"docker.io=mirror.example:5000,harbor.example/dockerhub-proxy", "ghcr.io=http://ghcr-cache.internal"},
				"allowed-registries": {"docker.io,*.dkr.ecr.*.amazonaws.com,ghcr.io/my-org"},
				"denied-registries":  {"docker.io/library/forbidden"},
				"insecure-registry":  {"registry.local:5000"},
				"registry-ca-file":   {"/etc/volumeguard/registry-ca/ca.crt"},
				"tag-ttl":            {"10m"},
				"not-found-ttl":      {"30s"},
			}
			for flag, values := range want {
				if !slices.Equal(r.flags[flag], values) {
					t.Errorf("--%s %v, want %v", flag, r.flags[flag], values)
				}
			}
			if last := r.container.Args[len(r.container.Args)-1]; last != "--not-found-ttl=30s" {
				t.Errorf("last argument %q: extraArgs come last", last)
			}
			if cm := r.other["ConfigMap/vg-registry-volumeguard-registry-ca"]; cm == nil ||
				strings.TrimSpace(cm.Object["data"].(map[string]any)["ca.crt"].(string)) != strings.TrimSpace(ca) {
				t.Errorf("no ConfigMap with the values' CA: %v", sortedKeys(r.other))
			}
			if r.clusterRoles["vg-registry-volumeguard-pull-secrets"] != nil {
				t.Error("pullSecrets false keeps the ClusterRole reading every Secret")
			}
			env := map[string]string{}
			for _, e := range r.container.Env {
				env[e.Name] = e.Value
			}
			if env["DOCKER_CONFIG"] == "" || len(r.deployment.Spec.Template.Spec.ImagePullSecrets) != 1 {
				t.Errorf("env %v, imagePullSecrets %v", env, r.deployment.Spec.Template.Spec.ImagePullSecrets)
			}
		},
		"minimal": func(t *testing.T, r *render, _ map[string]any) {
			if r.network != nil || r.pdb != nil {
				t.Error("NetworkPolicy or PodDisruptionBudget rendered though disabled")
			}
			if r.deployment.Name != "vg-minimal-guard" || r.deployment.Spec.Template.Labels["app.kubernetes.io/name"] != "guard" {
				t.Errorf("Deployment %s, pod labels %v: nameOverride", r.deployment.Name, r.deployment.Spec.Template.Labels)
			}
			for _, v := range r.deployment.Spec.Template.Spec.Volumes {
				if v.Name == "registry-ca" && (v.ConfigMap == nil || v.ConfigMap.Name != "trust-bundle") {
					t.Errorf("registry CA volume %+v, want the values' ConfigMap", v.VolumeSource)
				}
			}
		},
	}
	for _, g := range ValueGroups(ca) {
		check, ok := checks[g.Name]
		if !ok {
			t.Errorf("no check for value group %s", g.Name)
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			values := map[string]any{}
			if err := yaml.Unmarshal([]byte(g.Values), &values); err != nil {
				t.Fatal(err)
			}
			r := templateGroup(t, helm, g)
			checkWiring(t, r)
			check(t, r, values)
		})
	}
}

// sameAsValues: a value passed through to the object unchanged.
func sameAsValues(t *testing.T, value, got any) {
	t.Helper()
	data, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var rendered any
	if err := yaml.Unmarshal(data, &rendered); err != nil {
		t.Fatal(err)
	}
	if d := diff.Diff(value, rendered); d != "" {
		t.Errorf("rendered differently from the values (- values, + rendered):\n%s", d)
	}
}
