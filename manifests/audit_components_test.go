package manifests

import (
	"path"
	"slices"
	"strings"
	"testing"
)

// TestContinuousAuditComponents adds components/continuous-audit, and
// audit-events, to each overlay as a user's kustomization would: serve
// runs the background audit, and the RBAC it needs comes with it, bound to
// serve's ServiceAccount; without them, none of it is granted.
func TestContinuousAuditComponents(t *testing.T) {
	mem, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	auditGrants := []string{
		"/pods list", "apps/replicasets get", "apps/jobs get", "batch/replicasets get", "batch/jobs get",
		"openreports.io/reports create", "openreports.io/reports delete", "openreports.io/reports get", "openreports.io/reports list", "openreports.io/reports patch",
		"wgpolicyk8s.io/policyreports create", "wgpolicyk8s.io/policyreports delete", "wgpolicyk8s.io/policyreports get", "wgpolicyk8s.io/policyreports list", "wgpolicyk8s.io/policyreports patch",
	}
	leaseGrants := []string{"coordination.k8s.io/leases get volumeguard-audit", "coordination.k8s.io/leases update volumeguard-audit", "coordination.k8s.io/leases create"}
	eventGrants := []string{"/events create", "/events patch"}
	cases := []struct {
		name       string
		components []string
		wantFlags  map[string]string
		want, not  []string
	}{
		{name: "none", not: slices.Concat(auditGrants, leaseGrants, eventGrants)},
		{
			name: "continuous-audit", components: []string{"continuous-audit"},
			wantFlags: map[string]string{"audit-interval": "10m", "reports": "true", "report-api": "auto"},
			want:      slices.Concat(auditGrants, leaseGrants), not: eventGrants,
		},
		{
			name: "continuous-audit and audit-events", components: []string{"continuous-audit", "audit-events"},
			wantFlags: map[string]string{"audit-interval": "10m", "events": "true"},
			want:      slices.Concat(auditGrants, leaseGrants, eventGrants),
		},
	}
	for _, overlay := range Overlays() {
		for _, c := range cases {
			t.Run(overlay+"/"+c.name, func(t *testing.T) {
				dir := path.Join("/user-audit", strings.Join(append([]string{"with"}, c.components...), "-"), overlay)
				var comps []string
				for _, comp := range c.components {
					comps = append(comps, "../../../../components/"+comp)
				}
				kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
					"resources: [../../../.." + path.Join("/", overlay) + "]\ncomponents: [" + strings.Join(comps, ", ") + "]\n"
				if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(kustomization)); err != nil {
					t.Fatal(err)
				}
				objects, err := RenderFS(mem, dir)
				if err != nil {
					t.Fatal(err)
				}
				in := decode(t, overlay+" + "+c.name, objects)
				flags := in.flags(t)
				for k, v := range c.wantFlags {
					if flags[k] != v {
						t.Errorf("--%s=%q, want %q", k, flags[k], v)
					}
				}
				var got []string
				for _, cr := range in.clusterRole {
					got = append(got, grants(cr.Rules)...)
				}
				for _, r := range in.role {
					if r.Namespace != "volumeguard" {
						t.Errorf("Role %s in namespace %q, want volumeguard", r.Name, r.Namespace)
					}
					got = append(got, grants(r.Rules)...)
				}
				for _, w := range c.want {
					if !slices.Contains(got, w) {
						t.Errorf("no grant %q", w)
					}
				}
				for _, n := range c.not {
					if slices.Contains(got, n) {
						t.Errorf("grant %q without the component", n)
					}
				}
				checkBound(t, in, in.deployment.Spec.Template.Spec.ServiceAccountName)
			})
		}
	}
}

func TestRenderWith(t *testing.T) {
	objs, err := RenderWith("overlays/audit", "continuous-audit", "audit-events")
	if err != nil {
		t.Fatal(err)
	}
	in := decode(t, "overlays/audit + continuous-audit + audit-events", objs)
	if flags := in.flags(t); flags["audit-interval"] != "10m" || flags["events"] != "true" {
		t.Errorf("flags %v, want the components'", flags)
	}
}
