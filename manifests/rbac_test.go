package manifests

import (
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// grants lists what the rules allow, one "group/resource verb name" each
// (name "" for any).
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out = append(out, strings.TrimSpace(g+"/"+res+" "+v+" "+n))
					}
				}
			}
		}
	}
	return out
}

// checkClusterRBAC: the cluster-wide permissions are exactly what serve's
// flags need, and every role is bound to serve's ServiceAccount.
func checkClusterRBAC(t *testing.T, in *install, flags map[string]string) {
	t.Helper()
	want := []string{"/namespaces get", "/namespaces list", "/namespaces watch"}
	if flags["pull-secrets"] == "true" {
		// Informers only: no get, so no Secret can be fetched by name.
		want = append(want, "/secrets list", "/secrets watch", "/serviceaccounts list", "/serviceaccounts watch")
	}
	if flags["manage-certs"] == "true" {
		for _, kind := range []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} {
			for _, v := range []string{"get", "list", "watch", "update", "patch"} {
				want = append(want, "admissionregistration.k8s.io/"+kind+" "+v+" "+flags["webhook-config-name"])
			}
		}
	}
	var got []string
	for _, cr := range in.clusterRole {
		got = append(got, grants(cr.Rules)...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("cluster-wide grants:\n  %s\nwant (--pull-secrets=%s --manage-certs=%s):\n  %s",
			strings.Join(got, "\n  "), flags["pull-secrets"], flags["manage-certs"], strings.Join(want, "\n  "))
	}

	bound := map[string]bool{}
	for _, u := range in.objects {
		if kind := u.GetKind(); kind == "ClusterRoleBinding" || kind == "RoleBinding" {
			ref, _ := u.Object["roleRef"].(map[string]any)
			bound[ref["kind"].(string)+"/"+ref["name"].(string)] = true
		}
	}
	for name := range in.clusterRole {
		if !bound["ClusterRole/"+name] {
			t.Errorf("ClusterRole %s is not bound", name)
		}
	}
	for name := range in.role {
		if !bound["Role/"+name] {
			t.Errorf("Role %s is not bound", name)
		}
	}
	for ref := range bound {
		kind, name, _ := strings.Cut(ref, "/")
		if (kind == "ClusterRole" && in.clusterRole[name] == nil) || (kind == "Role" && in.role[name] == nil) {
			t.Errorf("a binding refers to %s, which the install lacks", ref)
		}
	}
	checkBound(t, in, in.deployment.Spec.Template.Spec.ServiceAccountName)
}

func TestOverlaysClusterRBAC(t *testing.T) {
	for _, overlay := range Overlays() {
		t.Run(overlay, func(t *testing.T) {
			in := load(t, overlay)
			flags := in.flags(t)
			if flags["pull-secrets"] != "true" {
				t.Errorf("--pull-secrets=%s, want true", flags["pull-secrets"])
			}
			checkClusterRBAC(t, in, flags)
		})
	}
}

// TestNoPullSecretsComponent adds components/no-pull-secrets to each
// overlay, as a user's kustomization would: serve runs with
// --pull-secrets=false and may read no Secret or ServiceAccount
// cluster-wide; with cert-manager, it may read no Secret at all.
func TestNoPullSecretsComponent(t *testing.T) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", name), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, overlay := range Overlays() {
		t.Run(overlay, func(t *testing.T) {
			dir := path.Join("/user", overlay)
			kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
				"resources: [../../.." + path.Join("/", overlay) + "]\ncomponents: [../../../components/no-pull-secrets]\n"
			if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(kustomization)); err != nil {
				t.Fatal(err)
			}
			objects, err := RenderFS(mem, dir)
			if err != nil {
				t.Fatal(err)
			}
			in := decode(t, overlay+" + no-pull-secrets", objects)
			flags := in.flags(t)
			if flags["pull-secrets"] != "false" {
				t.Errorf("--pull-secrets=%s, want false", flags["pull-secrets"])
			}
			checkClusterRBAC(t, in, flags)
			if flags["manage-certs"] != "false" {
				return
			}
			for _, r := range in.role {
				for _, g := range grants(r.Rules) {
					if strings.HasPrefix(g, "/secrets ") {
						t.Errorf("with cert-manager and without pull secrets, Role %s still grants %s", r.Name, g)
					}
				}
			}
		})
	}
}
