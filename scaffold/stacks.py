"""The app skeleton per stack: which one a package gets, and how to build it.

``COMMANDS`` is what CI runs (from ``APP_DIR``); the Dockerfile sits at the
package root and uses the root as build context. ``SAMPLE_ROUTE`` and
``FAULT_ENV`` are what ``scaffold try`` drives: the fault switch is read only
from the environment and is off (0) by default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from scaffold.model import RUN_AS_GID, RUN_AS_UID, le_label

APP_DIR = "app"
DOCKERFILE = "Dockerfile"
SAMPLE_ROUTE = "/hello"
FAULT_ENV = "SCAFFOLD_FAULT_RATE"  # test-only: share (0..1) of sample-route requests that fail with 500
PORT_ENV = "PORT"
HOST_ENV = "HOST"  # bind address; 0.0.0.0 in the container, 127.0.0.1 in tests and `scaffold try`
UID, GID = RUN_AS_UID, RUN_AS_GID

# Shell commands, run with working-directory APP_DIR. `toolchain` is the version
# for actions/setup-<lang>; `cache` names the lockfile for dependency caching.
COMMANDS: dict[str, dict[str, Any]] = {
    "python": {
        "toolchain": "3.13",
        "cache": "app/requirements*.txt",
        "install": "python -m pip install --require-hashes -r requirements.txt && python -m pip install -r requirements-dev.txt",
        "lint": "ruff check . && ruff format --check .",
        "test": "python -m pytest -q",
        "sast": "bandit -r . -x ./tests -f sarif -o bandit.sarif",
        "sca": "pip-audit -r requirements.txt --strict",
    },
    "node": {
        "toolchain": "22",
        "cache": "app/package-lock.json",
        "install": "npm ci",
        "lint": "npm run lint",
        "test": "npm test",
        "sast": "npm run lint",  # eslint-plugin-security rules are part of lint
        "sca": "npm audit --audit-level=high",
    },
    "go": {
        "toolchain": "1.25",
        "cache": "app/go.mod",
        "install": "go mod download",
        "lint": 'go vet ./... && test -z "$(gofmt -l .)"',
        "test": "go test ./...",
        "sast": "gosec ./...",
        "sca": "govulncheck ./...",
    },
    "dotnet": {
        "toolchain": "10.0.x",
        "cache": "app/**/*.csproj",
        "install": "dotnet restore App.slnx",
        "lint": "dotnet format --verify-no-changes",
        "test": "dotnet test --no-restore",
        "sast": "dotnet build --no-restore",  # .NET analyzers (AnalysisLevel latest-recommended) report as warnings
        "sca": "dotnet list package --vulnerable --include-transitive",
    },
}

BUILD = "docker build -t {image} ."  # from the package root


def app_kind(m: Any) -> str:
    """'<stack>-<blueprint>' of the skeleton this package ships, '' for none.

    Services exist for every stack; the worker and cronjob skeletons are python only.
    """
    if not m.with_app:
        return ""
    if m.blueprint == "service" or m.stack == "python":
        return f"{m.stack}-{m.blueprint}"
    return ""


def buckets(m: Any) -> list[tuple[str, str]]:
    """Histogram bounds as (number literal for source code, ``le`` label value).

    Every stack prints ``le`` exactly like prometheus_client, so one SLO query
    (``le="<m.latency_le>"``) matches whichever stack serves the metrics.
    """
    return [(_literal(b), le_label(b)) for b in m.latency_buckets]


def _literal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"
