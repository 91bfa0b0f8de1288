{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "valuepulse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object names: fullnameOverride, else the release name when it already
contains the chart name (`helm install valuepulse ...` gives "valuepulse",
the names of the kustomize manifests), else RELEASE-valuepulse.
*/}}
{{- define "valuepulse.fullname" -}}
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

{{/* Selector labels: stable for the life of a release. */}}
{{- define "valuepulse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "valuepulse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "valuepulse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "valuepulse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: valuepulse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of the daemon's own objects (Deployment, Service, ...). */}}
{{- define "valuepulse.workloadLabels" -}}
{{ include "valuepulse.labels" . }}
app.kubernetes.io/component: metrics-exporter
{{- end }}

{{/* Labels of the monitoring objects (ServiceMonitor, PrometheusRule, dashboards). */}}
{{- define "valuepulse.monitoringLabels" -}}
{{ include "valuepulse.labels" . }}
app.kubernetes.io/component: monitoring
{{- end }}

{{- define "valuepulse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "valuepulse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "valuepulse.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The valuepulse.toml the pod reads: .Values.config when set, else the chart's
copy of deploy/kubernetes/base/valuepulse.toml (files/valuepulse.toml).
*/}}
{{- define "valuepulse.config" -}}
{{- if .Values.config }}
{{- .Values.config }}
{{- else }}
{{- .Files.Get "files/valuepulse.toml" }}
{{- end }}
{{- end }}

{{/*
The Secret mounted at /etc/valuepulse/kafka: the one the chart creates, else
secret.existingSecret; empty when neither (no mount).
*/}}
{{- define "valuepulse.secretName" -}}
{{- if .Values.secret.create }}
{{- printf "%s-kafka" (include "valuepulse.fullname" .) }}
{{- else }}
{{- .Values.secret.existingSecret }}
{{- end }}
{{- end }}

{{/*
A probe from values: over HTTPS when webConfig.tls says the admin port
speaks TLS (the kubelet does not check the certificate). Args: (list $ probe).
*/}}
{{- define "valuepulse.probe" -}}
{{- $root := index . 0 -}}
{{- $probe := deepCopy (index . 1) -}}
{{- if and $root.Values.webConfig.tls $probe.httpGet -}}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{/*
The webhook bridge (`valuepulse bridge`, bridge.enabled): its own names and
selector (app.kubernetes.io/name NAME-bridge), so the daemon's Service,
PodDisruptionBudget and NetworkPolicy never select its pods.
*/}}
{{- define "valuepulse.bridge.fullname" -}}
{{- printf "%s-bridge" (include "valuepulse.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "valuepulse.bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-bridge" (include "valuepulse.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "valuepulse.bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "valuepulse.bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: valuepulse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
app.kubernetes.io/component: webhook-bridge
{{- end }}

{{/* Labels of the bridge's monitoring objects (its ServiceMonitor). */}}
{{- define "valuepulse.bridge.monitoringLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "valuepulse.bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: valuepulse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
app.kubernetes.io/component: monitoring
{{- end }}

{{- define "valuepulse.bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- include "valuepulse.bridge.fullname" . }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding the webhook secrets (keys github, gitlab, pagerduty,
argocd, flux, jira, linear, events): the one the chart creates, else bridge.secrets.existingSecret;
empty when neither (the secrets then come from config or extraEnv).
*/}}
{{- define "valuepulse.bridge.secretName" -}}
{{- if .Values.bridge.secrets.create }}
{{- include "valuepulse.bridge.fullname" . }}
{{- else }}
{{- .Values.bridge.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/* A bridge probe: over HTTPS when bridge.webConfig.tls. Args: (list $ path). */}}
{{- define "valuepulse.bridge.httpGet" -}}
{{- $root := index . 0 -}}
httpGet:
  path: {{ index . 1 }}
  port: http
  {{- if $root.Values.bridge.webConfig.tls }}
  scheme: HTTPS
  {{- end }}
{{- end -}}

{{/*
The Weekly Value Pulse's delivery CronJob (pulse.enabled): its own names and
selector (app.kubernetes.io/name NAME-pulse), so the daemon's Service,
PodDisruptionBudget and NetworkPolicy never select its pods.
*/}}
{{- define "valuepulse.pulse.fullname" -}}
{{- printf "%s-pulse" (include "valuepulse.fullname" .) | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "valuepulse.pulse.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-pulse" (include "valuepulse.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "valuepulse.pulse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "valuepulse.pulse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: valuepulse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
app.kubernetes.io/component: pulse-delivery
{{- end }}

{{/* The daemon's admin URL the pulse job fetches from. */}}
{{- define "valuepulse.pulse.url" -}}
{{- if .Values.pulse.url }}
{{- .Values.pulse.url }}
{{- else }}
{{- printf "%s://%s:%v" (ternary "https" "http" .Values.webConfig.tls) (include "valuepulse.fullname" .) .Values.service.port }}
{{- end }}
{{- end }}
