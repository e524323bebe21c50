{{- define "worker.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "worker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The backfill CronJob's pods: labels of their own, so the PDB and the metrics Service never select them. */}}
{{- define "worker.backfillSelectorLabels" -}}
app.kubernetes.io/name: {{ include "worker.name" . }}-backfill
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: backfill
{{- end -}}

{{/* The image by digest when image.digest is set (what was tested is what runs), else by tag. */}}
{{- define "worker.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "worker.labels" -}}
{{ include "worker.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "worker.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "worker.fullname" .) -}}
{{- end -}}

{{- define "worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "worker.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Pod and container hardening shared by the Deployment and the backfill CronJob. */}}
{{- define "worker.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1654
runAsGroup: 1654
fsGroup: 1654
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "worker.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The secrets as environment variables: never in the ConfigMap. */}}
{{/* The label the workload-identity webhook looks for, on the worker's and the CronJob's pods. */}}
{{- define "worker.identityLabels" -}}
{{- if .Values.workloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- end -}}

{{- define "worker.secretEnv" -}}
{{- if .Values.workloadIdentity.enabled }}
- name: Azure__Credential
  value: WorkloadIdentity
{{- end }}
- name: Embeddings__ApiKey
  valueFrom:
    secretKeyRef:
      name: {{ include "worker.secretName" . }}
      key: embeddings-api-key
- name: Queue__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ include "worker.secretName" . }}
      key: queue-connection-string
      optional: true
- name: Qdrant__ApiKey
  valueFrom:
    secretKeyRef:
      name: {{ include "worker.secretName" . }}
      key: qdrant-api-key
      optional: true
- name: Blobs__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ include "worker.secretName" . }}
      key: blob-connection-string
      optional: true
- name: Backfill__PageKey
  valueFrom:
    secretKeyRef:
      name: {{ include "worker.secretName" . }}
      key: backfill-page-key
      optional: true
{{- end -}}

{{/* The project's rate budgets, once for the release (the default size and any model's own), and the most replicas that share them. */}}
{{- define "worker.budgetEnv" -}}
{{- /* int64: helm reads values as float64, which print as 1.2e+06 from a million on. */}}
{{- with .Values.budget.tokensPerMinute }}
- name: Embeddings__TokensPerMinute
  value: {{ . | int64 | quote }}
{{- end }}
{{- with .Values.budget.requestsPerMinute }}
- name: Embeddings__RequestsPerMinute
  value: {{ . | int64 | quote }}
{{- end }}
{{- range $i, $budget := .Values.budget.models }}
- name: Embeddings__ModelBudgets__{{ $i }}__Model
  value: {{ $budget.model | quote }}
{{- with $budget.tokensPerMinute }}
- name: Embeddings__ModelBudgets__{{ $i }}__TokensPerMinute
  value: {{ . | int64 | quote }}
{{- end }}
{{- with $budget.requestsPerMinute }}
- name: Embeddings__ModelBudgets__{{ $i }}__RequestsPerMinute
  value: {{ . | int64 | quote }}
{{- end }}
{{- end }}
- name: Fleet__MaxReplicas
  value: {{ max 1 (ternary .Values.keda.maxReplicaCount (ternary .Values.hpa.maxReplicas .Values.replicaCount .Values.hpa.enabled) .Values.keda.enabled) | quote }}
{{- end -}}

{{/* The tokenizer file mounted from tokenizer.configMap (worker.volumes), for exact token counts. */}}
{{- define "worker.tokenizerEnv" -}}
{{- if .Values.tokenizer.configMap }}
- name: Embeddings__TokenizerFile
  value: {{ printf "/etc/embedding-worker/tokenizer/%s" .Values.tokenizer.key | quote }}
{{- end }}
{{- end -}}

{{/* The settings file from the ConfigMap, and /tmp (the root filesystem is read-only). */}}
{{- define "worker.volumeMounts" -}}
- name: config
  mountPath: /app/appsettings.Production.json
  subPath: appsettings.Production.json
  readOnly: true
# The runtime's diagnostics socket and temporary files.
- name: tmp
  mountPath: /tmp
{{- if .Values.tokenizer.configMap }}
- name: tokenizer
  mountPath: /etc/embedding-worker/tokenizer
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "worker.volumes" -}}
- name: config
  configMap:
    name: {{ include "worker.fullname" . }}
- name: tmp
  emptyDir: {}
{{- if .Values.tokenizer.configMap }}
- name: tokenizer
  configMap:
    name: {{ .Values.tokenizer.configMap }}
    items:
      - key: {{ .Values.tokenizer.key }}
        path: {{ .Values.tokenizer.key }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The operator's own environment (extraEnv), after the chart's, so it can set what the chart does not name. */}}
{{- define "worker.extraEnv" -}}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
