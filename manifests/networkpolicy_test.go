package manifests

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// port is one allowed protocol and port number.
type port struct {
	protocol corev1.Protocol
	number   int32
}

// rulePorts lists the ports of rules, failing on a rule that narrows its
// peers: the base leaves sources and destinations open (networkpolicy.yaml
// says why).
func rulePorts(t *testing.T, peers [][]networkingv1.NetworkPolicyPeer, ports [][]networkingv1.NetworkPolicyPort) []port {
	t.Helper()
	var out []port
	for i := range ports {
		if len(peers[i]) > 0 {
			t.Errorf("rule %d narrows its peers to %+v; the shipped policy leaves them open", i, peers[i])
		}
		for _, p := range ports[i] {
			if p.Port == nil || p.Port.IntValue() == 0 || p.EndPort != nil {
				t.Errorf("rule %d allows %+v; want one port number (names need CNI support)", i, p)
				continue
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			out = append(out, port{proto, int32(p.Port.IntValue())})
		}
	}
	return out
}

func ingressPorts(t *testing.T, np *networkingv1.NetworkPolicy) []port {
	var peers [][]networkingv1.NetworkPolicyPeer
	var ports [][]networkingv1.NetworkPolicyPort
	for _, r := range np.Spec.Ingress {
		peers, ports = append(peers, r.From), append(ports, r.Ports)
	}
	return rulePorts(t, peers, ports)
}

func egressPorts(t *testing.T, np *networkingv1.NetworkPolicy) []port {
	var peers [][]networkingv1.NetworkPolicyPeer
	var ports [][]networkingv1.NetworkPolicyPort
	for _, r := range np.Spec.Egress {
		peers, ports = append(peers, r.To), append(ports, r.Ports)
	}
	return rulePorts(t, peers, ports)
}

// checkIngress: the policy selects the webhook's pods and admits exactly
// the ports its container listens on, the API server's and the metrics'.
func checkIngress(t *testing.T, in *install) {
	t.Helper()
	np := in.network
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(in.deployment.Spec.Template.Labels)) {
		t.Errorf("NetworkPolicy podSelector %v does not select the webhook's pods %v", np.Spec.PodSelector, in.deployment.Spec.Template.Labels)
	}
	var want []port
	for _, p := range in.deployment.Spec.Template.Spec.Containers[0].Ports {
		want = append(want, port{corev1.ProtocolTCP, p.ContainerPort})
	}
	if got := ingressPorts(t, np); !slices.Equal(got, want) {
		t.Errorf("NetworkPolicy admits %v, want the container's ports %v", got, want)
	}
}

func TestNetworkPolicy(t *testing.T) {
	for _, overlay := range Overlays() {
		t.Run(overlay, func(t *testing.T) {
			in := load(t, overlay)
			checkIngress(t, in)
			// Egress stays open: registries are wherever pods say.
			if types := in.network.Spec.PolicyTypes; !slices.Equal(types, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(in.network.Spec.Egress) > 0 {
				t.Errorf("policyTypes %v with %d egress rules; want Ingress only", types, len(in.network.Spec.Egress))
			}
		})
	}
}

// TestRestrictedEgress renders an overlay as a user would write one, with
// components/restricted-egress: egress to DNS, the API server and HTTPS
// only, ingress as before.
func TestRestrictedEgress(t *testing.T) {
	fsys, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	overlay := "/mine"
	err = fsys.WriteFile(overlay+"/kustomization.yaml", []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../overlays/enforce]
components: [../components/restricted-egress]
`))
	if err != nil {
		t.Fatal(err)
	}
	objects, err := RenderFS(fsys, overlay)
	if err != nil {
		t.Fatal(err)
	}
	in := decode(t, overlay, objects)
	checkIngress(t, in)
	if types := in.network.Spec.PolicyTypes; !slices.Equal(types, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v, want Ingress and Egress", types)
	}
	want := []port{{corev1.ProtocolUDP, 53}, {corev1.ProtocolTCP, 53}, {corev1.ProtocolTCP, 443}, {corev1.ProtocolTCP, 6443}}
	if got := egressPorts(t, in.network); !slices.Equal(got, want) {
		t.Errorf("egress to %v, want DNS, HTTPS and the API server: %v", got, want)
	}
}
