"""The app skeleton per stack: which one a package gets, and how to build it.

``COMMANDS`` is what CI runs (from ``APP_DIR``); the Dockerfile sits at the
package root and uses the root as build context. ``SAMPLE_ROUTE`` and
``FAULT_ENV`` are what ``scaffold try`` drives: the fault switch is read only
from the environment and is off (0) by default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..answers.rules import BLUEPRINTS
from .service import RUN_AS_GID, RUN_AS_UID, ServiceModel, le_label

APP_DIR = "app"
DOCKERFILE = "Dockerfile"
SAMPLE_ROUTE = "/hello"
FAULT_ENV = "SCAFFOLD_FAULT_RATE"  # test-only: share (0..1) of sample-route requests that fail with 500
PORT_ENV = "PORT"
METRICS_PORT_ENV = "METRICS_PORT"  # services: /metrics listens here, never on the routed app port
HOST_ENV = "HOST"  # bind address; 0.0.0.0 in the container, 127.0.0.1 in tests and `scaffold try`
UID, GID = RUN_AS_UID, RUN_AS_GID
APP_VERSION = "0.1.0"  # the skeleton's version: package.json/pyproject, and service.version on its spans
# The standard OpenTelemetry variables every skeleton's SDK reads (scaffold/tracing.py sets them).
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"  # OTLP/HTTP protobuf; /v1/traces is appended
OTEL_SERVICE_NAME_ENV = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES_ENV = "OTEL_RESOURCE_ATTRIBUTES"
OTEL_TRACES_SAMPLER_ENV = "OTEL_TRACES_SAMPLER"
OTEL_TRACES_SAMPLER_ARG_ENV = "OTEL_TRACES_SAMPLER_ARG"
OTEL_PROPAGATORS_ENV = "OTEL_PROPAGATORS"
# What the OpenTelemetry SDK reads itself (the spec's SDK environment variables)
OTEL_SDK_ENV = (OTLP_ENDPOINT_ENV, OTEL_SERVICE_NAME_ENV, OTEL_RESOURCE_ATTRIBUTES_ENV, OTEL_TRACES_SAMPLER_ENV,
                OTEL_TRACES_SAMPLER_ARG_ENV, OTEL_PROPAGATORS_ENV)
REQUEST_ID_HEADER = "X-Request-ID"
# Stacks whose skeleton traces with its OpenTelemetry SDK (go: no OTLP exporter can be had
# offline here to build and test it; dotnet: no SDK here to build it) -- see scaffold/tracing.py.
TRACED = ("python", "node")

# Shell commands, run with working-directory APP_DIR. `toolchain` is the version
# for actions/setup-<lang>; `cache` names the lockfile for dependency caching.
COMMANDS: dict[str, dict[str, Any]] = {
    "python": {
        "toolchain": "3.13",
        "cache": "app/requirements*.txt",
        "install": "python -m pip install --require-hashes -r requirements.txt && python -m pip install -r requirements-dev.txt",
        "lint": "ruff check . && ruff format --check .",
        "test": "python -m pytest -q",
    },
    "node": {
        "toolchain": "22",
        "cache": "app/package-lock.json",
        "install": "npm ci",
        "lint": "npm run lint",
        "test": "npm test",
    },
    "go": {
        "toolchain": "1.25",
        "cache": "app/go.mod",
        "install": "go mod download",
        "lint": 'go vet ./... && test -z "$(gofmt -l .)"',
        "test": "go test ./...",
    },
    "dotnet": {
        "toolchain": "10.0.x",
        "cache": "app/**/*.csproj",
        "install": "dotnet restore App.slnx",
        "lint": "dotnet format --verify-no-changes",
        "test": "dotnet test --no-restore",
    },
}

BUILD = "docker build -t {image} ."  # from the package root
DOTNET_RUNTIME_TAG = "10.0.0-noble-chiseled"


def app_kind(m: ServiceModel) -> str:
    """'<stack>-<blueprint>' of the skeleton this package ships, '' for none.

    Every stack has a service, a worker and a cronjob skeleton, so this is ''
    only when ``with_app`` is off.
    """
    if not m.with_app:
        return ""
    return f"{m.stack}-{m.blueprint}"


# What the image runs (its ENTRYPOINT). Node keeps one file per blueprint under
# src/ (package.json's main); a Go binary is named after what it does; python and
# dotnet build one entry point whatever the blueprint.
ENTRYPOINTS: dict[str, dict[str, list[str]]] = {
    "python": {bp: ["python", "main.py"] for bp in BLUEPRINTS},
    "node": {"service": ["node", "src/server.js"], "worker": ["node", "src/worker.js"],
             "cronjob": ["node", "src/job.js"]},
    "go": {"service": ["/server"], "worker": ["/worker"], "cronjob": ["/job"]},
    "dotnet": {bp: ["dotnet", "App.dll"] for bp in BLUEPRINTS},
}


def entrypoint(m: ServiceModel) -> list[str]:
    """The image's ENTRYPOINT (exec form) for this package's skeleton."""
    return list(ENTRYPOINTS[m.stack][m.blueprint])


def entry_source(m: ServiceModel) -> str:
    """The source file (relative to APP_DIR) the entry point starts from."""
    if m.stack == "node":
        return entrypoint(m)[1]
    return {"python": "main.py", "go": "main.go", "dotnet": "App/Program.cs"}[m.stack]


LOG_LEVEL_ENV = "LOG_LEVEL"
# Which of the config variables each stack's skeleton reads (besides PORT/METRICS_PORT):
# the ConfigMap carries exactly what the app reads (issue 22: it set APP_PORT and
# LOG_FORMAT, which no skeleton read). the app-config checker and tests/test_app_config.py check each one.
READS_LOG_LEVEL = frozenset({"python"})


def config_env(m: ServiceModel) -> dict[str, str]:
    """The ConfigMap's data (the container's envFrom): the variables the skeleton reads,
    with the values the manifests need (the port the probes and Service use)."""
    out: dict[str, str] = {}
    if serves_http(m):
        out[PORT_ENV] = str(m.port)
        if m.metrics_port != m.port:
            out[METRICS_PORT_ENV] = str(m.metrics_port)
    if m.stack in READS_LOG_LEVEL or not m.with_app:
        out[LOG_LEVEL_ENV] = "info"
    return out


def serves_http(m: ServiceModel) -> bool:
    """Services and workers listen on the port (probes, /metrics); a cronjob runs once and exits."""
    return m.blueprint != "cronjob"


def dotnet_sdk(m: ServiceModel) -> str:
    """MSBuild SDK of app/App/App.csproj: ASP.NET Core where there is an HTTP listener."""
    return "Microsoft.NET.Sdk.Web" if serves_http(m) else "Microsoft.NET.Sdk"


def dotnet_runtime_image(m: ServiceModel) -> str:
    """Chiseled (no shell, no package manager) runtime image matching ``dotnet_sdk``."""
    flavour = "aspnet" if serves_http(m) else "runtime"
    return f"mcr.microsoft.com/dotnet/{flavour}:{DOTNET_RUNTIME_TAG}"


def buckets(m: ServiceModel) -> list[tuple[str, str]]:
    """Histogram bounds as (number literal for source code, ``le`` label value).

    Every stack prints ``le`` exactly like prometheus_client, so one SLO query
    (``le="<m.latency_le>"``) matches whichever stack serves the metrics.
    """
    return [(_literal(b), le_label(b)) for b in m.latency_buckets]


def _literal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"
