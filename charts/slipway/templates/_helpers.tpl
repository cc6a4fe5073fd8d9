{{/* Fixed names: the ClusterRole, the Lease and install.yaml all use slipway-controller. */}}
{{- define "slipway.name" -}}slipway-controller{{- end -}}

{{- define "slipway.selectorLabels" -}}
app.kubernetes.io/name: slipway-controller
{{- end -}}

{{- define "slipway.labels" -}}
{{ include "slipway.selectorLabels" . }}
app.kubernetes.io/part-of: slipway
app.kubernetes.io/component: controller
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "slipway.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "slipway.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.redis.url) -}}
{{- fail "replicas > 1 needs redis.url: without a shared Redis queue the extra replicas only wait on the slipway-controller Lease" -}}
{{- end -}}
{{- if and .Values.webhook.existingSecret (ne .Values.webhook.existingSecret "slipway-secret") -}}
{{- fail "webhook.existingSecret must be \"slipway-secret\": the controller reads its webhook secrets from the Secret of that name" -}}
{{- end -}}
{{- end -}}
