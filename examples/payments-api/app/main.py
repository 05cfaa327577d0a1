"""payments-api: a minimal HTTP service with probes, Prometheus metrics, traces and JSON logs.

Endpoints: /healthz (liveness), /readyz (readiness) and the sample route
/hello on the app port; /metrics on its own port, which no
route exposes. The metric names and labels are the ones the generated SLO
rules query; keep them when you replace the sample route with real ones.
Each request on the app port (probes aside) is a server span that continues the
caller's W3C ``traceparent``; its log line carries the span's trace_id and span_id and
the request ID (X-Request-ID, taken from the caller or made here, and echoed back).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

import telemetry

SERVICE = "payments-api"
DEFAULT_PORT = 8080
DEFAULT_METRICS_PORT = 8081
SAMPLE_ROUTE = "/hello"
# Seconds; includes the SLO latency threshold (300 ms) as a bucket bound.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
# Test-only fault switch: the share (0..1) of sample-route requests answered with 500.
# Read only from the environment, off by default; `scaffold try` uses it.
FAULT_ENV = "SCAFFOLD_FAULT_RATE"
# Probes and scrapes are not user traffic: they stay out of the SLI.
UNMEASURED = frozenset({"/healthz", "/readyz"})

log = logging.getLogger(SERVICE)


def fault_rate(environ: dict[str, str]) -> float:
    raw = environ.get(FAULT_ENV, "0").strip() or "0"
    try:
        rate = float(raw)
    except ValueError:
        raise SystemExit(f"{FAULT_ENV} must be a number from 0 to 1, got {raw!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise SystemExit(f"{FAULT_ENV} must be a number from 0 to 1, got {raw!r}")
    return rate


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by status code, method and route.",
            ["code", "method", "route"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency in seconds.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )


class App:
    """State shared by the request handlers: readiness, metrics, the fault switch."""

    def __init__(self, metrics: Metrics, *, fault: float = 0.0) -> None:
        self.metrics = metrics
        self.fault = fault
        self.ready = threading.Event()
        self.drained = threading.Event()  # set to end a drain early

    def dependencies_ok(self) -> bool:
        # Check real dependencies (database, queue, ...) here; none in the skeleton.
        return True


class Handler(BaseHTTPRequestHandler):
    server_version = SERVICE
    sys_version = ""
    protocol_version = "HTTP/1.1"
    app: App  # set by make_server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        start = time.perf_counter()
        path = self.path.split("?", 1)[0]
        route = path if path in ROUTES else "unmatched"
        if route in UNMEASURED:
            code, body, content_type = ROUTES[path](self)
            self._send(int(code), body, content_type)
            return
        rid = telemetry.request_id(self.headers.get(telemetry.REQUEST_ID_HEADER))
        token = telemetry.bind_request_id(rid)
        attributes = {"http.request.method": "GET", "url.path": path, "http.request.header.x-request-id": (rid,)}
        if route != "unmatched":
            attributes["http.route"] = route
        name = f"GET {route}" if route != "unmatched" else "GET"
        try:
            with telemetry.tracer().start_as_current_span(
                name,
                context=telemetry.extract(self.headers),
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    code, body, content_type = ROUTES.get(path, _not_found)(self)
                except Exception as exc:  # noqa: BLE001 - any handler error is a 500, logged with its stack
                    span.record_exception(exc)
                    span.set_attribute("error.type", type(exc).__qualname__)
                    log.exception("request failed", extra={"fields": {"method": "GET", "route": route}})
                    code, body, content_type = _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
                code = int(code)
                span.set_attribute("http.response.status_code", code)
                if code >= 500:
                    span.set_status(StatusCode.ERROR)
                # Count before replying: a client that has its answer must find it in /metrics.
                elapsed = time.perf_counter() - start
                self.app.metrics.requests.labels(code=str(code), method="GET", route=route).inc()
                self.app.metrics.duration.labels(method="GET", route=route).observe(elapsed)
                self._send(code, body, content_type, {telemetry.REQUEST_ID_HEADER: rid})
                fields = {"method": "GET", "route": route, "code": code, "duration_ms": round(elapsed * 1000, 3)}
                log.info("request", extra={"fields": fields})
        finally:
            telemetry.reset_request_id(token)

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Access logs are written as JSON in do_GET instead."""


def _json(code: int, data: dict) -> tuple[int, bytes, str]:
    return code, json.dumps(data).encode(), "application/json"


def _not_found(_: Handler) -> tuple[int, bytes, str]:
    return _json(HTTPStatus.NOT_FOUND, {"error": "not found"})


def _healthz(_: Handler) -> tuple[int, bytes, str]:
    return _json(HTTPStatus.OK, {"status": "ok"})


def _readyz(h: Handler) -> tuple[int, bytes, str]:
    if h.app.ready.is_set() and h.app.dependencies_ok():
        return _json(HTTPStatus.OK, {"status": "ready"})
    return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "not ready"})


def _metrics(h: Handler) -> tuple[int, bytes, str]:
    return HTTPStatus.OK, generate_latest(h.app.metrics.registry), CONTENT_TYPE_LATEST


def _sample(h: Handler) -> tuple[int, bytes, str]:
    if h.app.fault and random.random() < h.app.fault:  # noqa: S311 (fault injection, not crypto)
        return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "injected fault"})
    return _json(HTTPStatus.OK, {"service": SERVICE, "message": "hello"})


ROUTES = {"/healthz": _healthz, "/readyz": _readyz, SAMPLE_ROUTE: _sample}


class MetricsHandler(BaseHTTPRequestHandler):
    """The metrics port: /metrics only, never counted, never routed from outside."""

    server_version = SERVICE
    sys_version = ""
    protocol_version = "HTTP/1.1"
    app: App  # set by make_metrics_server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        found = self.path.split("?", 1)[0] == "/metrics"
        code, body, content_type = _metrics(self) if found else _not_found(self)  # type: ignore[arg-type]
        self.send_response(int(code))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Scrapes are not logged."""


class Server(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: past 5 connections waiting to be accepted, the
    # kernel drops new ones and the client retries a second later (the load test's p99 of ~1 s).
    request_queue_size = 128


def make_server(host: str, port: int, app: App) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = Server((host, port), handler)
    server.daemon_threads = False  # server_close() waits for in-flight requests
    return server


def make_metrics_server(host: str, port: int, app: App) -> ThreadingHTTPServer:
    handler = type("BoundMetricsHandler", (MetricsHandler,), {"app": app})
    return ThreadingHTTPServer((host, port), handler)


# After SIGTERM the pod keeps serving while load balancers drop it: readiness fails at
# once, new requests are still answered for this long, then in-flight ones finish.
DRAIN_ENV = "SHUTDOWN_DRAIN_SECONDS"
DEFAULT_DRAIN_SECONDS = 5.0


def drain_seconds() -> float:
    raw = os.environ.get(DRAIN_ENV, "").strip()
    return float(raw) if raw else DEFAULT_DRAIN_SECONDS


def drain(server: ThreadingHTTPServer, app: App, seconds: float) -> None:
    """Graceful shutdown: not ready, keep serving ``seconds`` (or until ``app.drained``
    is set), then stop accepting; server_close() waits for in-flight requests."""
    app.ready.clear()
    app.drained.wait(seconds)
    server.shutdown()


def default_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def main() -> int:
    disable_created_metrics()  # no *_created series: the other stacks' skeletons do not emit them either
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(telemetry.JsonFormatter())
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), handlers=[handler])
    provider = telemetry.init_tracing()
    host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104  # nosec B104: a pod listens on its own IP
    port = int(os.environ.get("PORT", DEFAULT_PORT))
    app = App(Metrics(default_registry()), fault=fault_rate(dict(os.environ)))
    metrics_port = int(os.environ.get("METRICS_PORT", DEFAULT_METRICS_PORT))
    server = make_server(host, port, app)
    metrics_server = make_metrics_server(host, metrics_port, app)
    threading.Thread(target=metrics_server.serve_forever, daemon=True).start()

    def stop(signum: int, _frame: object) -> None:
        log.info("shutting down", extra={"fields": {"signal": signal.Signals(signum).name}})
        threading.Thread(target=drain, args=(server, app, drain_seconds()), daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app.ready.set()
    log.info(
        "listening",
        extra={
            "fields": {
                "host": host,
                "port": server.server_address[1],
                "metrics_port": metrics_server.server_address[1],
                "fault_rate": app.fault,
            }
        },
    )
    server.serve_forever()
    server.server_close()
    metrics_server.shutdown()
    metrics_server.server_close()
    log.info("stopped")
    provider.shutdown()  # flushes the spans still queued
    return 0


if __name__ == "__main__":
    sys.exit(main())
