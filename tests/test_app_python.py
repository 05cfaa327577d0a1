"""The generated python service, run for real: its /metrics must serve exactly
the series the generated SLO rules select, and the fault switch must move them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scaffold.model import stacks
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from tests.helpers import require_tool

# Labels Prometheus attaches at scrape time; the app must not (and cannot) set them.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
SELECTOR = re.compile(r"(?P<name>[a-zA-Z_][a-zA-Z0-9_:]*)\{(?P<matchers>[^}]*)\}")
MATCHER = re.compile(r'(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>[^"]*)"')
READY_TRIES = 100
READY_DEADLINE_S = 20.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@contextlib.contextmanager
def running_app(app_dir: Path, fault: str | None = None,
                extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start main.py on 127.0.0.1; always stopped (SIGTERM, then kill) on the way out."""
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, stacks.HOST_ENV: "127.0.0.1", stacks.PORT_ENV: str(port),
           stacks.METRICS_PORT_ENV: str(metrics_port)}
    env.pop(stacks.FAULT_ENV, None)
    if fault is not None:
        env[stacks.FAULT_ENV] = fault
    env.update(extra_env or {})
    proc = subprocess.Popen([sys.executable, "main.py"], cwd=app_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    METRICS_BASE[base] = f"http://127.0.0.1:{metrics_port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        for _ in range(READY_TRIES):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            with contextlib.suppress(OSError):
                if get(base + "/readyz")[0] == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("service never became ready")
        assert proc.poll() is None, f"service exited early: {proc.stdout.read() if proc.stdout else ''}"
        yield base, proc
    finally:
        stop(proc)
    assert proc.returncode is not None


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it outlives STOP_TIMEOUT_S; its output pipe closed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
    if proc.stdout:
        proc.stdout.close()


METRICS_BASE: dict[str, str] = {}  # app base URL -> its metrics port's base URL (issue 16)


def scrape(base: str) -> list:
    status, body = get(METRICS_BASE.get(base, base) + "/metrics")
    assert status == 200
    return [s for fam in text_string_to_metric_families(body) for s in fam.samples]


def rule_selectors(pkg: Path) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric, [(label, op, value)]) for every raw-metric selector in the generated rules."""
    out = []
    files = sorted((pkg / "observability" / "prometheus").glob("*.rules.yaml"))
    assert files, "the package has no Prometheus rule files"
    for path in files:
        for group in yamlio.load_file(path)["groups"]:
            for rule in group["rules"]:
                for sel in SELECTOR.finditer(str(rule["expr"])):
                    if ":" not in sel["name"]:
                        out.append((sel["name"], [(m["label"], m["op"], _unquote(m["value"]))
                                                  for m in MATCHER.finditer(sel["matchers"])]))
    return out


def _unquote(value: str) -> str:
    """A PromQL double-quoted string's content: ``0\\\\.3`` in the rule text is the regex ``0\\.3``."""
    return re.sub(r"\\(.)", r"\1", value)


def matches(sample, matchers: list[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        if label in TARGET_LABELS:
            continue
        got = sample.labels.get(label)
        if op == "=" and got != value or op == "!=" and got == value:
            return False
        if op == "=~" and not re.fullmatch(value, got or "") or op == "!~" and re.fullmatch(value, got or ""):
            return False
    return True


@pytest.fixture(scope="module")
def pkg(render) -> Path:
    return render()


@pytest.mark.parametrize("blueprint", ["service", "worker", "cronjob"])
def test_rendered_app_passes_its_own_lint_and_tests(render, blueprint: str) -> None:
    ruff = require_tool("ruff")
    app = (render() if blueprint == "service" else render(blueprint=blueprint)) / stacks.APP_DIR
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        res = subprocess.run([ruff, *args], cwd=app, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=app,
                         capture_output=True, text=True, env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"\b[1-9]\d* passed", res.stdout), res.stdout


def test_metrics_serve_every_series_the_slo_rules_select(pkg: Path) -> None:
    m = ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))
    selectors = rule_selectors(pkg)
    app_metrics = {name for name, _ in selectors if name.startswith(("http_", "worker_"))}
    assert {"http_requests_total", "http_request_duration_seconds_bucket"} <= app_metrics
    assert any(name == "http_request_duration_seconds_bucket"
               and any(label == "le" and (op == "=" and value == m.latency_le
                                          or op == "=~" and re.fullmatch(value, m.latency_le))
                       for label, op, value in ms)
               for name, ms in selectors), "the rules no longer query the SLO bucket"
    with running_app(pkg / stacks.APP_DIR, fault="0.5") as (base, _):
        codes = [get(base + stacks.SAMPLE_ROUTE)[0] for _ in range(40)]
        samples = scrape(base)
    assert set(codes) == {200, 500}, "a 0.5 fault rate over 40 requests should give both outcomes"
    for name, matchers in selectors:
        if name not in app_metrics:
            continue
        assert any(s.name == name and matches(s, matchers) for s in samples), f"no served series matches {name}{matchers}"
    served_labels = {s.name: set(s.labels) for s in samples if s.name in app_metrics}
    assert served_labels["http_requests_total"] == {"code", "method", "route"}
    assert served_labels["http_request_duration_seconds_bucket"] == {"le", "method", "route"}


def test_fault_switch_fails_every_sample_request_and_counts_500(pkg: Path) -> None:
    def total(samples, code: str) -> float:
        return sum(s.value for s in samples if s.name == "http_requests_total"
                   and s.labels.get("code") == code and s.labels.get("route") == stacks.SAMPLE_ROUTE)

    with running_app(pkg / stacks.APP_DIR, fault="1") as (base, _):
        before = total(scrape(base), "500")
        statuses = [get(base + stacks.SAMPLE_ROUTE)[0] for _ in range(5)]
        after = scrape(base)
    assert statuses == [500] * 5
    assert total(after, "500") - before == 5
    assert total(after, "200") == 0


def test_fault_switch_is_off_by_default(pkg: Path) -> None:
    with running_app(pkg / stacks.APP_DIR) as (base, _):
        statuses = {get(base + stacks.SAMPLE_ROUTE)[0] for _ in range(20)}
    assert statuses == {200}


def test_sigterm_fails_readiness_and_exits_cleanly(pkg: Path) -> None:
    with running_app(pkg / stacks.APP_DIR) as (base, proc):
        assert get(base + "/healthz")[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_TIMEOUT_S) == 0
        logs = proc.stdout.read() if proc.stdout else ""
    events = [json.loads(line)["msg"] for line in logs.splitlines()]  # every log line is JSON
    assert events[0] == "listening" and events[-2:] == ["shutting down", "stopped"]


def test_metrics_are_not_served_on_the_routed_port(pkg: Path) -> None:
    """Issue 16: the HTTPRoute/Ingress send / to the app port; /metrics must not be there."""
    with running_app(pkg / stacks.APP_DIR) as (base, _):
        assert get(base + "/metrics")[0] == 404
        assert get(METRICS_BASE[base] + "/metrics")[0] == 200
        assert get(METRICS_BASE[base] + "/hello")[0] == 404
