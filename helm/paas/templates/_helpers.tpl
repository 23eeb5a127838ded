{{- define "paas.fullname" -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- define "paas.labels" -}}
app.kubernetes.io/name: paas
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "paas.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "paas.secretName" -}}{{ .Values.existingSecret | default (include "paas.fullname" .) }}{{- end -}}
{{- define "paas.env" -}}
- {name: PAAS_ENV, value: production}
- {name: ALLOWED_HOSTS, value: {{ .Values.allowedHosts | quote }}}
- {name: CSRF_TRUSTED_ORIGINS, value: {{ .Values.csrfTrustedOrigins | quote }}}
{{- if .Values.rendezvous.enabled }}
- {name: RENDEZVOUS_ENABLED, value: "true"}
- {name: RENDEZVOUS_HOST, value: {{ required "rendezvous.host is required" .Values.rendezvous.host | quote }}}
- {name: RENDEZVOUS_PORT, value: {{ .Values.rendezvous.port | quote }}}
{{- end }}
{{- range $key := list "DATABASE_URL" "REDIS_URL" "SECRET_KEY" }}
- name: {{ $key }}
  valueFrom: {secretKeyRef: {name: {{ include "paas.secretName" $ }}, key: {{ $key }}}}
{{- end }}
{{- end -}}
