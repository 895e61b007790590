{{/* The one image every role runs: a digest pins it, else the tag (default appVersion). */}}
{{- define "meshlet.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The injected init container's image (iptables; Debian slim, not distroless): digest, else tag. */}}
{{- define "meshlet.initImage" -}}
{{- if .Values.image.init.digest -}}
{{ .Values.image.init.repository }}@{{ .Values.image.init.digest }}
{{- else -}}
{{ .Values.image.init.repository }}:{{ .Values.image.init.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "meshlet.labels" -}}
app.kubernetes.io/name: meshlet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* Pod anti-affinity on one component: soft prefers other nodes, hard requires them. */}}
{{- define "meshlet.antiAffinity" -}}
{{- $sel := dict "matchLabels" (dict "app.kubernetes.io/name" "meshlet" "app.kubernetes.io/component" .component) -}}
podAntiAffinity:
{{- if eq .mode "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - labelSelector: {{ toJson $sel }}
      topologyKey: kubernetes.io/hostname
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        labelSelector: {{ toJson $sel }}
        topologyKey: kubernetes.io/hostname
{{- end }}
{{- end -}}
