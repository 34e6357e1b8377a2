{{/*
Names, labels and the pieces every Deployment shares. Component templates call these with
(dict "root" $ "component" "worker" "c" .Values.worker).
*/}}

{{- define "gd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's objects: <fullname>-<component>. */}}
{{- define "gd.componentName" -}}
{{- printf "%s-%s" (include "gd.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "gd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gd.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gd.labels" -}}
{{ include "gd.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: genesys-deactivator
{{- end -}}

{{- define "gd.image" -}}
{{- $img := .root.Values.image -}}
{{- printf "%s/%s:%s" $img.repository .component (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the component's shutdown timeout (the value its
--shutdown-timeout flag is given), plus any preStop sleep, plus a margin for closing NATS and
exiting. Derived here so that there is no second number to keep in sync.
*/}}
{{- define "gd.gracePeriod" -}}
{{- add (int .c.shutdownTimeoutSeconds) (int (default 0 .c.preStopSleepSeconds)) (int .root.Values.shutdownMarginSeconds) -}}
{{- end -}}

{{- define "gd.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ int .root.Values.securityContext.runAsUser }}
runAsGroup: {{ int .root.Values.securityContext.runAsGroup }}
fsGroup: {{ int .root.Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "gd.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ int .root.Values.securityContext.runAsUser }}
runAsGroup: {{ int .root.Values.securityContext.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Where Secrets are mounted: one folder per Secret under /run/secrets/genesys. */}}
{{- define "gd.secretDir" -}}/run/secrets/genesys{{- end -}}

{{/*
The NATS flags of a component: the URL, the deployment's prefix, one authentication method
whose secret is a file from a Secret volume, TLS files, and the inbox prefix.
*/}}
{{- define "gd.natsArgs" -}}
{{- $n := .c.nats -}}
{{- $dir := include "gd.secretDir" . -}}
- --nats-url={{ required "nats.url is required" .root.Values.nats.url }}
- --prefix={{ .root.Values.nats.prefix }}
{{- if eq $n.auth "password" }}
- --nats-user={{ required (printf "%s.nats.user is required with auth password" .component) $n.user }}
- --nats-password-file={{ $dir }}/nats/{{ $n.key }}
{{- else if eq $n.auth "creds" }}
- --nats-creds={{ $dir }}/nats/{{ $n.key }}
{{- else if eq $n.auth "nkey" }}
- --nats-nkey={{ $dir }}/nats/{{ $n.key }}
{{- else if eq $n.auth "token" }}
- --nats-token-file={{ $dir }}/nats/{{ $n.key }}
{{- else if ne $n.auth "none" }}
{{- fail (printf "%s.nats.auth %q: want password, creds, nkey, token or none" .component $n.auth) }}
{{- end }}
{{- if $n.inboxPrefix }}
- --nats-inbox-prefix={{ $n.inboxPrefix }}
{{- end }}
{{- with .root.Values.nats.tls }}
{{- if .existingSecret }}
- --nats-ca={{ $dir }}/nats-tls/{{ .caKey }}
{{- if .mutual }}
- --nats-cert={{ $dir }}/nats-tls/{{ .certKey }}
- --nats-key={{ $dir }}/nats-tls/{{ .keyKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "gd.natsVolumes" -}}
{{- if ne .c.nats.auth "none" }}
- name: nats
  secret:
    secretName: {{ required (printf "%s.nats.existingSecret is required" .component) .c.nats.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .c.nats.key }}
        path: {{ .c.nats.key }}
{{- end }}
{{- if .root.Values.nats.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ .root.Values.nats.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "gd.natsMounts" -}}
{{- if ne .c.nats.auth "none" }}
- name: nats
  mountPath: {{ include "gd.secretDir" . }}/nats
  readOnly: true
{{- end }}
{{- if .root.Values.nats.tls.existingSecret }}
- name: nats-tls
  mountPath: {{ include "gd.secretDir" . }}/nats-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Secrets named in <component>.secretMounts, each a folder /run/secrets/genesys/<name>. */}}
{{- define "gd.extraSecretVolumes" -}}
{{- range .c.secretMounts }}
- name: secret-{{ .name }}
  secret:
    secretName: {{ required "every secretMounts entry needs existingSecret" .existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "gd.extraSecretMounts" -}}
{{- range .c.secretMounts }}
- name: secret-{{ .name }}
  mountPath: {{ include "gd.secretDir" $ }}/{{ .name }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
A JSON config (relay.json, ingress.json) must take its secrets from files: a field that names
an environment variable would need the secret in the pod's environment, which this chart never
sets.
*/}}
{{- define "gd.refuseEnvSecrets" -}}
{{- if regexMatch "\"(secrets_env|hec_token_env|hmac_secret_env|token_env|secret_env|secret_env_var)\"" (toJson .c.config) -}}
{{- fail (printf "%s.config names a secret by environment variable; this chart mounts secrets as files: use secret_files / *_file fields with %s.secretMounts" .component .component) -}}
{{- end -}}
{{- end -}}

{{- define "gd.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gd.componentName" . }}-metrics
  labels:
    {{- include "gd.labels" . | nindent 4 }}
    genesys-deactivator/metrics: "true"
spec:
  type: ClusterIP
  selector:
    {{- include "gd.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: metrics
      protocol: TCP
{{- end -}}

{{- define "gd.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "gd.componentName" . }}
  labels:
    {{- include "gd.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}

{{- define "gd.pdb" -}}
{{- if .c.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "gd.componentName" . }}
  labels:
    {{- include "gd.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .c.pdb.maxUnavailable }}
  # Unready pods (a paused fleet, a guard hold) never block a node drain.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "gd.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
NetworkPolicy of a component: egress to DNS, NATS and the component's own destinations
(.egress: list of {cidr, except, ports}); ingress to the metrics port from
networkPolicy.metricsFrom, plus .ingressRules (full NetworkPolicyIngressRule list).
*/}}
{{- define "gd.networkPolicy" -}}
{{- $np := .root.Values.networkPolicy -}}
{{- if $np.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "gd.componentName" . }}
  labels:
    {{- include "gd.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gd.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- if $np.metricsFrom }}
    - from:
        {{- toYaml $np.metricsFrom | nindent 8 }}
      ports:
        - port: metrics
          protocol: TCP
    {{- end }}
    {{- with .ingressRules }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  egress:
    - to:
        {{- toYaml $np.dns.to | nindent 8 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    - to:
        {{- required "networkPolicy.nats.to must name where NATS runs" $np.nats.to | toYaml | nindent 8 }}
      ports:
        {{- range $np.nats.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- range .egress }}
    - to:
        - ipBlock:
            cidr: {{ required "every egress entry needs a cidr" .cidr }}
            {{- with .except }}
            except:
              {{- toYaml . | nindent 14 }}
            {{- end }}
      ports:
        {{- range (required "every egress entry needs ports" .ports) }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "gd.scheduling" -}}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .c.topologySpread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "gd.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/*
GOMEMLIMIT at 90 % of the container's memory limit (Mi or Gi), so that the Go runtime collects
harder before the kernel kills it; nothing when the limit is unset or in another unit.
*/}}
{{- define "gd.gomemlimit" -}}
{{- $limit := "" -}}
{{- with .c.resources }}{{ with .limits }}{{ $limit = toString (default "" .memory) }}{{ end }}{{ end -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $limit -}}
{{- $mib = mul (int (trimSuffix "Gi" $limit)) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}
{{- $mib = int (trimSuffix "Mi" $limit) -}}
{{- end -}}
{{- if gt (int $mib) 0 }}
- name: GOMEMLIMIT
  value: {{ printf "%dMiB" (div (mul $mib 9) 10) | quote }}
{{- end }}
{{- end -}}
