package manifests

import (
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/volumeguard/volumeguard/certs"
)

// What differs between the overlays.
var overlayWants = map[string]struct {
	mode                 string
	manageCerts          string
	podCreateFailPolicy  admissionregistrationv1.FailurePolicyType
	certVolumeFromSecret bool
}{
	"overlays/audit":        {"audit", "true", admissionregistrationv1.Ignore, false},
	"overlays/enforce":      {"enforce", "true", admissionregistrationv1.Fail, false},
	"overlays/cert-manager": {"audit", "false", admissionregistrationv1.Ignore, true},
}

func TestOverlayInvariants(t *testing.T) {
	for _, overlay := range Overlays() {
		want, ok := overlayWants[overlay]
		if !ok {
			t.Fatalf("no expectations for %s", overlay)
		}
		t.Run(overlay, func(t *testing.T) {
			in := load(t, overlay)
			flags := in.flags(t)
			if flags["mode"] != want.mode || flags["manage-certs"] != want.manageCerts {
				t.Errorf("--mode=%s --manage-certs=%s, want %s and %s", flags["mode"], flags["manage-certs"], want.mode, want.manageCerts)
			}
			checkDeployment(t, in, flags, want.certVolumeFromSecret)
			checkWebhooks(t, in, flags, want.podCreateFailPolicy)
			if want.manageCerts == "true" {
				checkSelfManagedCerts(t, in, flags)
			} else {
				checkCertManager(t, in, flags)
			}
		})
	}
}

func checkDeployment(t *testing.T, in *install, flags map[string]string, certsFromSecret bool) {
	d := in.deployment
	pod := d.Spec.Template.Spec
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", deref(d.Spec.Replicas))
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	for what, sel := range map[string]*metav1.LabelSelector{"Deployment": d.Spec.Selector, "PodDisruptionBudget": in.pdb.Spec.Selector,
		"Service": {MatchLabels: in.service.Spec.Selector}} {
		if s, err := metav1.LabelSelectorAsSelector(sel); err != nil || s.Empty() || !s.Matches(podLabels) {
			t.Errorf("%s selector %v does not select the pods %v", what, sel, podLabels)
		}
	}
	if in.pdb.Spec.MinAvailable == nil || in.pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1", in.pdb.Spec.MinAvailable)
	}
	spread := false
	for _, c := range pod.TopologySpreadConstraints {
		spread = spread || c.TopologyKey == corev1.LabelHostname
	}
	if !spread || pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil ||
		len(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("replicas are not spread over nodes (topologySpreadConstraints on hostname and preferred pod anti-affinity)")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext not hardened: %+v", psc)
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%d containers and %d init containers, want one container", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	if c.Image != "ghcr.io/volumeguard/volumeguard:latest" {
		t.Errorf("image = %q", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext not hardened: %+v", sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}

	// Probes and Service ports land on what serve listens on.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for flag, port := range map[string]string{"listen": "https", "metrics-listen": "metrics"} {
		if _, p, err := net.SplitHostPort(flags[flag]); err != nil || p != strconv.Itoa(int(ports[port])) {
			t.Errorf("--%s=%s but container port %s is %d", flag, flags[flag], port, ports[port])
		}
	}
	for name, probe := range map[string]*corev1.Probe{"/readyz": c.ReadinessProbe, "/healthz": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != "metrics" {
			t.Errorf("probe for %s is %+v, want an HTTP GET on the metrics port", name, probe)
		}
	}
	servicePorts := map[int32]string{}
	for _, p := range in.service.Spec.Ports {
		servicePorts[p.Port] = p.TargetPort.String()
	}
	if servicePorts[443] != "https" || servicePorts[8080] != "metrics" {
		t.Errorf("Service ports %v, want 443 -> https and 8080 -> metrics", servicePorts)
	}

	// The certificate directory: an emptyDir for --manage-certs, the Secret otherwise.
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path.Dir(flags["tls-cert-file"]) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil || path.Dir(flags["tls-private-key-file"]) != mount.MountPath || flags["cert-dir"] != mount.MountPath {
		t.Fatalf("--tls-cert-file, --tls-private-key-file and --cert-dir are not all in one mounted volume: %v", c.VolumeMounts)
	}
	for _, v := range pod.Volumes {
		if v.Name != mount.Name {
			continue
		}
		if certsFromSecret && (v.Secret == nil || v.EmptyDir != nil) {
			t.Errorf("certificate volume %+v, want the Secret only", v.VolumeSource)
		}
		if !certsFromSecret && (v.EmptyDir == nil || v.Secret != nil) {
			t.Errorf("certificate volume %+v, want an emptyDir only", v.VolumeSource)
		}
	}
}

func checkSelfManagedCerts(t *testing.T, in *install, flags map[string]string) {
	sa := in.deployment.Spec.Template.Spec.ServiceAccountName
	if flags["service-name"] != in.service.Name || flags["cert-namespace"] != in.deployment.Namespace {
		t.Errorf("--service-name=%s --cert-namespace=%s, want %s and %s", flags["service-name"], flags["cert-namespace"], in.service.Name, in.deployment.Namespace)
	}
	ca := in.clusterRole["volumeguard-cabundle"]
	if ca == nil || len(ca.Rules) != 1 || !slices.Equal(ca.Rules[0].ResourceNames, []string{flags["webhook-config-name"]}) ||
		!slices.Contains(ca.Rules[0].Verbs, "patch") || !slices.Contains(ca.Rules[0].Verbs, "watch") {
		t.Errorf("ClusterRole volumeguard-cabundle must let patch and watch the configurations %q only: %+v", flags["webhook-config-name"], ca)
	}
	role := in.role["volumeguard-certs"]
	if role == nil {
		t.Fatal("no Role for the certificate Secret")
	}
	verbs := map[string]bool{}
	for _, r := range role.Rules {
		if !slices.Equal(r.Resources, []string{"secrets"}) {
			t.Errorf("Role rule %+v is not about Secrets", r)
		}
		for _, v := range r.Verbs {
			if v != "create" && !slices.Equal(r.ResourceNames, []string{flags["cert-secret"]}) {
				t.Errorf("Role grants %s on Secrets other than %s", v, flags["cert-secret"])
			}
			verbs[v] = true
		}
	}
	for _, v := range []string{"get", "list", "watch", "create", "update"} {
		if !verbs[v] {
			t.Errorf("Role lacks %s on the certificate Secret", v)
		}
	}
	checkBound(t, in, sa)
}

func checkCertManager(t *testing.T, in *install, flags map[string]string) {
	if in.role["volumeguard-certs"] != nil || in.clusterRole["volumeguard-cabundle"] != nil {
		t.Error("cert-manager installs keep the permissions of --manage-certs")
	}
	serving := in.certManager["Certificate/volumeguard-serving"]
	if serving == nil || in.certManager["Issuer/volumeguard-ca"] == nil || in.certManager["Certificate/volumeguard-ca"] == nil ||
		in.certManager["Issuer/volumeguard-selfsigned"] == nil {
		t.Fatalf("cert-manager objects: %v", keys(in.certManager))
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(serving.Object, "spec", "dnsNames")
	if !slices.Equal(dnsNames, certs.ServiceDNSNames(in.service.Name, in.service.Namespace)) {
		t.Errorf("serving Certificate dnsNames %v, want those of Service %s/%s", dnsNames, in.service.Namespace, in.service.Name)
	}
	secretName, _, _ := unstructured.NestedString(serving.Object, "spec", "secretName")
	for _, v := range in.deployment.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName != secretName {
			t.Errorf("mounts Secret %s, but the serving Certificate writes %s", v.Secret.SecretName, secretName)
		}
	}
	want := serving.GetNamespace() + "/" + serving.GetName()
	for _, obj := range []metav1.Object{in.mutating, in.validating} {
		if got := obj.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != want {
			t.Errorf("%s: cert-manager.io/inject-ca-from = %q, want %q", obj.GetName(), got, want)
		}
	}
	checkBound(t, in, in.deployment.Spec.Template.Spec.ServiceAccountName)
}

// checkBound: every binding is to the Deployment's ServiceAccount.
func checkBound(t *testing.T, in *install, sa string) {
	if len(in.bindings) == 0 {
		t.Error("no RoleBinding or ClusterRoleBinding")
	}
	for _, s := range in.bindings {
		if s.Kind != "ServiceAccount" || s.Name != sa || s.Namespace != in.deployment.Namespace {
			t.Errorf("binding subject %+v, want ServiceAccount %s/%s", s, in.deployment.Namespace, sa)
		}
	}
	if in.clusterRole["volumeguard"] == nil {
		t.Error("no ClusterRole volumeguard for namespaces and pull secrets")
	}
}

// deref shows what a pointer field holds.
func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
