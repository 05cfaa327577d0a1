"""The service in-process on a free port: probes, sample route, metrics, fault switch."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import main
import telemetry

METRICS: dict[str, str] = {}  # app base URL -> its metrics port's base URL
telemetry.init_tracing()  # real spans (trace IDs in the logs); no endpoint is set, so nothing is exported


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(fault: float = 0.0) -> str:
        app = main.App(main.Metrics(CollectorRegistry()), fault=fault)
        server = main.make_server("127.0.0.1", 0, app)
        metrics = main.make_metrics_server("127.0.0.1", 0, app)
        for s in (server, metrics):
            threading.Thread(target=s.serve_forever, daemon=True).start()
            servers.append(s)
        app.ready.set()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        METRICS[base] = f"http://127.0.0.1:{metrics.server_address[1]}"
        return base

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (local test server)
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def samples(base: str) -> dict:
    status, body = get(METRICS[base] + "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_sigterm_drains_before_stopping() -> None:
    """After SIGTERM: readiness fails at once, requests are still served, then the server stops."""
    app = main.App(main.Metrics(CollectorRegistry()))
    server = main.make_server("127.0.0.1", 0, app)
    loop = threading.Thread(target=server.serve_forever, daemon=True)
    loop.start()
    app.ready.set()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    drainer = threading.Thread(target=main.drain, args=(server, app, 3600.0), daemon=True)
    drainer.start()
    for _ in range(1000):  # bounded: drain() clears readiness first thing
        if not app.ready.is_set():
            break
        threading.Event().wait(0.01)
    assert get(base + "/readyz")[0] == 503
    assert get(base + "/healthz")[0] == 200  # still serving during the drain
    app.drained.set()
    drainer.join(timeout=10)
    loop.join(timeout=10)
    assert not loop.is_alive()
    server.server_close()


def test_probes(serve) -> None:
    base = serve()
    assert get(base + "/healthz")[0] == 200
    assert get(base + "/readyz")[0] == 200


def test_sample_route_is_counted_and_timed(serve) -> None:
    base = serve()
    for _ in range(3):
        status, body = get(base + main.SAMPLE_ROUTE)
        assert status == 200
        assert json.loads(body)["service"] == main.SERVICE
    got = samples(base)
    key = (("code", "200"), ("method", "GET"), ("route", main.SAMPLE_ROUTE))
    assert got[("http_requests_total", key)] == 3
    slo_bucket = (("le", "0.3"), ("method", "GET"), ("route", main.SAMPLE_ROUTE))
    assert ("http_request_duration_seconds_bucket", slo_bucket) in got


def test_metrics_only_on_the_metrics_port(serve) -> None:
    base = serve()
    assert get(base + "/metrics")[0] == 404
    assert get(METRICS[base] + main.SAMPLE_ROUTE)[0] == 404


def test_probes_stay_out_of_the_sli(serve) -> None:
    base = serve()
    get(base + "/healthz")
    assert not [k for k in samples(base) if k[0] == "http_requests_total"]


def test_fault_switch_returns_500(serve) -> None:
    base = serve(fault=1.0)
    assert get(base + main.SAMPLE_ROUTE)[0] == 500
    key = (("code", "500"), ("method", "GET"), ("route", main.SAMPLE_ROUTE))
    assert samples(base)[("http_requests_total", key)] == 1


@pytest.mark.parametrize("raw", ["-0.1", "1.5", "often"])
def test_fault_rate_rejects_bad_values(raw: str) -> None:
    with pytest.raises(SystemExit):
        main.fault_rate({main.FAULT_ENV: raw})


def test_fault_switch_is_off_by_default() -> None:
    assert main.fault_rate({}) == 0.0


def test_request_id_is_echoed_or_made() -> None:
    assert telemetry.request_id("abc-123") == "abc-123"
    made = telemetry.request_id("bad value\r\nX: y")
    assert made != "bad value\r\nX: y" and len(made) == 32
    assert telemetry.request_id(None) != telemetry.request_id(None)


def test_outgoing_calls_carry_the_traceparent_and_request_id() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    token = telemetry.bind_request_id("req-1")
    try:
        with tracer.start_as_current_span("work") as span:
            headers = telemetry.outgoing_headers()
            ctx = span.get_span_context()
    finally:
        telemetry.reset_request_id(token)
    assert headers["traceparent"] == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    assert headers[telemetry.REQUEST_ID_HEADER] == "req-1"


def test_a_failing_handler_logs_the_exception_with_the_trace(serve, monkeypatch) -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(telemetry.JsonFormatter().format(record))

    def boom(_: object) -> tuple:
        raise RuntimeError("database is down")

    monkeypatch.setitem(main.ROUTES, main.SAMPLE_ROUTE, boom)
    handler = Capture()
    main.log.addHandler(handler)
    level = main.log.level
    main.log.setLevel(logging.INFO)
    try:
        base = serve()
        assert get(base + main.SAMPLE_ROUTE)[0] == 500
        for _ in range(500):  # bounded: the access line is written just after the reply
            if any('"msg":"request"' in line for line in lines):
                break
            threading.Event().wait(0.01)
    finally:
        main.log.removeHandler(handler)
        main.log.setLevel(level)
    entries = [json.loads(line) for line in lines]
    (failed,) = [e for e in entries if e["msg"] == "request failed"]
    assert failed["level"] == "error"
    assert failed["error"]["type"] == "RuntimeError" and failed["error"]["message"] == "database is down"
    assert "raise RuntimeError" in failed["error"]["stack"]
    (done,) = [e for e in entries if e["msg"] == "request"]
    assert done["code"] == 500 and done["trace_id"] == failed["trace_id"] and len(done["trace_id"]) == 32
    assert done["request_id"] == failed["request_id"]
