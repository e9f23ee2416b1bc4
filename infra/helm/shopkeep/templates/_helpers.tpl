{{- define "shopkeep.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shopkeep.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "shopkeep.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "shopkeep.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "shopkeep.secretName" -}}
{{ .Values.existingSecret | default (include "shopkeep.fullname" .) }}
{{- end -}}

{{- define "shopkeep.serviceAccountName" -}}
{{ .Values.serviceAccount.name | default (include "shopkeep.fullname" .) }}
{{- end -}}

{{/* The environment every Shopkeep container gets: settings, secrets, and no migration on start. */}}
{{- define "shopkeep.env" -}}
- name: SHOPKEEP_MIGRATE_ON_START
  value: "false"
{{- if gt (int .Values.retention.conversationDays) 0 }}
- name: SHOPKEEP_RETENTION__CONVERSATION_DAYS
  value: {{ .Values.retention.conversationDays | quote }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
- name: SHOPKEEP_STORE_URL
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: store-url}}
- name: SHOPKEEP_CHECKPOINT_URL
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: checkpoint-url}}
- name: SHOPKEEP_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: redis-url, optional: true}}
- name: SHOPKEEP_PAYMENTS__REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: redis-url, optional: true}}
- name: SHOPKEEP_LLM__API_KEY
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: llm-api-key, optional: true}}
- name: SHOPKEEP_RETRIEVAL__API_KEY
  valueFrom: {secretKeyRef: {name: {{ include "shopkeep.secretName" . }}, key: embeddings-api-key, optional: true}}
{{- end -}}
