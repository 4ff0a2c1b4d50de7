{{/*
Names and labels.
*/}}
{{- define "tokend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokend.fullname" -}}
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

{{- define "tokend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: never change across upgrades. */}}
{{- define "tokend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the pods. */}}
{{- define "tokend.podLabels" -}}
{{ include "tokend.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/component: token-service
{{- end }}

{{/* Labels of every object. */}}
{{- define "tokend.labels" -}}
helm.sh/chart: {{ include "tokend.chart" . }}
{{ include "tokend.podLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tokend.serviceAccountName" -}}
{{- if .Values.standalone.serviceAccount.create }}
{{- default (include "tokend.fullname" .) .Values.standalone.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.standalone.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
tokend's image. Uses only .Values, so that an application chart can call it (see tokend.sidecar).
*/}}
{{- define "tokend.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/*
The flags both modes share, one list item a line. Context: anything with .Values.
*/}}
{{- define "tokend.commonArgs" -}}
- --metrics-listen=0.0.0.0:{{ .Values.metrics.port }}
- --secrets-dir={{ .Values.config.secretsDir }}
{{- with .Values.config.authorityHost }}
- {{ printf "--authority-host=%s" . | quote }}
{{- end }}
{{- with .Values.config.audiences }}
- {{ printf "--audiences=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.config.allowedTenants }}
- {{ printf "--allowed-tenants=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.config.clockSkew }}
- --clock-skew={{ . }}
{{- end }}
- --shutdown-grace={{ .Values.config.shutdownGrace }}
- --log-level={{ .Values.config.logLevel }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Volume mounts of the tokend container: the socket folder and one folder per credential.
*/}}
{{- define "tokend.volumeMounts" -}}
- name: tokend-socket
  mountPath: {{ .Values.config.socketDir }}
{{- range .Values.credentials }}
- name: tokend-credential-{{ .name }}
  mountPath: {{ $.Values.config.secretsDir }}/{{ .name }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
The pod volumes tokend needs: an emptyDir for the socket and one Secret volume per credential
(mode 0440, readable by the pod's fsGroup). For an application chart: put these in the pod's
`volumes`.
*/}}
{{- define "tokend.sidecarVolumes" -}}
- name: tokend-socket
  emptyDir:
    sizeLimit: 1Mi
{{- range .Values.credentials }}
- name: tokend-credential-{{ .name }}
  secret:
    secretName: {{ default .name .secretName }}
    defaultMode: 288
{{- end }}
{{- end }}

{{/*
The volume mount an application container needs to reach the socket at
unix://<socketDir>/tokend.sock. For an application chart: put it in the app container's
`volumeMounts`.
*/}}
{{- define "tokend.socketVolumeMount" -}}
- name: tokend-socket
  mountPath: {{ .Values.config.socketDir }}
{{- end }}

{{/*
tokend as a sidecar container: one list item, for `initContainers` (native sidecar, the default:
Kubernetes 1.29+) or `containers` (sidecar.native false). An application chart that depends on
this chart includes it with this chart's values:
  initContainers:
    {{- include "tokend.sidecar" (dict "Values" .Values.tokend) | nindent 8 }}
*/}}
{{- define "tokend.sidecar" -}}
- name: tokend
  image: {{ include "tokend.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .Values.sidecar.native }}
  restartPolicy: Always
  {{- end }}
  args:
    - --listen=unix://{{ .Values.config.socketDir }}/tokend.sock
    - --socket-mode={{ .Values.config.socketMode }}
    {{- include "tokend.commonArgs" . | nindent 4 }}
  {{- with .Values.extraEnv }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: metrics
      containerPort: {{ .Values.metrics.port }}
      protocol: TCP
  {{- if .Values.sidecar.native }}
  startupProbe:
    httpGet:
      path: /healthz
      port: metrics
    periodSeconds: 1
    failureThreshold: 30
  {{- end }}
  {{- if .Values.sidecar.readinessProbe }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: metrics
    periodSeconds: 5
    failureThreshold: 2
  {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: metrics
    periodSeconds: 10
    failureThreshold: 3
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "tokend.volumeMounts" . | nindent 4 }}
{{- end }}

{{/* "true" when the chart creates at least one credential Secret, else empty. */}}
{{- define "tokend.createsSecrets" -}}
{{- range .Values.credentials }}{{ if .create }}true{{ end }}{{ end }}
{{- end }}
