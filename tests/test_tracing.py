"""Issue 17: the app skeletons trace each request into an OTLP/HTTP sink, continue an
incoming W3C ``traceparent``, and their log line for the request carries the same
trace_id, span_id and request ID."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from scaffold import stacks
from scaffold.package import Package
from tests.otlp_sink import Span, exporter_env, otlp_sink
from tests.test_app_python import STOP_TIMEOUT_S, running_app
from tests.test_app_stacks import node_modules, node_process  # noqa: F401 (node_modules is a fixture)

SERVER = 2  # SpanKind SPAN_KIND_SERVER in OTLP
STATUS_ERROR = 2


def call(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def stop(proc: subprocess.Popen) -> list[dict]:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_TIMEOUT_S) == 0
    return [json.loads(line) for line in (proc.stdout.read() if proc.stdout else "").splitlines()]


def drive(base: str) -> dict:
    """Three requests: one continuing a caller's trace (with its request ID), one new
    trace, one unmatched path. Returns what the assertions need."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    code, headers = call(base + stacks.SAMPLE_ROUTE, {"traceparent": f"00-{trace_id}-{parent_id}-01",
                                                      "X-Request-ID": "req-17"})
    assert code == 200 and headers.get("X-Request-ID") == "req-17"
    code, fresh_headers = call(base + stacks.SAMPLE_ROUTE, {})
    assert code == 200 and len(fresh_headers.get("X-Request-ID", "")) >= 16  # made by the app
    assert call(base + "/nope", {})[0] == 404
    return {"trace_id": trace_id, "parent_id": parent_id, "fresh_rid": fresh_headers["X-Request-ID"]}


def check(spans: list[Span], logs: list[dict], sent: dict) -> None:
    server = [s for s in spans if s.kind == SERVER]
    assert len(server) == 3, [s.name for s in spans]  # probes are not traced
    joined = [s for s in server if s.trace_id == sent["trace_id"]]
    assert len(joined) == 1, "the incoming traceparent was not continued"
    span = joined[0]
    assert span.parent_span_id == sent["parent_id"]
    assert span.name == f"GET {stacks.SAMPLE_ROUTE}"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.route"] == stacks.SAMPLE_ROUTE
    assert span.attributes["http.response.status_code"] == 200
    assert span.resource["service.name"] == "traced-svc"
    assert span.resource["service.namespace"] == "tracing-team"
    assert span.resource["service.version"] == "9.9.9"
    fresh = [s for s in server if s is not span and s.attributes.get("http.route") == stacks.SAMPLE_ROUTE]
    assert len(fresh) == 1 and fresh[0].parent_span_id == "" and fresh[0].trace_id != sent["trace_id"]
    unmatched = [s for s in server if s.attributes.get("http.response.status_code") == 404]
    assert [s.name for s in unmatched] == ["GET"] and "http.route" not in unmatched[0].attributes

    requests = [entry for entry in logs if entry["msg"] == "request"]
    assert len(requests) == 3
    line = next(entry for entry in requests if entry.get("request_id") == "req-17")
    assert line["trace_id"] == sent["trace_id"] and line["span_id"] == span.span_id
    other = next(entry for entry in requests if entry.get("request_id") == sent["fresh_rid"])
    assert other["trace_id"] == fresh[0].trace_id and other["span_id"] == fresh[0].span_id


@pytest.fixture(scope="module")
def python_service(render) -> Path:
    return render() / stacks.APP_DIR


def test_python_service_traces_requests_into_the_sink(python_service: Path) -> None:
    with otlp_sink() as sink:
        env = {**exporter_env(sink), "SHUTDOWN_DRAIN_SECONDS": "0"}
        with running_app(python_service, extra_env=env) as (base, proc):
            sent = drive(base)
            spans = sink.wait_for(lambda got: sum(s.kind == SERVER for s in got) >= 3)
            logs = stop(proc)
    check(spans, logs, sent)


def test_python_service_error_span_and_log_carry_the_fault(python_service: Path) -> None:
    with otlp_sink() as sink:
        env = {**exporter_env(sink), "SHUTDOWN_DRAIN_SECONDS": "0"}
        with running_app(python_service, fault="1", extra_env=env) as (base, proc):
            assert call(base + stacks.SAMPLE_ROUTE, {})[0] == 500
            spans = sink.wait_for(lambda got: any(s.kind == SERVER for s in got))
            stop(proc)
    (span,) = [s for s in spans if s.kind == SERVER]
    assert span.status_code == STATUS_ERROR and span.attributes["http.response.status_code"] == 500


def test_node_service_traces_requests_into_the_sink(render, node_modules) -> None:
    pkg = render(stack="node")
    entry = stacks.entry_source(Package.load(pkg).model)
    with otlp_sink() as sink, node_process(pkg / stacks.APP_DIR, entry, **exporter_env(sink)) as (base, proc):
        sent = drive(base)
        spans = sink.wait_for(lambda got: sum(s.kind == SERVER for s in got) >= 3)
        logs = stop(proc)
    check(spans, logs, sent)
