package chart

import (
	"fmt"
	"strings"
	"time"

	"github.com/volumeguard/volumeguard/certs"
)

// ValueGroup is a set of values that exercises one group of the chart's
// settings; together the groups set every value of values.yaml.
type ValueGroup struct {
	Name   string // short: it names the release and the namespace in e2e
	Values string // YAML
	// PrivilegedNamespace: the pods break the restricted Pod Security
	// level on purpose (hostNetwork); the namespace must allow it.
	PrivilegedNamespace bool
}

// ValueGroups are the defaults and one group per kind of setting. ca is a
// PEM certificate for the values that take one (TestCA).
func ValueGroups(ca string) []ValueGroup {
	indentedCA := "    " + strings.ReplaceAll(strings.TrimSpace(ca), "\n", "\n    ")
	return []ValueGroup{
		{Name: "defaults"},
		{Name: "audit", Values: `
audit:
  enabled: true
  interval: 15m
  reports: {enabled: true, api: openreports}
  events: true
  leaseName: vg-auditor
  concurrency: 2
`},
		{Name: "settings", Values: `
mode: enforce
defaultSizeLimit: 2Gi
onRegistryError: deny
admissionTimeout: 5s
logLevel: debug
`},
		{Name: "webhooks", Values: `
webhooks:
  timeoutSeconds: 5
  excludedNamespaces: [kube-system]
  namespaceSelector:
    matchLabels: {team: payments}
    matchExpressions:
      - {key: env, operator: In, values: [prod, staging]}
  objectSelector:
    matchExpressions:
      - {key: volumeguard.io/skip, operator: DoesNotExist}
  failurePolicy:
    mutatePods: Fail
    validatePods: Ignore
    validatePodUpdates: Fail
    validateWorkloads: Fail
`},
		{Name: "scheduling", Values: `
replicaCount: 3
resources:
  requests: {cpu: 200m, memory: 256Mi}
  limits: {memory: 1Gi}
podDisruptionBudget: {maxUnavailable: 1, unhealthyPodEvictionPolicy: IfHealthyBudget}
priorityClassName: system-cluster-critical
nodeSelector: {kubernetes.io/os: linux}
tolerations:
  - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector: {matchLabels: {app.kubernetes.io/name: volumeguard}}
podAnnotations: {sidecar.istio.io/inject: "false"}
podLabels: {team: platform}
`},
		{Name: "hostnetwork", PrivilegedNamespace: true, Values: `
hostNetwork: true
ports: {webhook: 9443, metrics: 9080}
`},
		{Name: "certmanager", Values: `
certManager: {enabled: true}
`},
		{Name: "ownsecret", Values: fmt.Sprintf(`
existingCertSecret:
  name: webhook-tls
  caBundle: |
%s
`, indentedCA)},
		{Name: "monitoring", Values: `
serviceMonitor:
  enabled: true
  interval: 30s
  scrapeTimeout: 10s
  labels: {release: prometheus}
`},
		{Name: "network", Values: `
networkPolicy:
  webhookFrom:
    - ipBlock: {cidr: 10.0.0.0/24}
  metricsFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
  restrictedEgress:
    enabled: true
    ports: [443, 6443, 5000]
`},
		{Name: "registry", Values: fmt.Sprintf(`
image:
  repository: registry.example/platform/volumeguard
  tag: v1.2.3
  digest: sha256:%s
  pullPolicy: IfNotPresent
imagePullSecrets: [platform-pull]
pullSecrets: false
registry:
  mirrors:
    docker.io: [mirror.example:5000, harbor.example/dockerhub-proxy]
    ghcr.io: [http://ghcr-cache.internal]
  allowed: [docker.io, "*.dkr.ecr.*.amazonaws.com", ghcr.io/my-org]
  denied: [docker.io/library/forbidden]
  insecure: [registry.local:5000]
  caBundle: |
%s
  dockerConfigSecret: volumeguard-registry
extraArgs: [--tag-ttl=10m, --not-found-ttl=30s]
`, strings.Repeat("ab", 32), indentedCA)},
		{Name: "minimal", Values: `
replicaCount: 1
networkPolicy: {enabled: false}
podDisruptionBudget: {enabled: false}
registry: {caConfigMap: trust-bundle}
nameOverride: guard
`},
	}
}

// TestCA is a PEM certificate of a fresh CA.
func TestCA() (string, error) {
	ca, err := certs.GenerateCA("volumeguard chart test CA", 24*time.Hour)
	if err != nil {
		return "", fmt.Errorf("creating the test CA: %w", err)
	}
	return string(ca.CertPEM), nil
}
