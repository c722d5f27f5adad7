{{/* Names and labels shared by every template. */}}

{{- define "memaudit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name: "memaudit" for `helm install memaudit`, else <release>-memaudit. */}}
{{- define "memaudit.fullname" -}}
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

{{/* The controller workload, ClusterRole/Role, bindings and the default Lease and ServiceAccount names. */}}
{{- define "memaudit.controllerName" -}}
{{- printf "%s-controller" (include "memaudit.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "memaudit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "memaudit.controllerName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "memaudit.leaseName" -}}
{{- default (include "memaudit.controllerName" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "memaudit.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "memaudit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "memaudit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "memaudit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "memaudit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The namespaces the controller is limited to, comma-separated as `memaudit controller --namespace`
takes them, or "" for cluster-wide.
*/}}
{{- define "memaudit.watchNamespace" -}}
{{- join "," (uniq .Values.watchNamespaces) }}
{{- end }}
