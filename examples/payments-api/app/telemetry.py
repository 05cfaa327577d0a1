"""Traces and logs that join them, with the OpenTelemetry SDK.

Everything is configured by the standard OpenTelemetry environment variables,
which the generated ConfigMap sets per environment:

- ``OTEL_EXPORTER_OTLP_ENDPOINT``: where spans go (OTLP/HTTP protobuf); unset, no span leaves the process;
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``: service.name, service.namespace, service.version;
- ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``: parent-based trace-ID ratio sampling;
- ``OTEL_PROPAGATORS``: W3C ``traceparent`` (tracecontext) and baggage, in and out.

Every JSON log line written inside a span carries its ``trace_id`` and ``span_id`` and the
request ID; error lines carry the exception's type, message and stack.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import traceback
import uuid

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE = "payments-api"
NAMESPACE = "platform"
VERSION = "0.1.0"
ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
REQUEST_ID_HEADER = "X-Request-ID"
# A request ID from outside is kept only when it is short and plain (it is echoed and logged).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def init_tracing() -> TracerProvider:
    """The process's tracer provider: resource from the environment over the defaults,
    sampler from OTEL_TRACES_SAMPLER, a batch OTLP/HTTP exporter when an endpoint is set."""
    defaults = Resource.create({"service.name": SERVICE, "service.namespace": NAMESPACE, "service.version": VERSION})
    provider = TracerProvider(resource=defaults.merge(OTELResourceDetector().detect()))
    if any(os.environ.get(name) for name in ENDPOINT_ENVS):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer(SERVICE, VERSION)


def extract(headers: object) -> object:
    """The parent context from incoming ``traceparent``/``tracestate`` headers (none: a new trace)."""
    return propagate.extract(headers)


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def bind_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def outgoing_headers() -> dict[str, str]:
    """Headers for a call this service makes: ``traceparent`` of the current span and the request ID."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if rid := _request_id.get():
        carrier[REQUEST_ID_HEADER] = rid
    return carrier


def log_context() -> dict[str, str]:
    """trace_id, span_id and request_id of the current span and request (empty outside one)."""
    ctx = trace.get_current_span().get_span_context()
    fields: dict[str, str] = {}
    if ctx.is_valid:
        fields["trace_id"] = format(ctx.trace_id, "032x")
        fields["span_id"] = format(ctx.span_id, "016x")
    if rid := _request_id.get():
        fields["request_id"] = rid
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "service": SERVICE,
            "msg": record.getMessage(),
            **log_context(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error"] = {
                "type": type(exc).__qualname__,
                "message": str(exc),
                "stack": "".join(traceback.format_exception(exc)),
            }
        return json.dumps(entry, separators=(",", ":"))
