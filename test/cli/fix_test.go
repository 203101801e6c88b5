package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixCommand runs `volumeguard fix` as a pipeline would: on a
// directory with --write and --diff, on stdin, and on inputs that fail.
func TestFixCommand(t *testing.T) {
	bin := buildBinary(t)
	host := startRegistry(t)
	zk := host + "/library/zookeeper:3.4.13"
	pushImage(t, zk, "/data", "/datalog", "/logs")
	nginx := host + "/library/nginx:1"
	pushImage(t, nginx)

	zkYAML := "# the ensemble\n" + deploymentYAML("zk", zk, "  # pinned") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: zk}\nspec: {ports: [{port: 2181}]}\n"
	files := map[string]string{
		"apps/zk.yaml":   zkYAML,
		"apps/web.yaml":  deploymentYAML("web", nginx, ""),
		"jobs/cron.json": cronJobJSON("nightly", nginx, zk),
	}

	t.Run("--write edits the files in place, keeping their mode; a second run and check find nothing", func(t *testing.T) {
		dir := writeFiles(t, files)
		if err := os.Chmod(filepath.Join(dir, "apps/zk.yaml"), 0o600); err != nil {
			t.Fatal(err)
		}
		res := runCLI(t, bin, "", "fix", "--write", dir)
		if res.code != 0 {
			t.Fatalf("exit code %d, want 0\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("--write printed on stdout: %s", res.stdout)
		}
		if !strings.Contains(res.stderr, filepath.Join(dir, "apps/zk.yaml")+":14:16: Deployment default/zk: added emptyDir vg-zk-data-1b0f6d50 (sizeLimit 1Gi) at /data") {
			t.Errorf("stderr does not say what was added where:\n%s", res.stderr)
		}
		fixed, err := os.ReadFile(filepath.Join(dir, "apps/zk.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(fixed), zkYAML[:strings.Index(zkYAML, "  # pinned")+len("  # pinned\n")]) || !strings.Contains(string(fixed), "        volumeMounts:\n        - name: vg-zk-data-1b0f6d50\n          mountPath: /data\n") {
			t.Errorf("apps/zk.yaml is not the original with the mounts added:\n%s", fixed)
		}
		if info, _ := os.Stat(filepath.Join(dir, "apps/zk.yaml")); info.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600 kept", info.Mode())
		}
		if web, _ := os.ReadFile(filepath.Join(dir, "apps/web.yaml")); string(web) != files["apps/web.yaml"] {
			t.Errorf("apps/web.yaml changed though nothing needed fixing:\n%s", web)
		}
		if cron, _ := os.ReadFile(filepath.Join(dir, "jobs/cron.json")); !strings.Contains(string(cron), `"volumeMounts": [{"name": "vg-migrate-data-`) {
			t.Errorf("jobs/cron.json is not fixed as JSON:\n%s", cron)
		}

		again := runCLI(t, bin, "", "fix", "--write", dir)
		if again.code != 0 || !strings.Contains(again.stderr, "0 emptyDirs added in 0 files") {
			t.Errorf("a second fix: exit code %d\n%s", again.code, again.stderr)
		}
		if check := runCLI(t, bin, "", "check", dir); check.code != 0 {
			t.Errorf("check after fix: exit code %d, want 0\n%s%s", check.code, check.stdout, check.stderr)
		}
	})

	t.Run("--diff prints a diff and leaves the files alone", func(t *testing.T) {
		dir := writeFiles(t, files)
		res := runCLI(t, bin, "", "fix", "--diff", filepath.Join(dir, "apps"))
		if res.code != 0 {
			t.Fatalf("exit code %d, want 0\n%s", res.code, res.stderr)
		}
		name := filepath.Join(dir, "apps/zk.yaml")
		for _, want := range []string{"--- " + name + "\n+++ " + name + "\n@@ -12,6 +12,23 @@\n", "+        volumeMounts:\n", "+      volumes:\n"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("diff lacks %q:\n%s", want, res.stdout)
			}
		}
		if strings.Contains(res.stdout, "web.yaml") {
			t.Errorf("diff names an unchanged file:\n%s", res.stdout)
		}
		if got, _ := os.ReadFile(name); string(got) != zkYAML {
			t.Errorf("--diff changed the file")
		}
	})

	t.Run("stdin to stdout; --write refuses stdin", func(t *testing.T) {
		res := runCLI(t, bin, zkYAML, "fix", "-")
		if res.code != 0 || !strings.Contains(res.stdout, "      volumes:\n      - name: vg-zk-data-1b0f6d50\n") || !strings.HasSuffix(res.stdout, "spec: {ports: [{port: 2181}]}\n") {
			t.Errorf("exit code %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
		}
		if !strings.Contains(res.stderr, "<stdin>:14:16: Deployment default/zk") {
			t.Errorf("stderr does not name stdin's line:\n%s", res.stderr)
		}
		if res := runCLI(t, bin, zkYAML, "fix", "--write", "-"); res.code != 2 || !strings.Contains(res.stderr, "--write cannot replace stdin") {
			t.Errorf("--write -: exit code %d, stderr %s", res.code, res.stderr)
		}
	})

	t.Run("Helm output gets the YAML to add to the template, exit 1", func(t *testing.T) {
		helm := "---\n# Source: zk/templates/statefulset.yaml\n" + strings.Replace(deploymentYAML("zk", zk, ""), "Deployment", "StatefulSet", 1)
		res := runCLI(t, bin, helm, "fix", "-")
		if res.code != 1 || res.stdout != helm {
			t.Errorf("exit code %d, want 1 and the input unchanged\nstdout: %s", res.code, res.stdout)
		}
		if !strings.Contains(res.stderr, "rendered by Helm from zk/templates/statefulset.yaml") || !strings.Contains(res.stderr, "    volumeMounts:\n    - name: vg-zk-data-1b0f6d50\n") {
			t.Errorf("stderr lacks the suggestion:\n%s", res.stderr)
		}
	})

	t.Run("a bad document and an unreadable image: exit 2, the rest is fixed", func(t *testing.T) {
		in := "kind: [\n---\n" + deploymentYAML("gone", host+"/library/missing:1", "") + "---\n" + deploymentYAML("zk", zk, "")
		res := runCLI(t, bin, in, "fix", "-")
		if res.code != 2 {
			t.Errorf("exit code %d, want 2\n%s", res.code, res.stderr)
		}
		if !strings.HasPrefix(res.stdout, "kind: [\n---\n"+deploymentYAML("gone", host+"/library/missing:1", "")) || !strings.Contains(res.stdout, "vg-zk-logs-8bc12e44") {
			t.Errorf("stdout is not the input with zk fixed:\n%s", res.stdout)
		}
		for _, want := range []string{"error: <stdin> (document 1)", "error: <stdin>:15:16: Deployment default/gone: container \"gone\", image \"" + host + "/library/missing:1\""} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
		}
	})
}
