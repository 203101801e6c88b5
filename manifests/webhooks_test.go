package manifests

import (
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func checkWebhooks(t *testing.T, in *install, flags map[string]string, podCreate admissionregistrationv1.FailurePolicyType) {
	if in.mutating.Name != flags["webhook-config-name"] || in.validating.Name != flags["webhook-config-name"] {
		t.Errorf("configurations %s and %s, but --webhook-config-name=%s", in.mutating.Name, in.validating.Name, flags["webhook-config-name"])
	}
	type common struct {
		name       string
		cc         admissionregistrationv1.WebhookClientConfig
		rules      []admissionregistrationv1.RuleWithOperations
		sideEffect *admissionregistrationv1.SideEffectClass
		timeout    *int32
		versions   []string
		nsSel      *metav1.LabelSelector
		objSel     *metav1.LabelSelector
		path       string
	}
	var all []common
	for _, w := range in.mutating.Webhooks {
		all = append(all, common{w.Name, w.ClientConfig, w.Rules, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ObjectSelector, "/mutate"})
		if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
			t.Errorf("%s: failurePolicy %v, want Ignore", w.Name, deref(w.FailurePolicy))
		}
		if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("%s: reinvocationPolicy %v, want IfNeeded", w.Name, deref(w.ReinvocationPolicy))
		}
	}
	covered := map[string]admissionregistrationv1.FailurePolicyType{} // "group/resource OPERATION" of /validate
	for _, w := range in.validating.Webhooks {
		all = append(all, common{w.Name, w.ClientConfig, w.Rules, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.NamespaceSelector, w.ObjectSelector, "/validate"})
		for _, r := range w.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, op := range r.Operations {
						covered[g+"/"+res+" "+string(op)] = *w.FailurePolicy
					}
				}
			}
		}
	}
	if got := covered["/pods CREATE"]; got != podCreate {
		t.Errorf("failurePolicy for pod creation = %q, want %q", got, podCreate)
	}
	want := []string{"/pods CREATE", "/pods UPDATE", "/pods/ephemeralcontainers UPDATE"}
	for _, res := range []string{"apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets", "batch/jobs", "batch/cronjobs", "/replicationcontrollers"} {
		want = append(want, res+" CREATE", res+" UPDATE")
	}
	for _, w := range want {
		if _, ok := covered[w]; !ok {
			t.Errorf("/validate is not called for %s", w)
		}
		if w != "/pods CREATE" && covered[w] == admissionregistrationv1.Fail {
			t.Errorf("%s fails closed; only pod creation may", w)
		}
	}
	for _, w := range all {
		if w.sideEffect == nil || *w.sideEffect != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects %v, want None", w.name, deref(w.sideEffect))
		}
		// Above serve's own deadline, so that serve answers first.
		if w.timeout == nil || *w.timeout <= 8 || *w.timeout > 30 {
			t.Errorf("%s: timeoutSeconds %v, want more than the 8s --admission-timeout", w.name, deref(w.timeout))
		}
		if !slices.Equal(w.versions, []string{"v1"}) {
			t.Errorf("%s: admissionReviewVersions %v, want [v1]", w.name, w.versions)
		}
		if w.objSel != nil {
			t.Errorf("%s: has an objectSelector; pods must not opt out by their own labels", w.name)
		}
		s := w.cc.Service
		if s == nil || s.Name != in.service.Name || s.Namespace != in.service.Namespace || s.Path == nil || *s.Path != w.path ||
			s.Port == nil || *s.Port != 443 || w.cc.URL != nil {
			t.Errorf("%s: clientConfig %+v, want Service %s/%s port 443 path %s", w.name, w.cc, in.service.Namespace, in.service.Name, w.path)
		}
		for _, r := range w.rules {
			if slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*") {
				t.Errorf("%s: wildcard rule %+v", w.name, r)
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(w.nsSel)
		if err != nil {
			t.Fatal(err)
		}
		for ns, match := range map[string]bool{"kube-system": false, "kube-node-lease": false, in.deployment.Namespace: false, "default": true, "team-a": true} {
			if sel.Matches(labels.Set{"kubernetes.io/metadata.name": ns}) != match {
				t.Errorf("%s: namespaceSelector matches namespace %s: %v, want %v", w.name, ns, !match, match)
			}
		}
		if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "team-b", "volumeguard.io/mode": "off"}) {
			t.Errorf("%s: called for a namespace in mode off", w.name)
		}
	}
}
