{{/*
Names. With the release named "volumeguard" every object is named as
manifests/base names it.
*/}}
{{- define "volumeguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "volumeguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "volumeguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "volumeguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* What selects the webhook's pods (immutable in the Deployment). */}}
{{- define "volumeguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "volumeguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* The Secret holding the serving certificate. */}}
{{- define "volumeguard.certSecret" -}}
{{- .Values.existingCertSecret.name | default (printf "%s-tls" (include "volumeguard.fullname" .)) }}
{{- end }}

{{/* "true" when serve --manage-certs keeps the certificate. */}}
{{- define "volumeguard.manageCerts" -}}
{{- if or .Values.certManager.enabled .Values.existingCertSecret.name }}false{{ else }}true{{ end }}
{{- end }}

{{- define "volumeguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* serve --admission-timeout: under the webhooks' timeoutSeconds. */}}
{{- define "volumeguard.admissionTimeout" -}}
{{- .Values.admissionTimeout | default (printf "%ds" (sub (int .Values.webhooks.timeoutSeconds) 2)) }}
{{- end }}

{{/*
volumeguard.webhookCommon: what every webhook shares, as in
manifests/base/webhooks.yaml. Called with (dict "root" $ "path" "/validate").
*/}}
{{- define "volumeguard.webhookCommon" -}}
{{- $root := .root -}}
admissionReviewVersions: ["v1"]
clientConfig:
  service:
    name: {{ include "volumeguard.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- with $root.Values.existingCertSecret.caBundle }}
  caBundle: {{ . | b64enc }}
  {{- end }}
matchPolicy: Equivalent
sideEffects: None
timeoutSeconds: {{ $root.Values.webhooks.timeoutSeconds }}
namespaceSelector:
  {{- with $root.Values.webhooks.namespaceSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ append $root.Values.webhooks.excludedNamespaces $root.Release.Namespace | uniq | toJson }}
    - key: volumeguard.io/mode
      operator: NotIn
      values: ["off"]
    {{- with $root.Values.webhooks.namespaceSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- with $root.Values.webhooks.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Values that the schema cannot check on their own; a mistake fails the
render with the value's name.
*/}}
{{- define "volumeguard.validate" -}}
{{- if and .Values.certManager.enabled .Values.existingCertSecret.name }}
{{- fail "certManager.enabled and existingCertSecret.name: choose one source of the serving certificate" }}
{{- end }}
{{- if and .Values.existingCertSecret.name (not .Values.existingCertSecret.caBundle) }}
{{- fail "existingCertSecret.caBundle: required with existingCertSecret.name (the PEM CA that signed it, for the webhooks' caBundle)" }}
{{- end }}
{{- if and .Values.existingCertSecret.caBundle (not .Values.existingCertSecret.name) }}
{{- fail "existingCertSecret.name: required with existingCertSecret.caBundle" }}
{{- end }}
{{- if and .Values.registry.caBundle .Values.registry.caConfigMap }}
{{- fail "registry.caBundle and registry.caConfigMap: choose one" }}
{{- end }}
{{- if and (not .Values.admissionTimeout) (lt (int .Values.webhooks.timeoutSeconds) 3) }}
{{- fail "webhooks.timeoutSeconds: below 3 needs an admissionTimeout below it" }}
{{- end }}
{{- end }}
