package chart

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLint: `helm lint --strict` (warnings fail too) finds nothing, with
// the defaults and with the values of every group the e2e tests install.
func TestLint(t *testing.T) {
	helm := HelmBinary(t)
	for _, g := range ValueGroups(testCA(t)) {
		t.Run(g.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			file := writeValues(t, g.Values)
			out, err := Helm(ctx, helm, "lint", "--strict", Dir(), "--namespace", "volumeguard", "--values", file)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "[WARNING]") || strings.HasPrefix(line, "[ERROR]") {
					t.Errorf("helm lint --strict: %s", line)
				}
			}
		})
	}
}

// TestValuesRefused: a value the schema (or, where it cannot say, the
// templates) refuses fails `helm template`, and the message names the value.
func TestValuesRefused(t *testing.T) {
	helm := HelmBinary(t)
	for _, tc := range []struct {
		name   string
		values string
		want   []string // all in the error
	}{
		{"misspelt top-level key", "replicaCont: 3", []string{"additional properties 'replicaCont' not allowed"}},
		{"misspelt nested key", "webhooks: {timeoutSecond: 5}", []string{"/webhooks", "'timeoutSecond' not allowed"}},
		{"misspelt key inside affinity", "affinity: {podAntiAffinity: {preferredDuringScheduling: []}}",
			[]string{"/affinity/podAntiAffinity", "'preferredDuringScheduling' not allowed"}},
		{"misspelt toleration field", "tolerations: [{key: a, efect: NoSchedule}]", []string{"/tolerations/0", "'efect' not allowed"}},
		{"unknown mode", "mode: strict", []string{"/mode", "enforce"}},
		{"unknown failure policy", "webhooks: {failurePolicy: {mutatePods: Never}}", []string{"/webhooks/failurePolicy/mutatePods"}},
		{"timeout above the API's limit", "webhooks: {timeoutSeconds: 31}", []string{"/webhooks/timeoutSeconds"}},
		{"replicas as a string", "replicaCount: \"2\"", []string{"/replicaCount", "want integer"}},
		{"port out of range", "ports: {webhook: 70000}", []string{"/ports/webhook"}},
		{"egress port out of range", "networkPolicy: {restrictedEgress: {ports: [0]}}", []string{"/networkPolicy/restrictedEgress/ports/0"}},
		{"digest without algorithm", "image: {digest: abc}", []string{"/image/digest"}},
		{"size limit not a quantity", "defaultSizeLimit: 1GB", []string{"/defaultSizeLimit"}},
		{"admission timeout not a duration", "admissionTimeout: 8", []string{"/admissionTimeout"}},
		{"extra argument not a flag", "extraArgs: [audit]", []string{"/extraArgs/0"}},
		{"mirror list empty", "registry: {mirrors: {docker.io: []}}", []string{"/registry/mirrors/docker.io"}},
		{"registry CA not PEM", "registry: {caBundle: hello}", []string{"/registry/caBundle"}},
		{"two certificate sources", "certManager: {enabled: true}\nexistingCertSecret: {name: tls, caBundle: '-----BEGIN CERTIFICATE-----'}",
			[]string{"certManager.enabled and existingCertSecret.name"}},
		{"existing Secret without its CA", "existingCertSecret: {name: tls}", []string{"existingCertSecret.caBundle: required"}},
		{"two registry CA sources", "registry: {caBundle: '-----BEGIN CERTIFICATE-----', caConfigMap: cas}",
			[]string{"registry.caBundle and registry.caConfigMap"}},
		{"timeout too short for the default admission timeout", "webhooks: {timeoutSeconds: 2}", []string{"webhooks.timeoutSeconds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := Template(ctx, helm, "volumeguard", "volumeguard", tc.values)
			if err == nil {
				t.Fatalf("values %q rendered", tc.values)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestOpenReportsDependency: the vendored openreports chart installs the
// Report and ClusterReport CRDs only when openreports.enabled is set.
func TestOpenReportsDependency(t *testing.T) {
	helm := HelmBinary(t)
	for _, tc := range []struct {
		values string
		want   []string
	}{
		{values: "", want: nil},
		{values: "openreports: {enabled: true}", want: []string{"clusterreports.openreports.io", "reports.openreports.io"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		objs, err := Template(ctx, helm, "volumeguard", "volumeguard", tc.values)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var crds []string
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, o.GetName())
			}
		}
		slices.Sort(crds)
		if !slices.Equal(crds, tc.want) {
			t.Errorf("values %q: CRDs %v, want %v", tc.values, crds, tc.want)
		}
	}
}
