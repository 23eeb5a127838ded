{{- define "paas.fullname" -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- define "paas.labels" -}}
app.kubernetes.io/name: paas
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "paas.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "paas.secretName" -}}{{ .Values.existingSecret | default (include "paas.fullname" .) }}{{- end -}}
{{- define "paas.installationId" -}}
{{ required "installationId is required: a stable id of this installation, e.g. $(uuidgen | tr -d -)" .Values.installationId }}
{{- end -}}
{{- define "paas.namespaceAccess" -}}
{{- $name := include "paas.fullname" . -}}
{{- range $i, $c := list "worker" "web" "rendezvous" }}{{ if $i }},{{ end }}{{ $name }}-app-{{ $c }}={{ $.Release.Namespace }}/{{ $name }}-{{ $c }}{{ end -}}
{{- end -}}
{{- define "paas.env" -}}
- {name: PAAS_ENV, value: production}
- {name: INSTALLATION_ID, value: {{ include "paas.installationId" . | quote }}}
- {name: NAMESPACE_ACCESS, value: {{ include "paas.namespaceAccess" . | quote }}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- {name: ALLOWED_HOSTS, value: {{ .Values.allowedHosts | quote }}}
- {name: CSRF_TRUSTED_ORIGINS, value: {{ .Values.csrfTrustedOrigins | quote }}}
{{- with .Values.trustedProxies }}
- {name: TRUSTED_PROXIES, value: {{ . | quote }}}
{{- end }}
{{- with .Values.apps.nodeSelector }}
- {name: APP_NODE_SELECTOR, value: {{ . | quote }}}
{{- end }}
{{- with .Values.apps.tolerations }}
- {name: APP_TOLERATIONS, value: {{ . | quote }}}
{{- end }}
{{- if .Values.rendezvous.enabled }}
- {name: RENDEZVOUS_ENABLED, value: "true"}
- {name: RENDEZVOUS_HOST, value: {{ required "rendezvous.host is required" .Values.rendezvous.host | quote }}}
- {name: RENDEZVOUS_PORT, value: {{ .Values.rendezvous.port | quote }}}
{{- end }}
{{- with .Values.oidc.issuer }}
- {name: OIDC_ISSUER, value: {{ . | quote }}}
- {name: OIDC_CLIENT_ID, value: {{ required "oidc.clientId is required with oidc.issuer" $.Values.oidc.clientId | quote }}}
- name: OIDC_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "paas.secretName" $ }}, key: OIDC_CLIENT_SECRET}}
{{- with $.Values.oidc.providerName }}
- {name: OIDC_PROVIDER_NAME, value: {{ . | quote }}}
{{- end }}
{{- with $.Values.oidc.groupsClaim }}
- {name: OIDC_GROUPS_CLAIM, value: {{ . | quote }}}
{{- end }}
{{- with $.Values.oidc.teamGroups }}
- {name: OIDC_TEAM_GROUPS, value: {{ . | quote }}}
{{- end }}
{{- end }}
{{- range $key := list "DATABASE_URL" "REDIS_URL" "SECRET_KEY" "CONFIG_ENCRYPTION_KEYS" }}
- name: {{ $key }}
  valueFrom: {secretKeyRef: {name: {{ include "paas.secretName" $ }}, key: {{ $key }}}}
{{- end }}
{{- end -}}
{{- define "paas.placement" -}}
{{- $placement := dict -}}
{{- with .Values.nodeSelector }}{{ $_ := set $placement "nodeSelector" . }}{{ end -}}
{{- with .Values.tolerations }}{{ $_ := set $placement "tolerations" . }}{{ end -}}
{{- with $placement }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{- /* Every platform pod: not root, no privilege escalation, no capability, the runtime's
seccomp profile. */ -}}
{{- define "paas.podSecurity" -}}
securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
{{- end -}}
{{- define "paas.containerSecurity" -}}
securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
{{- end -}}
{{- /* The Host header of the web probes: the kubelet sends the pod's IP, which ALLOWED_HOSTS
refuses unless it is "*". The first allowed host, "probe" under a ".domain" wildcard. */ -}}
{{- define "paas.probeHost" -}}
{{- $first := splitList "," .Values.allowedHosts | first | trim -}}
{{- if or (eq $first "*") (eq $first "") -}}localhost
{{- else if hasPrefix "." $first -}}probe{{ $first }}
{{- else -}}{{ $first }}
{{- end -}}
{{- end -}}
