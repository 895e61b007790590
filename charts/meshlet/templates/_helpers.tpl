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

{{/*
A Kubernetes quantity ("512Mi", "1G", "1e9", 536870912) in base units, as a float, read as
injector/inject/quantity.ts reads it (values.schema.json refuses what is not a quantity).
*/}}
{{- define "meshlet.quantity" -}}
{{- $q := toString . -}}
{{- $num := regexFind "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" $q -}}
{{- $suffix := trimPrefix $num $q -}}
{{- $units := dict "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- if hasKey $units $suffix -}}
{{ mulf (float64 $num) (get $units $suffix) }}
{{- else -}}
{{ float64 $q }}
{{- end -}}
{{- end -}}

{{/*
NODE_OPTIONS for a proxy whose memory limit is below 1 GiB, as the injector sets it on sidecars
(injector/inject/render.ts, SMALL_HEAP_NODE_OPTIONS; ADR 0023): under 1 GiB Node gives V8 1 MB
semi-spaces, ~1.3x instructions per request in scavenges; 2 MB costs nothing measurable.
Nothing for a limit of 1 GiB or more, for no limit, or when the user's env sets NODE_OPTIONS.
Takes (dict "resources" ... "env" ...).
*/}}
{{- define "meshlet.smallHeapEnv" -}}
{{- $own := false -}}
{{- range .env -}}{{- if eq .name "NODE_OPTIONS" -}}{{- $own = true -}}{{- end -}}{{- end -}}
{{- $limit := (.resources.limits | default dict).memory -}}
{{- if and (not $own) $limit (lt (float64 (include "meshlet.quantity" $limit)) 1073741824.0) }}
- name: NODE_OPTIONS
  value: --max-semi-space-size=2
{{- end -}}
{{- end -}}
