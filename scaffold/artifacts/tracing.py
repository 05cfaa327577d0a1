"""Traces: the sampling ratio per environment and the OpenTelemetry environment the
manifests give the app (``OTEL_*``, read by every stack's SDK).

The ``trace_sampling`` answer maps environment names to a ratio from 0 to 1, e.g.
``{prod: 0.05}``. An environment it does not name samples every trace, except the
production one, which keeps ``DEFAULT_PRODUCTION_RATIO``. The sampler is parent-based:
a request that arrives with a sampled ``traceparent`` is kept whatever the ratio, so a
trace is never cut in half between services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..answers.observability import check_trace_sampling  # noqa: F401 (tracing.check_trace_sampling)
from ..model import stacks
from ..model.service import ServiceModel

# The collector gateway the app exports to (scaffold.artifacts.telemetry builds it): its
# name and OTLP/HTTP port, so the app's OTEL_* environment and the collector's Service agree.
COLLECTOR_NAME = "otel-collector"
OTLP_HTTP_PORT = 4318
SAMPLER = "parentbased_traceidratio"
PROPAGATORS = "tracecontext,baggage"
DEFAULT_PRODUCTION_RATIO = Decimal("0.1")
NON_PRODUCTION_RATIO = Decimal(1)


def collector_name(m: ServiceModel) -> str:
    """The collector's Deployment/Service/ConfigMap name in the service's namespace."""
    return COLLECTOR_NAME


def collector_host(m: ServiceModel, env: Any = None) -> str:
    """The collector Service's in-cluster DNS name for one environment's namespace."""
    env = env or m.production
    return f"{collector_name(m)}.{env.namespace}.svc"


def app_otlp_endpoint(m: ServiceModel, env: Any = None) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT for the app: the collector's OTLP/HTTP port in the
    app's own namespace (the SDKs append /v1/traces and /v1/logs)."""
    return f"http://{collector_host(m, env)}:{OTLP_HTTP_PORT}"


def sampling_ratio(m: ServiceModel, env: Any) -> Decimal:
    """The share of new traces this environment keeps."""
    given = (m.answers.get("trace_sampling") or {}).get(env.name)
    if given is not None:
        return Decimal(str(given))
    return DEFAULT_PRODUCTION_RATIO if env.production else NON_PRODUCTION_RATIO


def _ratio_text(ratio: Decimal) -> str:
    text = format(ratio.normalize(), "f")
    return text if "." in text else text + ".0"


def resource_attributes(m: ServiceModel, env: Any) -> str:
    """OTEL_RESOURCE_ATTRIBUTES: W3C baggage-style ``key=value`` pairs (all plain tokens here)."""
    attrs = {"service.namespace": m.team, "service.version": stacks.APP_VERSION,
             "deployment.environment.name": env.name}
    return ",".join(f"{k}={v}" for k, v in attrs.items())


def otel_env(m: ServiceModel, env: Any) -> dict[str, str]:
    """The ``OTEL_*`` variables of this environment's ConfigMap. The exporter endpoint
    (``stacks.OTLP_ENDPOINT_ENV``) is the collector gateway of the environment's own namespace."""
    return {
        stacks.OTLP_ENDPOINT_ENV: app_otlp_endpoint(m, env),
        stacks.OTEL_SERVICE_NAME_ENV: m.name,
        stacks.OTEL_RESOURCE_ATTRIBUTES_ENV: resource_attributes(m, env),
        stacks.OTEL_TRACES_SAMPLER_ENV: SAMPLER,
        stacks.OTEL_TRACES_SAMPLER_ARG_ENV: _ratio_text(sampling_ratio(m, env)),
        stacks.OTEL_PROPAGATORS_ENV: PROPAGATORS,
    }


def traced(m: ServiceModel) -> bool:
    """The package's skeleton exports traces (an app of a stack in ``stacks.TRACED``)."""
    return bool(m.with_app) and m.stack in stacks.TRACED


def sampling_summary(m: ServiceModel) -> str:
    """'dev 1.0, staging 1.0, prod 0.1': each environment's share of new traces kept."""
    return ", ".join(f"{env.name} {_ratio_text(sampling_ratio(m, env))}" for env in m.environments)
