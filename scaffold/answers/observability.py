"""The rules of the observability answers (trace_sampling, traces_endpoint,
logs_endpoint) and their defaults. artifacts/telemetry.py and tracing.py build
from these answers and re-export the names; the rules live here so answer checking
never imports an artifact builder."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .values import show

DEFAULT_TRACES_ENDPOINT = "http://tempo.observability.svc:4318"
DEFAULT_LOGS_ENDPOINT = "http://loki.observability.svc:3100/otlp"
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_PATH = re.compile(r"^(/[A-Za-z0-9._~%-]+)*/?$")


def check_trace_sampling(v: Any, answers: Any) -> str | None:
    """None when ``v`` maps known environments to ratios from 0 to 1, else what is wrong."""
    allowed = "must map environment names to a sampling ratio from 0 to 1, like {prod: 0.05}"
    if v in (None, ""):
        return None
    if not isinstance(v, dict):
        return f"{allowed}; got {show(v)}"
    envs = answers.get("environments") if isinstance(answers.get("environments"), list) else []
    for env, ratio in v.items():
        if env not in envs:
            return f"{allowed}; {show(env)} is not one of the environments ({', '.join(map(str, envs))})"
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
            return f"{allowed}; {env}: got {show(ratio)}"
    return None


def endpoint_problem(value: Any) -> str | None:
    """The rule of traces_endpoint / logs_endpoint (rules.RULES calls it)."""
    if (not isinstance(value, str) or len(value) > 300 or not value.isascii()
            or any(c.isspace() or not c.isprintable() for c in value)):
        return f"must be an http:// or https:// OTLP/HTTP base URL, e.g. {DEFAULT_TRACES_ENDPOINT}; got {value!r}"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.query or parts.fragment or "?" in value or "#" in value
            or not _HOST.fullmatch(parts.hostname) or parts.hostname != parts.netloc.split(":")[0]
            or not _PATH.fullmatch(parts.path or "") or ".." in parts.path or (port is not None and port < 1)):
        return (f"must be an http:// or https:// OTLP/HTTP base URL (lowercase host, optional port and path; "
                f"no credentials, query or fragment), e.g. {DEFAULT_TRACES_ENDPOINT}; got {value!r}")
    return None
