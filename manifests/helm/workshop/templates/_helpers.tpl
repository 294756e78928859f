{{/*
Shared pieces of the chart. Every object gets the label `environment` (what the Kustomize
overlays add to every object and pod template) and lives in the release's namespace.
*/}}

{{/* metadata of an object: name, namespace, labels. (dict "name" N "app" A "root" $) */}}
{{- define "workshop.metadata" -}}
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- with .app }}
    app: {{ . }}
    {{- end }}
    {{- with .extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    environment: {{ .root.Values.environment }}
{{- end }}

{{/* The image of a service: its own tag, else the chart's. (dict "name" N "tag" T "root" $) */}}
{{- define "workshop.image" -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .tag | default .root.Values.image.tag }}
{{- end }}

{{/* Pod security of every pod: Pod Security "restricted", non-root, default seccomp. */}}
{{- define "workshop.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "workshop.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end }}

{{- define "workshop.metricsAnnotations" -}}
annotations:
  prometheus.io/scrape: "true"
  prometheus.io/port: "8080"
  prometheus.io/path: /metrics
{{- end }}

{{/* Probes, requests and limits of the four services. */}}
{{- define "workshop.serviceProbesAndResources" -}}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  initialDelaySeconds: 5
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
resources:
  requests:
    cpu: 50m
    memory: 64Mi
  limits:
    cpu: 500m
    memory: 256Mi
{{- end }}

{{/*
One service of the call chain: its ServiceAccount, Service and Deployment (the manifests'
app-<name>.yaml). (dict "name" N "values" .Values.<name> "secret" BOOL "database" BOOL "root" $)
No `replicas` when values.replicas is unset: the gateway's autoscaler owns it.
*/}}
{{- define "workshop.service" -}}
{{- $ctx := dict "name" .name "app" .name "root" .root -}}
apiVersion: v1
kind: ServiceAccount
{{ include "workshop.metadata" $ctx }}
automountServiceAccountToken: false   # it never calls the Kubernetes API
---
apiVersion: v1
kind: Service
{{ include "workshop.metadata" $ctx }}
spec:
  selector:
    app: {{ .name }}
  ports:
  - name: http
    port: 8080
    targetPort: http
---
apiVersion: apps/v1
kind: Deployment
{{ include "workshop.metadata" $ctx }}
spec:
  {{- with .values.replicas }}
  replicas: {{ . }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: {{ .name }}   # not version: a rolling update changes it, and a selector cannot change
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0   # never fewer ready pods than asked for during an update
  template:
    metadata:
      labels:
        app: {{ .name }}
        version: v1
        environment: {{ .root.Values.environment }}
      {{- include "workshop.metricsAnnotations" . | nindent 6 }}
    spec:
      topologySpreadConstraints:   # replicas on different nodes, so one node lost is not the service lost
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app: {{ .name }}
        matchLabelKeys:     # spread each revision's pods: in a rollout, the old ones are leaving
        - pod-template-hash
      serviceAccountName: {{ .name }}
      automountServiceAccountToken: false
      {{- include "workshop.podSecurityContext" . | nindent 6 }}
      containers:
      - name: {{ .name }}
        image: {{ include "workshop.image" (dict "name" .name "tag" .values.tag "root" .root) }}
        imagePullPolicy: {{ .root.Values.image.pullPolicy }}
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: SERVICE_VERSION
          value: v1
        - name: PORT
          value: "8080"
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- if .database }}
        {{- include "workshop.databaseEnv" .name | nindent 8 }}
        {{- end }}
        envFrom:
        - configMapRef:
            name: workshop-settings
        {{- if .secret }}
        - secretRef:
            name: gateway-secrets
        {{- end }}
        {{- include "workshop.serviceProbesAndResources" . | nindent 8 }}
        {{- include "workshop.containerSecurityContext" . | nindent 8 }}
        volumeMounts:
        - name: tmp
          mountPath: /tmp
      volumes:
      - name: tmp
        emptyDir: {}
{{- end }}

{{/* How a stateful service reaches its own database (database-<name>.yaml). The service's name. */}}
{{- define "workshop.databaseEnv" -}}
- name: DATABASE_URL   # its own PostgreSQL; no password in the URL
  value: postgresql://{{ . }}@{{ . }}-db:5432/{{ . }}
- name: PGPASSWORD     # read by the PostgreSQL client library, from the database's Secret
  valueFrom:
    secretKeyRef:
      name: {{ . }}-db
      key: password
{{- end }}
