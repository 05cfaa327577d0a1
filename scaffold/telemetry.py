"""Telemetry policy: where an app sends its traces and logs (the per-namespace
OpenTelemetry Collector), and where the collector sends them on.

The app skeletons' ``OTEL_EXPORTER_OTLP_ENDPOINT`` comes from
:func:`app_otlp_endpoint` only, so the app and the collector's Service agree.
"""

from __future__ import annotations

from .model import Environment, ServiceModel

COLLECTOR_NAME = "otel-collector"
OTLP_HTTP_PORT = 4318
OTLP_GRPC_PORT = 4317


def collector_name(m: ServiceModel) -> str:
    """The collector's Deployment/Service/ConfigMap name in the service's namespace."""
    return COLLECTOR_NAME


def collector_host(m: ServiceModel, env: Environment | None = None) -> str:
    """The collector Service's in-cluster DNS name for one environment's namespace."""
    env = env or m.production
    return f"{collector_name(m)}.{env.namespace}.svc"


def app_otlp_endpoint(m: ServiceModel, env: Environment | None = None) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT for the app: the collector's OTLP/HTTP port in the
    app's own namespace (the SDKs append /v1/traces and /v1/logs)."""
    return f"http://{collector_host(m, env)}:{OTLP_HTTP_PORT}"
