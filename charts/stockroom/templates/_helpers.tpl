{{/* Names and labels shared by every template. */}}

{{- define "stockroom.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stockroom.operatorName" -}}
{{- printf "%s-operator" (include "stockroom.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stockroom.hqName" -}}
{{- printf "%s-hq" (include "stockroom.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stockroom.serviceAccountName" -}}
{{- default (include "stockroom.operatorName" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "stockroom.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "stockroom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stockroom
{{- end -}}

{{- define "stockroom.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The pod and container security settings every Stockroom container runs with (the image's user 10001). */}}
{{- define "stockroom.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "stockroom.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* NATS settings as environment variables (HQ reads STOCKROOM_HQ_*, the operator STOCKROOM_*),
plus the credentials file when a Secret is given. Takes (dict "prefix" … "Values" .Values). */}}
{{- define "stockroom.natsEnv" -}}
{{- if .Values.nats.url }}
- name: {{ .prefix }}NATS_URL
  value: {{ .Values.nats.url | quote }}
{{- end }}
{{- if .Values.nats.credentials.existingSecret }}
- name: {{ .prefix }}NATS_CREDS
  value: /etc/stockroom/nats/nats.creds
{{- end }}
{{- end -}}
