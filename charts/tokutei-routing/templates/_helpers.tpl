{{/* Names, labels and the settings several templates share. */}}

{{- define "tokutei-routing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokutei-routing.fullname" -}}
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

{{/* Room for the longest suffix ("-encryption", "-headless") within the 63 characters of a DNS label. */}}
{{- define "tokutei-routing.shortname" -}}
{{- include "tokutei-routing.fullname" . | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "tokutei-routing.redis.fullname" -}}
{{- printf "%s-redis" (include "tokutei-routing.shortname" .) }}
{{- end }}

{{- define "tokutei-routing.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokutei-routing.labels" -}}
helm.sh/chart: {{ include "tokutei-routing.chart" . }}
app.kubernetes.io/name: {{ include "tokutei-routing.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokutei-routing
{{- end }}

{{/* The server pods; the component label keeps the Services' selectors off the Redis pod. */}}
{{- define "tokutei-routing.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokutei-routing.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tokutei-routing.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokutei-routing.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "tokutei-routing.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokutei-routing.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokutei-routing.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "tokutei-routing.redis.image" -}}
{{- if .Values.redis.image.digest }}
{{- printf "%s:%s@%s" .Values.redis.image.repository .Values.redis.image.tag .Values.redis.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.redis.image.repository .Values.redis.image.tag }}
{{- end }}
{{- end }}

{{/*
Storage mode: "bundled" (redis.enabled), "external" (an externalRedis address: host, nodes, sentinel, or a mode other
than standalone) or "embedded" (in memory, one pod).
*/}}
{{- define "tokutei-routing.mode" -}}
{{- if .Values.redis.enabled }}bundled{{ else if include "tokutei-routing.externalRedisGiven" . }}external{{ else }}embedded{{ end }}
{{- end }}

{{/* "true" when any externalRedis address is given, whatever redis.enabled says. */}}
{{- define "tokutei-routing.externalRedisGiven" -}}
{{- $r := .Values.externalRedis }}
{{- if or $r.host $r.nodes $r.sentinel.masterName $r.sentinel.nodes (ne ($r.mode | default "standalone") "standalone") }}true{{ end }}
{{- end }}

{{/* The "host:port" endpoints ConnectionStrings__Redis starts with (JSON list): the host, the cluster's seed nodes or the sentinels. */}}
{{- define "tokutei-routing.externalRedisEndpoints" -}}
{{- $r := .Values.externalRedis }}
{{- $mode := $r.mode | default "standalone" }}
{{- if eq $mode "cluster" }}{{ toJson $r.nodes }}
{{- else if eq $mode "sentinel" }}{{ toJson $r.sentinel.nodes }}
{{- else }}{{ toJson (list (printf "%s:%d" $r.host ($r.port | int))) }}
{{- end }}
{{- end }}

{{/* The TCP ports the server reaches the external Redis on (JSON list, no duplicates): those of the endpoints, plus networkPolicy.egress.externalRedis.ports. */}}
{{- define "tokutei-routing.externalRedisPorts" -}}
{{- $ports := list }}
{{- range (include "tokutei-routing.externalRedisEndpoints" . | fromJsonArray) }}
{{- $ports = append $ports (regexFind "[0-9]+$" .) }}
{{- end }}
{{- range .Values.networkPolicy.egress.externalRedis.ports }}
{{- $ports = append $ports (toString .) }}
{{- end }}
{{- $out := list }}
{{- range ($ports | uniq) }}{{ $out = append $out (int .) }}{{ end }}
{{- toJson $out }}
{{- end }}

{{/* Replicas the budget has to leave room for: the HPA's floor when it owns the count. */}}
{{- define "tokutei-routing.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/* ConnectionStrings__Redis: a StackExchange.Redis configuration string without the password. */}}
{{- define "tokutei-routing.redisConnectionString" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- if eq $mode "bundled" }}
{{- printf "%s:%d,abortConnect=false" (include "tokutei-routing.redis.fullname" .) (.Values.redis.port | int) }}
{{- else if eq $mode "external" }}
{{- $r := .Values.externalRedis }}
{{- $parts := include "tokutei-routing.externalRedisEndpoints" . | fromJsonArray }}
{{- if eq $r.mode "sentinel" }}{{ $parts = append $parts (printf "serviceName=%s" $r.sentinel.masterName) }}{{ end }}
{{- $parts = append $parts "abortConnect=false" }}
{{- if $r.tls }}{{ $parts = append $parts "ssl=true" }}{{ end }}
{{- if $r.user }}{{ $parts = append $parts (printf "user=%s" $r.user) }}{{ end }}
{{- if $r.options }}{{ $parts = append $parts $r.options }}{{ end }}
{{- join "," $parts }}
{{- end }}
{{- end }}

{{/* The Secret holding the Redis password, "" when Redis needs none. */}}
{{- define "tokutei-routing.redisPasswordSecret" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- if eq $mode "bundled" }}
{{- .Values.redis.auth.existingSecret | default (printf "%s-auth" (include "tokutei-routing.redis.fullname" .)) }}
{{- else if eq $mode "external" }}
{{- if .Values.externalRedis.existingSecret }}{{ .Values.externalRedis.existingSecret }}
{{- else if .Values.externalRedis.password }}{{ printf "%s-auth" (include "tokutei-routing.redis.fullname" .) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokutei-routing.redisPasswordKey" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- if and (eq $mode "bundled") .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecretPasswordKey }}
{{- else if and (eq $mode "external") .Values.externalRedis.existingSecret }}{{ .Values.externalRedis.existingSecretPasswordKey }}
{{- else }}redis-password{{ end }}
{{- end }}

{{/* Whether the chart writes the Redis password Secret itself. */}}
{{- define "tokutei-routing.createRedisSecret" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- if and (eq $mode "bundled") (not .Values.redis.auth.existingSecret) }}true
{{- else if and (eq $mode "external") (not .Values.externalRedis.existingSecret) .Values.externalRedis.password }}true
{{- end }}
{{- end }}

{{- define "tokutei-routing.encryptionSecret" -}}
{{- .Values.encryption.existingSecret | default (printf "%s-encryption" (include "tokutei-routing.shortname" .)) }}
{{- end }}

{{/* The key ids the server reads (JSON list): from keyIds with an existing Secret, else the inline or generated keys. */}}
{{- define "tokutei-routing.encryptionKeyIds" -}}
{{- if .Values.encryption.existingSecret }}
{{- toJson .Values.encryption.keyIds }}
{{- else if .Values.encryption.keys }}
{{- toJson (keys .Values.encryption.keys | sortAlpha) }}
{{- else if .Values.encryption.generateKey }}
{{- toJson (list .Values.encryption.activeKeyId) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{- define "tokutei-routing.jwtSecret" -}}
{{- printf "%s-jwt" (include "tokutei-routing.shortname" .) }}
{{- end }}

{{/*
The JWT signing keys the server gets (JSON list of {kid, secret, key}), each a secretKeyRef: the entries named in
security.jwt.existingSecretKeys, then the inline security.jwt.signingKeys from the chart's Secret. Empty with JWT off.
*/}}
{{- define "tokutei-routing.jwtSigningKeyRefs" -}}
{{- $jwt := .Values.security.jwt }}
{{- $refs := list }}
{{- if $jwt.enabled }}
{{- range $kid, $entry := $jwt.existingSecretKeys }}
{{- $refs = append $refs (dict "kid" $kid "secret" $jwt.existingSecret "key" $entry) }}
{{- end }}
{{- range $kid, $_ := $jwt.signingKeys }}
{{- $refs = append $refs (dict "kid" $kid "secret" (include "tokutei-routing.jwtSecret" $) "key" $kid) }}
{{- end }}
{{- end }}
{{- toJson $refs }}
{{- end }}

{{/* The port the kubelet's gRPC probes call: plaintext only, so the health listener when the gRPC port has TLS. */}}
{{- define "tokutei-routing.probePort" -}}
{{- if .Values.tls.enabled }}{{ .Values.ports.health | int }}{{ else }}{{ .Values.ports.grpc | int }}{{ end }}
{{- end }}

{{/* HostOptions__ShutdownTimeout as a TimeSpan (hh:mm:ss). */}}
{{- define "tokutei-routing.shutdownTimeout" -}}
{{- $s := .Values.shutdown.timeoutSeconds | int }}
{{- printf "%02d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) }}
{{- end }}

{{- define "tokutei-routing.terminationGracePeriodSeconds" -}}
{{- add .Values.shutdown.preStopSleepSeconds .Values.shutdown.timeoutSeconds .Values.shutdown.marginSeconds }}
{{- end }}

{{/* Where the intake credentials are mounted: one directory per endpoint name below it. */}}
{{- define "tokutei-routing.deliveryMountPath" -}}
/etc/tokutei/delivery
{{- end }}

{{/*
Credentials of the delivery intakes (delivery.security), a JSON list with one entry per endpoint name: the projected
volume that gathers its Secrets' entries into one directory (mounted whole, never with subPath, so the kubelet swaps
rotated files in and the server re-reads them), where it is mounted, and the Delivery__Security__<name>__* settings
naming the files: token, tls.crt, tls.key, ca.crt.
*/}}
{{- define "tokutei-routing.deliveryCredentials" -}}
{{- $out := list }}
{{- range $name, $c := .Values.delivery.security }}
{{- $dir := printf "%s/%s" (include "tokutei-routing.deliveryMountPath" $) $name }}
{{- $sources := list }}
{{- $settings := dict }}
{{- with $c.bearerTokenSecret }}
{{- $items := list (dict "key" (.key | default "token") "path" "token") }}
{{- $sources = append $sources (dict "secret" (dict "name" .name "items" $items)) }}
{{- $_ := set $settings "BearerTokenPath" (printf "%s/token" $dir) }}
{{- end }}
{{- with $c.clientCertificateSecret }}
{{- $items := list (dict "key" (.certificateKey | default "tls.crt") "path" "tls.crt") (dict "key" (.privateKeyKey | default "tls.key") "path" "tls.key") }}
{{- $sources = append $sources (dict "secret" (dict "name" .name "items" $items)) }}
{{- $_ := set $settings "ClientCertificatePath" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $settings "ClientKeyPath" (printf "%s/tls.key" $dir) }}
{{- end }}
{{- with $c.caCertificateSecret }}
{{- $items := list (dict "key" (.key | default "ca.crt") "path" "ca.crt") }}
{{- $sources = append $sources (dict "secret" (dict "name" .name "items" $items)) }}
{{- $_ := set $settings "CaCertificatePath" (printf "%s/ca.crt" $dir) }}
{{- end }}
{{- if $sources }}
{{- $out = append $out (dict "endpoint" $name "volume" (printf "delivery-%s" (lower $name)) "mountPath" $dir "sources" $sources "settings" $settings) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The non-secret settings of the server (a dict of environment variables), rendered into the ConfigMap.
This is the whole environment contract between the chart and the server, besides the secretKeyRefs in the Deployment.
*/}}
{{- define "tokutei-routing.settings" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- $scheme := ternary "https" "http" .Values.tls.enabled }}
{{- $d := dict }}
{{- $_ := set $d "ASPNETCORE_URLS" (printf "%s://%s:%d" $scheme .Values.listenAddress (.Values.ports.grpc | int)) }}
{{- $_ := set $d "ASPNETCORE_ENVIRONMENT" .Values.config.environment }}
{{- $_ := set $d "Admin__Port" (.Values.ports.admin | int | toString) }}
{{- $_ := set $d "HostOptions__ShutdownTimeout" (include "tokutei-routing.shutdownTimeout" .) }}
{{- if ne $mode "embedded" }}
{{- $_ := set $d "ConnectionStrings__Redis" (include "tokutei-routing.redisConnectionString" .) }}
{{- $_ := set $d "Redis__Shards" (.Values.redisLayout.shards | int | toString) }}
{{- $acks := ternary (.Values.externalRedis.replicaAcks | int) 0 (eq $mode "external") }}
{{- $_ := set $d "Redis__ReplicaAcks" ($acks | toString) }}
{{- if gt $acks 0 }}
{{- $_ := set $d "Redis__ReplicaAckTimeout" .Values.externalRedis.replicaAckTimeout }}
{{- end }}
{{- $_ := set $d "Encryption__ActiveKeyId" .Values.encryption.activeKeyId }}
{{- end }}
{{- if .Values.tls.enabled }}
{{- $_ := set $d "Tls__CertificatePath" (printf "%s/tls.crt" .Values.tls.mountPath) }}
{{- $_ := set $d "Tls__KeyPath" (printf "%s/tls.key" .Values.tls.mountPath) }}
{{- if .Values.tls.clientCa }}
{{- $_ := set $d "Tls__ClientCaPath" (printf "%s/ca.crt" .Values.tls.mountPath) }}
{{- end }}
{{- $_ := set $d "Admin__HealthPort" (.Values.ports.health | int | toString) }}
{{- end }}
{{- $delivery := .Values.delivery }}
{{- if $delivery.allowLoopback }}
{{- $_ := set $d "Delivery__AllowLoopback" "true" }}
{{- end }}
{{- /* In durable mode an empty kind endpoint is only possible with allowLoopback: say "loopback" explicitly. */}}
{{- $loopback := and (ne $mode "embedded") $delivery.allowLoopback }}
{{- if $delivery.endpoints.regionalBureau }}
{{- $_ := set $d "Delivery__Endpoints__RegionalBureau" $delivery.endpoints.regionalBureau }}
{{- else if $loopback }}
{{- $_ := set $d "Delivery__Endpoints__RegionalBureau" "loopback" }}
{{- end }}
{{- if $delivery.endpoints.municipality }}
{{- $_ := set $d "Delivery__Endpoints__Municipality" $delivery.endpoints.municipality }}
{{- else if $loopback }}
{{- $_ := set $d "Delivery__Endpoints__Municipality" "loopback" }}
{{- end }}
{{- range $code, $url := $delivery.endpoints.offices }}
{{- $_ := set $d (printf "Delivery__Endpoints__Offices__%s" $code) $url }}
{{- end }}
{{- range (include "tokutei-routing.deliveryCredentials" . | fromJsonArray) }}
{{- $prefix := printf "Delivery__Security__%s__" .endpoint }}
{{- range $setting, $file := .settings }}
{{- $_ := set $d (printf "%s%s" $prefix $setting) $file }}
{{- end }}
{{- end }}
{{- with .Values.otel.endpoint }}
{{- $_ := set $d "OTEL_EXPORTER_OTLP_ENDPOINT" . }}
{{- end }}
{{- with .Values.otel.protocol }}
{{- $_ := set $d "OTEL_EXPORTER_OTLP_PROTOCOL" . }}
{{- end }}
{{- $_ := set $d "OTEL_SERVICE_NAME" .Values.otel.serviceName }}
{{- $sec := .Values.security }}
{{- if $sec.allowUnauthenticated }}
{{- $_ := set $d "Security__AllowUnauthenticated" "true" }}
{{- end }}
{{- if $sec.jwt.enabled }}
{{- $_ := set $d "Security__Jwt__Enabled" "true" }}
{{- $_ := set $d "Security__Jwt__Issuer" $sec.jwt.issuer }}
{{- $_ := set $d "Security__Jwt__Audience" $sec.jwt.audience }}
{{- $_ := set $d "Security__Jwt__OfficeClaim" $sec.jwt.officeClaim }}
{{- $_ := set $d "Security__Jwt__RolesClaim" $sec.jwt.rolesClaim }}
{{- $_ := set $d "Security__Jwt__ClockSkew" $sec.jwt.clockSkew }}
{{- end }}
{{- if $sec.clientCertificates.enabled }}
{{- $_ := set $d "Security__ClientCertificates__Enabled" "true" }}
{{- $_ := set $d "Security__ClientCertificates__OfficeCodeFrom" $sec.clientCertificates.officeCodeFrom }}
{{- $_ := set $d "Security__ClientCertificates__DefaultRoles" $sec.clientCertificates.defaultRoles }}
{{- end }}
{{- range $code, $roles := $sec.agencyRoles }}
{{- $_ := set $d (printf "Security__AgencyRoles__%s" $code) $roles }}
{{- end }}
{{- $_ := set $d "Limits__RatePerSecond" (.Values.limits.ratePerSecond | int | toString) }}
{{- $_ := set $d "Limits__Burst" (.Values.limits.burst | int | toString) }}
{{- $_ := set $d "Limits__DefaultDeadline" .Values.limits.defaultDeadline }}
{{- $_ := set $d "Limits__MaxDeadline" .Values.limits.maxDeadline }}
{{- range $name, $value := .Values.config.extra }}
{{- if regexMatch "^(?i)(Security|Limits)__" $name }}
{{- fail (printf "config.extra.%s: the chart owns the Security and Limits sections; use the security and limits values (see values.yaml)" $name) }}
{{- end }}
{{- if regexMatch "^(?i)Delivery__(AllowLoopback$|Endpoints__)" $name }}
{{- fail (printf "config.extra.%s: the chart owns the intake endpoints and the loopback switch; use delivery.endpoints and delivery.allowLoopback (see values.yaml)" $name) }}
{{- end }}
{{- if hasKey $d $name }}
{{- fail (printf "config.extra.%s: the chart sets %s itself; use the value that controls it (see values.yaml)" $name $name) }}
{{- end }}
{{- if regexMatch "(?i)(password|secret|apikey|token$|Encryption__Keys|SigningKeys)" $name }}
{{- fail (printf "config.extra.%s looks like a secret, and config.extra goes to a ConfigMap: use extraEnv with valueFrom.secretKeyRef" $name) }}
{{- end }}
{{- $_ := set $d $name ($value | toString) }}
{{- end }}
{{- toJson $d }}
{{- end }}

{{/* Settings that no schema can check: each failure names the value to change. */}}
{{- define "tokutei-routing.validate" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- if and .Values.redis.enabled .Values.externalRedis.host }}
{{- fail "redis.enabled and externalRedis.host are both set: choose the bundled Redis or your own" }}
{{- end }}
{{- if and .Values.redis.enabled (include "tokutei-routing.externalRedisGiven" .) }}
{{- fail "redis.enabled and an externalRedis address (externalRedis.mode, .nodes or .sentinel) are both set: choose the bundled Redis or your own (redis.enabled=false)" }}
{{- end }}
{{- if and (eq $mode "embedded") (or .Values.autoscaling.enabled (gt (.Values.replicaCount | int) 1)) }}
{{- fail "embedded mode (redis.enabled=false, no externalRedis address) keeps cases in each pod's memory: it needs replicaCount=1 and autoscaling off, or a Redis" }}
{{- end }}
{{- include "tokutei-routing.validateRedis" . }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int) }}
{{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d)" (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int)) }}
{{- end }}
{{- if and (not .Values.autoscaling.targetCPUUtilizationPercentage) (not .Values.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled needs tls.existingSecret: a kubernetes.io/tls Secret with tls.crt and tls.key (and ca.crt for tls.clientCa)" }}
{{- end }}
{{- if and .Values.tls.enabled (eq (.Values.ports.health | int) (.Values.ports.grpc | int)) }}
{{- fail "ports.health must differ from ports.grpc: with TLS the probes need their own plaintext listener" }}
{{- end }}
{{- if or (eq (.Values.ports.admin | int) (.Values.ports.grpc | int)) (and .Values.tls.enabled (eq (.Values.ports.admin | int) (.Values.ports.health | int))) }}
{{- fail "ports.admin must differ from ports.grpc and ports.health" }}
{{- end }}
{{- $sec := .Values.security }}
{{- if not (or $sec.jwt.enabled $sec.clientCertificates.enabled $sec.allowUnauthenticated) }}
{{- fail "no way to identify agencies, and the server refuses to start without one: set security.jwt.enabled=true (with security.jwt.issuer, .audience and signing keys) and/or security.clientCertificates.enabled=true (with tls.enabled, tls.existingSecret and tls.clientCa), or, for development only, security.allowUnauthenticated=true" }}
{{- end }}
{{- if and $sec.clientCertificates.enabled (not (and .Values.tls.enabled .Values.tls.clientCa)) }}
{{- fail "security.clientCertificates.enabled needs TLS with a client CA: set tls.enabled=true, tls.existingSecret (a kubernetes.io/tls Secret with ca.crt, the CA of the agencies' certificates) and tls.clientCa=true" }}
{{- end }}
{{- if and .Values.tls.enabled .Values.tls.clientCa (not $sec.clientCertificates.enabled) }}
{{- fail "tls.clientCa only gives the server the CA of agencies' client certificates, which nothing uses unless security.clientCertificates.enabled=true: enable it, or set tls.clientCa=false" }}
{{- end }}
{{- $codes := dict }}
{{- range $code, $_ := $sec.agencyRoles }}
{{- if hasKey $codes (lower $code) }}
{{- fail (printf "security.agencyRoles lists office %q twice (configuration keys ignore case): keep one" $code) }}
{{- end }}
{{- $_ := set $codes (lower $code) true }}
{{- end }}
{{- if and $sec.agencyRoles (not $sec.clientCertificates.enabled) }}
{{- fail "security.agencyRoles gives roles to certificate-identified agencies, and security.clientCertificates is off (JWT callers take their roles from the token): enable security.clientCertificates, or remove security.agencyRoles" }}
{{- end }}
{{- if $sec.jwt.enabled }}
{{- if or (not $sec.jwt.issuer) (not $sec.jwt.audience) }}
{{- fail "security.jwt.enabled needs security.jwt.issuer and security.jwt.audience: the iss and aud every token must carry" }}
{{- end }}
{{- if and $sec.jwt.existingSecretKeys (not $sec.jwt.existingSecret) }}
{{- fail "security.jwt.existingSecretKeys names entries of security.jwt.existingSecret, which is empty" }}
{{- end }}
{{- if and $sec.jwt.existingSecret (not $sec.jwt.existingSecretKeys) }}
{{- fail "security.jwt.existingSecret needs security.jwt.existingSecretKeys: kid -> entry of the Secret" }}
{{- end }}
{{- /* Configuration keys are case-insensitive: kids that differ only in case would be one key to the server. */}}
{{- $seen := dict }}
{{- range (include "tokutei-routing.jwtSigningKeyRefs" . | fromJsonArray) }}
{{- if hasKey $seen (lower .kid) }}
{{- fail (printf "JWT key id %q is given twice (security.jwt.existingSecretKeys and security.jwt.signingKeys, ignoring case): keep one" .kid) }}
{{- end }}
{{- $_ := set $seen (lower .kid) true }}
{{- end }}
{{- if not $seen }}
{{- fail "security.jwt.enabled needs at least one signing key: security.jwt.existingSecret with security.jwt.existingSecretKeys (kid -> entry), or security.jwt.signingKeys (kid -> PEM public key or base64)" }}
{{- end }}
{{- end }}
{{- $delivery := .Values.delivery }}
{{- if and (ne $mode "embedded") (not $delivery.allowLoopback) }}
{{- $missing := list }}
{{- if not $delivery.endpoints.regionalBureau }}{{ $missing = append $missing "delivery.endpoints.regionalBureau" }}{{ end }}
{{- if not $delivery.endpoints.municipality }}{{ $missing = append $missing "delivery.endpoints.municipality" }}{{ end }}
{{- if $missing }}
{{- fail (printf "durable mode delivers every accepted case to its destination's intake (CaseIntakeService), and the server refuses to start without an intake for each office kind: set %s (intake URLs, https://...) and, with networkPolicy.egress on, their peers in networkPolicy.egress.intake.to; or, for development only, set delivery.allowLoopback=true to deliver to the server's own loopback intake" (join " and " $missing)) }}
{{- end }}
{{- end }}
{{- $addresses := dict "delivery.endpoints.regionalBureau" $delivery.endpoints.regionalBureau "delivery.endpoints.municipality" $delivery.endpoints.municipality }}
{{- $offices := dict }}
{{- range $code, $url := $delivery.endpoints.offices }}
{{- $_ := set $addresses (printf "delivery.endpoints.offices.%s" $code) $url }}
{{- if hasKey $offices (lower $code) }}
{{- fail (printf "delivery.endpoints.offices lists office %q twice (configuration keys ignore case): keep one" $code) }}
{{- end }}
{{- $_ := set $offices (lower $code) true }}
{{- end }}
{{- range $value, $url := $addresses }}
{{- if and $url (not (regexMatch "^https?://[^\\s]+$" (toString $url))) }}
{{- fail (printf "%s (%q) must be an http:// or https:// URL of a CaseIntakeService; for the server's own loopback intake leave the kind endpoints empty and set delivery.allowLoopback=true (development only)" $value (toString $url)) }}
{{- end }}
{{- end }}
{{- $credentialNames := dict }}
{{- range $name, $_ := $delivery.security }}
{{- if not (or (eq $name "RegionalBureau") (eq $name "Municipality") (hasKey $delivery.endpoints.offices $name)) }}
{{- fail (printf "delivery.security.%s names no endpoint: use RegionalBureau, Municipality or an office code of delivery.endpoints.offices (an office's own credentials go with its own endpoint)" $name) }}
{{- end }}
{{- if hasKey $credentialNames (lower $name) }}
{{- fail (printf "delivery.security lists %q twice (ignoring case): keep one" $name) }}
{{- end }}
{{- $_ := set $credentialNames (lower $name) true }}
{{- end }}
{{- if ne $mode "embedded" }}
{{- $ids := include "tokutei-routing.encryptionKeyIds" . | fromJsonArray }}
{{- if not $ids }}
{{- fail "durable mode stores personal data encrypted: set encryption.existingSecret with encryption.keyIds, or encryption.keys, or encryption.generateKey=true" }}
{{- end }}
{{- if not (has .Values.encryption.activeKeyId $ids) }}
{{- fail (printf "encryption.activeKeyId %q is not among the keys the server gets (%s)" .Values.encryption.activeKeyId (join ", " $ids)) }}
{{- end }}
{{- end }}
{{- if and .Values.networkPolicy.enabled .Values.networkPolicy.egress.enabled }}
{{- if and (eq $mode "external") (not .Values.networkPolicy.egress.externalRedis.to) (not .Values.networkPolicy.egress.extra) }}
{{- fail "networkPolicy.egress would block the external Redis: set networkPolicy.egress.externalRedis.to (e.g. an ipBlock), or networkPolicy.egress.enabled=false" }}
{{- end }}
{{- if and (eq $mode "external") (eq .Values.externalRedis.mode "sentinel") (not .Values.networkPolicy.egress.externalRedis.ports) (not .Values.networkPolicy.egress.extra) }}
{{- fail "networkPolicy.egress would block the Redis data nodes behind the sentinels: the server connects to the master (and replicas) the sentinels name, whose addresses are known only at run time. Set networkPolicy.egress.externalRedis.ports to their port (e.g. [6379]) and make networkPolicy.egress.externalRedis.to cover them as well as the sentinels, or set networkPolicy.egress.enabled=false" }}
{{- end }}
{{- $d := .Values.delivery.endpoints }}
{{- if and (or $d.regionalBureau $d.municipality $d.offices) (not .Values.networkPolicy.egress.intake.to) (not .Values.networkPolicy.egress.extra) }}
{{- fail "networkPolicy.egress would block delivery to the intake endpoints: set networkPolicy.egress.intake.to, or networkPolicy.egress.enabled=false" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Redis topology and its settings; each failure names the value to change. */}}
{{- define "tokutei-routing.validateRedis" -}}
{{- $mode := include "tokutei-routing.mode" . }}
{{- $r := .Values.externalRedis }}
{{- $acks := $r.replicaAcks | int }}
{{- $shards := .Values.redisLayout.shards | int }}
{{- if or (lt $shards 1) (gt $shards 256) }}
{{- fail (printf "redisLayout.shards must be between 1 and 256 (it is %d); it is fixed at install: use the number the release was installed with" $shards) }}
{{- end }}
{{- if lt $acks 0 }}
{{- fail (printf "externalRedis.replicaAcks must be 0 or more (it is %d)" $acks) }}
{{- end }}
{{- if and (eq $mode "bundled") (gt $acks 0) }}
{{- fail (printf "externalRedis.replicaAcks=%d, but the bundled Redis (redis.enabled=true) is a single node with no replica to acknowledge a case, so RouteCase could never answer OK: set externalRedis.replicaAcks=0, or use an external Redis Sentinel set or Cluster with replicas (redis.enabled=false, externalRedis.mode)" $acks) }}
{{- end }}
{{- if and (eq $mode "embedded") (gt $acks 0) }}
{{- fail (printf "externalRedis.replicaAcks=%d, but no Redis is configured (embedded mode): give your Redis (externalRedis.mode with host, nodes or sentinel), or set externalRedis.replicaAcks=0" $acks) }}
{{- end }}
{{- if eq $mode "external" }}
{{- if not (has $r.mode (list "standalone" "cluster" "sentinel")) }}
{{- fail (printf "externalRedis.mode %q: use standalone, cluster or sentinel" (toString $r.mode)) }}
{{- end }}
{{- if eq $r.mode "standalone" }}
{{- if or $r.nodes $r.sentinel.masterName $r.sentinel.nodes }}
{{- fail "externalRedis.nodes and externalRedis.sentinel are for externalRedis.mode=cluster and =sentinel, and mode is standalone: set externalRedis.mode, or use externalRedis.host and .port for a single node" }}
{{- end }}
{{- if not $r.host }}
{{- fail "externalRedis.mode=standalone needs externalRedis.host (and .port)" }}
{{- end }}
{{- else if eq $r.mode "cluster" }}
{{- if not $r.nodes }}
{{- fail "externalRedis.mode=cluster needs externalRedis.nodes: seed nodes of the cluster, host:port each (e.g. [redis-0.redis:6379, redis-1.redis:6379, redis-2.redis:6379])" }}
{{- end }}
{{- if or $r.host $r.sentinel.masterName $r.sentinel.nodes }}
{{- fail "externalRedis.mode=cluster takes its seed nodes from externalRedis.nodes: leave externalRedis.host and externalRedis.sentinel empty" }}
{{- end }}
{{- else if eq $r.mode "sentinel" }}
{{- $missing := list }}
{{- if not $r.sentinel.masterName }}{{ $missing = append $missing "externalRedis.sentinel.masterName (the master's name the sentinels monitor, e.g. mymaster)" }}{{ end }}
{{- if not $r.sentinel.nodes }}{{ $missing = append $missing "externalRedis.sentinel.nodes (the sentinels, host:port each, e.g. [sentinel-0.redis:26379])" }}{{ end }}
{{- if $missing }}
{{- fail (printf "externalRedis.mode=sentinel needs %s" (join " and " $missing)) }}
{{- end }}
{{- if or $r.host $r.nodes }}
{{- fail "externalRedis.mode=sentinel finds the master through externalRedis.sentinel.nodes: leave externalRedis.host and externalRedis.nodes empty" }}
{{- end }}
{{- end }}
{{- range $i, $n := (include "tokutei-routing.externalRedisEndpoints" . | fromJsonArray) }}
{{- $port := regexFind ":[0-9]+$" (toString $n) | trimPrefix ":" | int }}
{{- if or (not (regexMatch "^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\]):[0-9]+$" (toString $n))) (lt $port 1) (gt $port 65535) }}
{{- fail (printf "externalRedis: %q is not a \"host:port\" endpoint (the port is required: the NetworkPolicy opens it)" (toString $n)) }}
{{- end }}
{{- end }}
{{- if regexMatch "(?i)(^|,)\\s*serviceName=" $r.options }}
{{- fail "externalRedis.options names a serviceName: set externalRedis.mode=sentinel with externalRedis.sentinel.masterName instead" }}
{{- end }}
{{- if and $r.user (regexMatch "(?i)(^|,)\\s*user=" $r.options) }}
{{- fail "externalRedis.user and a user= in externalRedis.options are both set: keep externalRedis.user" }}
{{- end }}
{{- if regexMatch "(?i)password=" $r.options }}
{{- fail "externalRedis.options must not hold a password (it goes to a ConfigMap): use externalRedis.existingSecret (Redis__Password)" }}
{{- end }}
{{- if and (gt $acks 0) (regexMatch "^(0+\\.)?0+:0+:0+(\\.0+)?$" (toString $r.replicaAckTimeout)) }}
{{- fail (printf "externalRedis.replicaAcks=%d needs a replicaAckTimeout above zero (e.g. \"00:00:00.500\")" $acks) }}
{{- end }}
{{- end }}
{{- end }}

{{/* OTEL_RESOURCE_ATTRIBUTES: where the pod runs (expanded by the kubelet from the env above it) and any extras. */}}
{{- define "tokutei-routing.resourceAttributes" -}}
{{- $attrs := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" "k8s.node.name=$(NODE_NAME)" }}
{{- range $k, $v := .Values.otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k ($v | toString)) }}
{{- end }}
{{- join "," $attrs }}
{{- end }}

{{/* redis.conf of the bundled Redis. */}}
{{- define "tokutei-routing.redis.conf" -}}
# Tokutei.Routing's durability contract: OK for RouteCase means the case is on disk. The server checks these three
# settings at start-up and does not report ready on a Redis that could lose an accepted case.
# Every write goes to the append-only file...
appendonly yes
# ...and is fsynced before Redis answers: a crash after OK loses nothing (nor does losing the node, on a volume that
# outlives it).
appendfsync always
# A full Redis refuses writes (the server answers UNAVAILABLE, the caller retries) instead of evicting cases.
maxmemory-policy noeviction
maxmemory {{ .Values.redis.maxmemory }}
aof-use-rdb-preamble yes
dir /data
port {{ .Values.redis.port }}
bind * -::*
protected-mode yes
{{- end }}
