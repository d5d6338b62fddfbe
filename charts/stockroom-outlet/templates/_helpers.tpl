{{/* The Outlet is named after the release: one release per store. */}}
{{- define "outlet.name" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "outlet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stockroom
{{- end -}}

{{/* The Secret holding NATS credentials: the given one, or the chart's own when creds are pasted in. */}}
{{- define "outlet.natsSecret" -}}
{{- if .Values.nats.credentials.existingSecret -}}
{{- .Values.nats.credentials.existingSecret -}}
{{- else if .Values.nats.credentials.creds -}}
{{- printf "%s-nats" (include "outlet.name" .) -}}
{{- end -}}
{{- end -}}
