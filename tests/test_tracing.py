"""Issue 17: the app skeletons trace each request into an OTLP/HTTP sink, continue an
incoming W3C ``traceparent``, and their log line for the request carries the same
trace_id, span_id and request ID."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from scaffold.answers import rules as answers
from scaffold.artifacts import k8s, tracing
from scaffold.model import stacks
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from scaffold.model.package import Package
from tests.helpers import require_tool
from tests.otlp_sink import Span, exporter_env, otlp_sink
from tests.test_app_python import STOP_TIMEOUT_S, running_app
from tests.test_app_stacks import NODE_PATH, node_process

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


def test_node_service_traces_requests_into_the_sink(render, node_runtime_modules: Path) -> None:
    NODE_PATH[:] = [str(node_runtime_modules)]
    pkg = render(stack="node")
    entry = stacks.entry_source(Package.load(pkg).model)
    with otlp_sink() as sink, node_process(pkg / stacks.APP_DIR, entry, **exporter_env(sink)) as (base, proc):
        sent = drive(base)
        spans = sink.wait_for(lambda got: sum(s.kind == SERVER for s in got) >= 3)
        logs = stop(proc)
    check(spans, logs, sent)


# -- sampling per environment, in the manifests ------------------------------------------------
@pytest.mark.fast
def test_sampling_defaults_and_answer() -> None:
    """Issue 17: sampling per environment from the answers, into each overlay's ConfigMap data."""
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    ratios = {env.name: tracing.sampling_ratio(m, env) for env in m.environments}
    assert ratios == {"dev": Decimal(1), "staging": Decimal(1), "prod": tracing.DEFAULT_PRODUCTION_RATIO}
    m = ServiceModel.from_answers({"service_name": "payments-api", "trace_sampling": {"prod": 0.05, "dev": 0}})
    assert {env.name: tracing.sampling_ratio(m, env) for env in m.environments} == {
        "dev": Decimal(0), "staging": Decimal(1), "prod": Decimal("0.05")}
    assert k8s.config_data(m, m.environments[0])[stacks.OTEL_TRACES_SAMPLER_ARG_ENV] == "0.0"
    env = tracing.otel_env(m, m.production)
    assert env[stacks.OTEL_TRACES_SAMPLER_ENV] == "parentbased_traceidratio"
    assert env[stacks.OTEL_TRACES_SAMPLER_ARG_ENV] == "0.05"
    assert env[stacks.OTEL_RESOURCE_ATTRIBUTES_ENV] == (
        f"service.namespace=platform,service.version={stacks.APP_VERSION},deployment.environment.name=prod")


@pytest.mark.fast
@pytest.mark.parametrize("value", [{"prod": 1.5}, {"prod": -0.1}, {"qa": 0.5}, [0.1], {"prod": True}, {"prod": "0.1"}])
def test_bad_sampling_is_one_line_naming_the_field(value) -> None:
    msg = answers.check("trace_sampling", value, {"environments": ["dev", "staging", "prod"]})
    assert msg.startswith("trace_sampling: must map environment names to a sampling ratio") and "\n" not in msg
    with pytest.raises(answers.AnswerError) as err:
        ServiceModel.from_answers({"service_name": "payments-api", "trace_sampling": value})
    assert err.value.field == "trace_sampling"


def test_each_overlay_configures_its_own_sampler(render) -> None:
    """kubectl kustomize builds each overlay; its ConfigMap carries that environment's ratio,
    and the SDK variables the skeletons read (the names in scaffold.model.stacks)."""
    kubectl = require_tool("kubectl")
    pkg = render(skip_tasks=True)  # the shared package: defaults (the answer's effect is unit-tested above)
    got = {}
    for env in ("dev", "staging", "prod"):
        proc = subprocess.run([kubectl, "kustomize", str(pkg / "k8s/overlays" / env)], capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        (cm,) = [d for d in yamlio.load_all(proc.stdout) if d and d["kind"] == "ConfigMap"
                 and d["metadata"]["name"].startswith("payments-api") and "OTEL_SERVICE_NAME" in d.get("data", {})]
        got[env] = cm["data"]
    assert {env: d[stacks.OTEL_TRACES_SAMPLER_ARG_ENV] for env, d in got.items()} == {
        "dev": "1.0", "staging": "1.0", "prod": "0.1"}
    for env, data in got.items():
        assert data[stacks.OTEL_TRACES_SAMPLER_ENV] == "parentbased_traceidratio"
        assert data[stacks.OTEL_SERVICE_NAME_ENV] == "payments-api"
        assert f"deployment.environment.name={env}" in data[stacks.OTEL_RESOURCE_ATTRIBUTES_ENV]


@pytest.mark.parametrize("stack", ["python", "node"])
def test_cronjob_run_is_one_span_and_its_error_log_joins_it(render, request, stack: str) -> None:
    """A failed run: its span has the error status and the exception event; the error log line
    carries the same trace_id and the exception's type, message and stack."""
    pkg = render(blueprint="cronjob") if stack == "python" else render(stack="node", blueprint="cronjob")
    if stack == "python":
        cmd = [sys.executable, "main.py"]
        base_env = dict(os.environ)
    else:
        node = require_tool("node")
        cmd = [node, stacks.entry_source(Package.load(pkg).model)]
        base_env = {"PATH": str(Path(node).parent), "NODE_PATH": str(request.getfixturevalue("node_runtime_modules"))}
    with otlp_sink() as sink:
        env = {**base_env, **exporter_env(sink), stacks.FAULT_ENV: "1"}
        res = subprocess.run(cmd, cwd=pkg / stacks.APP_DIR, env=env, capture_output=True, text=True,
                             timeout=60, check=False)
        assert res.returncode == 1, res.stdout + res.stderr
        spans = sink.wait_for(lambda got: len(got) >= 1)
    (span,) = spans
    assert span.name == "run" and span.status_code == STATUS_ERROR and span.parent_span_id == ""
    assert [name for name, _ in span.events] == ["exception"]
    assert span.events[0][1]["exception.type"] in ("RuntimeError", "Error")
    assert span.resource["service.name"] == "traced-svc"
    (line,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert line["msg"] == "run failed" and line["level"] == "error"
    assert (line["trace_id"], line["span_id"]) == (span.trace_id, span.span_id)
    assert line["error"]["type"] in ("RuntimeError", "Error") and line["error"]["message"] == "injected fault"
    assert ("Traceback" if stack == "python" else "at run") in line["error"]["stack"] and line["request_id"]
