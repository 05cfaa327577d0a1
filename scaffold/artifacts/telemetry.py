"""Telemetry policy: where an app sends its traces and logs (a per-namespace
OpenTelemetry Collector gateway), where the collector sends them on, and the
retention and sampling figures docs/observability.md states.

The app skeletons' ``OTEL_EXPORTER_OTLP_ENDPOINT`` comes from
:func:`app_otlp_endpoint` only, so the app and the collector's Service agree.

Deployment model: a **gateway per namespace**. Each environment's namespace runs
one collector Deployment (``otel-collector``) behind a ClusterIP Service; the app
pods export OTLP to it, and it alone holds the egress to the tracing and logging
backends (its NetworkPolicy). No DaemonSet: the restricted Pod Security level
forbids the hostPath log mounts a node agent needs, and the apps export their
logs over OTLP instead of to files.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ..answers.observability import DEFAULT_LOGS_ENDPOINT, DEFAULT_TRACES_ENDPOINT, endpoint_problem  # noqa: F401
from ..model.service import RUN_AS_GID, RUN_AS_UID, Environment, ServiceModel
from . import kube, tracing
from .tracing import COLLECTOR_NAME, OTLP_HTTP_PORT, app_otlp_endpoint, collector_host, collector_name  # noqa: F401

Obj = dict[str, Any]

OTLP_GRPC_PORT = 4317
HEALTH_PORT = 13133
HEALTH_PATH = "/"
# Published for tag 0.144.0 (multi-arch index digest). No container registry is reachable
# from the build machine, so it was taken from public pins of that tag, not pulled here.
COLLECTOR_IMAGE = ("docker.io/otel/opentelemetry-collector-contrib:0.144.0"
                   "@sha256:213886eb6407af91b87fa47551c3632be1a6419ff3a5114ef1e6fc364628496f")
COLLECTOR_REPLICAS = 1
CONFIG_FILE = "config.yaml"
CONFIG_DIR = "/etc/otelcol-contrib"
# Small and fixed: a gateway for one service's pods. memory_limiter works from the limit.
COLLECTOR_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "16Mi"},
                       "limits": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "64Mi"}}
MEMORY_LIMIT_PERCENTAGE = 80
MEMORY_SPIKE_PERCENTAGE = 25

ENDPOINT_ANSWERS = {"traces": "traces_endpoint", "logs": "logs_endpoint"}
DEFAULTS = {"traces_endpoint": DEFAULT_TRACES_ENDPOINT, "logs_endpoint": DEFAULT_LOGS_ENDPOINT}
_IN_CLUSTER = re.compile(r"^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$")


# -- the answers ------------------------------------------------------------------
def endpoint(m: ServiceModel, signal: str) -> str:
    """The OTLP/HTTP base URL a signal (traces, logs) is exported to; the otlphttp
    exporter appends /v1/traces or /v1/logs."""
    answer = ENDPOINT_ANSWERS[signal]
    return str(m.answers.get(answer) or DEFAULTS[answer]).rstrip("/")


def backend(url: str) -> tuple[str, int, str | None]:
    """(host, port, namespace when the host is an in-cluster Service name)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    match = _IN_CLUSTER.fullmatch(host)
    return host, port, match.group(2) if match else None


# -- names and the app's side: scaffold.artifacts.tracing (collector_name, collector_host,
# app_otlp_endpoint), which the app's OTEL_* environment reads without importing this module


def selector_labels(m: ServiceModel) -> dict[str, str]:
    """Distinct from the app's selector: no app Service, PDB or policy selects the collector."""
    return {"app.kubernetes.io/name": COLLECTOR_NAME, "app.kubernetes.io/instance": f"{m.name}-{COLLECTOR_NAME}"}


def labels(m: ServiceModel) -> dict[str, str]:
    return {**selector_labels(m), "app.kubernetes.io/component": "telemetry-collector",
            "app.kubernetes.io/part-of": m.name, "app.kubernetes.io/managed-by": "kustomize",
            "scaffold.dev/team": m.team}


def _meta(m: ServiceModel, name: str | None = None) -> Obj:
    return {"name": name or collector_name(m), "namespace": m.name, "labels": labels(m)}


def app_egress(m: ServiceModel) -> list[Obj]:
    """The app pods' egress rule to the collector (k8s.network_policies adds it)."""
    return [{"to": [{"podSelector": {"matchLabels": selector_labels(m)}}],
             "ports": [{"protocol": "TCP", "port": OTLP_GRPC_PORT}, {"protocol": "TCP", "port": OTLP_HTTP_PORT}]}]


# -- the collector's configuration -----------------------------------------------------
SIGNALS = ("traces", "logs")


def exporter_id(signal: str) -> str:
    return f"otlphttp/{signal}"


def collector_config(m: ServiceModel) -> Obj:
    """The collector configuration: OTLP in; memory_limiter first, resource, batch last;
    traces and logs out over OTLP/HTTP to the answered endpoints; health_check for probes.
    ${env:...} is the collector's own substitution (POD_IP, POD_NAMESPACE, APP_ENV)."""
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:POD_IP}}:{HEALTH_PORT}", "path": HEALTH_PATH}},
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": f"${{env:POD_IP}}:{OTLP_GRPC_PORT}"},
            "http": {"endpoint": f"${{env:POD_IP}}:{OTLP_HTTP_PORT}"}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": MEMORY_LIMIT_PERCENTAGE,
                               "spike_limit_percentage": MEMORY_SPIKE_PERCENTAGE},
            "resource": {"attributes": [
                {"key": "service.namespace", "value": m.team, "action": "insert"},
                {"key": "deployment.environment.name", "value": "${env:APP_ENV}", "action": "upsert"},
                {"key": "k8s.namespace.name", "value": "${env:POD_NAMESPACE}", "action": "upsert"}]},
            "batch": {"send_batch_size": 8192, "timeout": "5s"},
        },
        "exporters": {exporter_id(s): {"endpoint": endpoint(m, s), "compression": "gzip",
                                        "retry_on_failure": {"enabled": True, "max_elapsed_time": "300s"},
                                        "sending_queue": {"enabled": True, "queue_size": 1000}}
                      for s in SIGNALS},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {s: {"receivers": ["otlp"], "processors": ["memory_limiter", "resource", "batch"],
                              "exporters": [exporter_id(s)]} for s in SIGNALS},
            "telemetry": {"logs": {"level": "info", "encoding": "json"}},
        },
    }


def config_text(m: ServiceModel) -> str:
    from .. import yamlio

    return yamlio.dump(collector_config(m))


# -- the Kubernetes objects -----------------------------------------------------------
def _probe(**timing: int) -> Obj:
    return {"httpGet": {"path": HEALTH_PATH, "port": "health"}, **timing}


def container(m: ServiceModel) -> Obj:
    return {
        "name": "otel-collector",
        "image": COLLECTOR_IMAGE,
        "imagePullPolicy": "Always",
        "args": [f"--config=file:{CONFIG_DIR}/{CONFIG_FILE}"],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "APP_ENV", "valueFrom": {"configMapKeyRef": {"name": kube.configmap_name(m), "key": "APP_ENV"}}},
            {"name": "GOMEMLIMIT", "value": "100MiB"},
        ],
        "ports": [{"name": "otlp-grpc", "containerPort": OTLP_GRPC_PORT, "protocol": "TCP"},
                  {"name": "otlp-http", "containerPort": OTLP_HTTP_PORT, "protocol": "TCP"},
                  {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "resources": collector_resources(m),
        "securityContext": {
            "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_GID,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
        "startupProbe": _probe(periodSeconds=2, failureThreshold=30, timeoutSeconds=2),
        "livenessProbe": _probe(periodSeconds=10, failureThreshold=3, timeoutSeconds=2),
        "readinessProbe": _probe(periodSeconds=5, failureThreshold=2, timeoutSeconds=2),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }


def collector_resources(m: ServiceModel) -> dict[str, dict[str, str]]:
    """COLLECTOR_RESOURCES, never above the app's own limits: the namespace's LimitRange
    caps every container at those (k8s.limit_range_spec)."""
    app = m.resources.as_k8s()["limits"]
    out: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    for res, want in COLLECTOR_RESOURCES["limits"].items():
        limit = min(kube.quantity(want), kube.quantity(app[res]))
        request = min(kube.quantity(COLLECTOR_RESOURCES["requests"][res]), limit)
        fmt = _fmt_cpu if res == "cpu" else _fmt_memory
        out["limits"][res], out["requests"][res] = fmt(limit), fmt(request)
    return out


def _fmt_cpu(value: Decimal) -> str:
    from ..answers import quantities

    return quantities.format_cpu(value)


def _fmt_memory(value: Decimal) -> str:
    from ..answers import quantities

    return quantities.format_memory(value)


def deployment(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(m),
        "spec": {
            "replicas": COLLECTOR_REPLICAS,
            "selector": {"matchLabels": selector_labels(m)},
            "revisionHistoryLimit": 3,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels(m)}, "spec": {
                "serviceAccountName": collector_name(m),
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_GID,
                                    "fsGroup": RUN_AS_GID, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container(m)],
                "volumes": [{"name": "config", "configMap": {"name": collector_name(m),
                                                             "items": [{"key": CONFIG_FILE, "path": CONFIG_FILE}]}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                "terminationGracePeriodSeconds": 30,
            }},
        },
    }


def config_map(m: ServiceModel) -> Obj:
    from ruamel.yaml.scalarstring import LiteralScalarString

    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(m),
            "data": {CONFIG_FILE: LiteralScalarString(config_text(m))}}


def service(m: ServiceModel) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(m),
            "spec": {"type": "ClusterIP", "selector": selector_labels(m), "ports": [
                {"name": "otlp-grpc", "port": OTLP_GRPC_PORT, "targetPort": "otlp-grpc", "protocol": "TCP",
                 "appProtocol": "grpc"},
                {"name": "otlp-http", "port": OTLP_HTTP_PORT, "targetPort": "otlp-http", "protocol": "TCP",
                 "appProtocol": "http"}]}}


def service_account(m: ServiceModel) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(m), "automountServiceAccountToken": False}


def backend_egress(m: ServiceModel) -> list[Obj]:
    """One rule per backend: its namespace when the host is `<svc>.<ns>.svc`, else the
    public internet (NetworkPolicy cannot name hosts) on the backend's port."""
    rules: list[Obj] = []
    for signal in SIGNALS:
        host, port, ns = backend(endpoint(m, signal))
        if ns:
            rule = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
                    "ports": [{"protocol": "TCP", "port": port}]}
        else:
            rule = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(kube.PRIVATE_RANGES)}}],
                    "ports": [{"protocol": "TCP", "port": port}]}
        if rule not in rules:
            rules.append(rule)
    return rules


def network_policy(m: ServiceModel) -> Obj:
    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube.DNS_NAMESPACE}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(m),
            "spec": {"podSelector": {"matchLabels": selector_labels(m)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": dict(m.selector_labels)}}],
                                  "ports": [{"protocol": "TCP", "port": OTLP_GRPC_PORT},
                                            {"protocol": "TCP", "port": OTLP_HTTP_PORT}]}],
                     "egress": [dns, *backend_egress(m)]}}


def objects(m: ServiceModel) -> list[Obj]:
    return [service_account(m), config_map(m), deployment(m), service(m), network_policy(m)]


def quota_extra_pods() -> int:
    """Collector pods a namespace holds at once: the replicas plus the surge pod."""
    return COLLECTOR_REPLICAS + 1


# -- retention and sampling (docs/observability.md) -----------------------------------
METRICS_MARGIN_DAYS = 7  # a week beyond the longest window: an incident at its edge stays explainable
LOG_RETENTION_DAYS = {"production": 30, "before_production": 14, "other": 7}
TRACE_RETENTION_DAYS = {"production": 14, "before_production": 7, "other": 3}


def _tier(m: ServiceModel, env: Environment) -> str:
    if env.production:
        return "production"
    if env.index == len(m.environments) - 2:
        return "before_production"
    return "other"


def metrics_retention_days(m: ServiceModel) -> int:
    """The longest range any SLO rule reads is the SLO window (the error-budget alerts'
    `[<window>d]`; the burn-rate windows are at most 3d), so Prometheus keeps the longest
    window, in whole days, plus a margin."""
    from ..model import slo

    longest = max([m.slo_window_days * 86400, *(slo.window_seconds(w) for w in slo.SLI_WINDOWS)])
    return -(-longest // 86400) + METRICS_MARGIN_DAYS


def log_retention_days(m: ServiceModel, env: Environment) -> int:
    """Production keeps logs at least as long as the SLO window (a budget-burning
    incident is investigated with its logs); earlier environments less."""
    days = LOG_RETENTION_DAYS[_tier(m, env)]
    return max(days, m.slo_window_days) if env.production else days


def trace_retention_days(m: ServiceModel, env: Environment) -> int:
    return TRACE_RETENTION_DAYS[_tier(m, env)]


def sampling_ratio(m: ServiceModel, env: Environment) -> Decimal:
    """Head sampling ratio of the app's SDK (parentbased_traceidratio) per environment:
    the ``trace_sampling`` answer, defined once in scaffold/tracing.py."""
    return tracing.sampling_ratio(m, env)


def retention_rows(m: ServiceModel) -> list[dict[str, Any]]:
    return [{"environment": env.name, "namespace": env.namespace,
             "logs_days": log_retention_days(m, env), "traces_days": trace_retention_days(m, env),
             "sampling": sampling_ratio(m, env),
             "sampling_percent": f"{(sampling_ratio(m, env) * 100).normalize():f}%"}
            for env in m.environments]


def loki_retention(m: ServiceModel) -> Obj:
    """Loki's per-stream retention (limits_config.retention_stream) for these namespaces:
    OTLP ingestion indexes the resource attribute k8s.namespace.name as k8s_namespace_name."""
    return {"limits_config": {"retention_stream": [
        {"selector": f'{{k8s_namespace_name="{env.namespace}"}}', "priority": 1,
         "period": f"{log_retention_days(m, env) * 24}h"} for env in m.environments]}}


def prometheus_retention_flag(m: ServiceModel) -> str:
    return f"--storage.tsdb.retention.time={metrics_retention_days(m)}d"
