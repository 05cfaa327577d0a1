"""`scaffold try`: the generated service, a real Prometheus with the package's
own rules and a real Alertmanager with its own routes, on 127.0.0.1.

Every process binds loopback only (Alertmanager's gossip is switched off),
runs in its own session with its data in a temp dir, and is stopped in a
``finally`` (SIGTERM to its process group, SIGKILL after ``STOP_TIMEOUT_S``),
on success, failure and Ctrl-C alike. Every wait is bounded in tries and
time. Timings are compressed as scaffold.live_config explains; the rules'
expressions and thresholds are the package's own, byte for byte.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..artifacts import prometheus
from ..conventions import SLI_ERROR_RATIO_5M
from ..model import stacks
from ..model.package import Package
from ..model.service import ServiceModel
from . import live_config
from .live_sink import Sink

READY_DEADLINE_S = 30.0
READY_POLL_S = 0.2
STOP_TIMEOUT_S = 5.0
POLL_S = 1.0
SETTLE_S = 5.0  # keep watching after traffic stops, for notifications in flight
MAX_DURATION_S = 900
MAX_RPS = 500
HTTP_TIMEOUT_S = 3.0
LOG_TAIL = 2000
# Alertmanager binary names: Debian ships prometheus-alertmanager.
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy


class LiveError(RuntimeError):
    pass


@dataclass(frozen=True)
class Options:
    duration: float = 60.0
    fail_rate: float = 0.5
    rps: float | None = None  # None: live_config.default_rps (enough for the ticket tier's guard)
    settle: float = SETTLE_S

    def check(self) -> None:
        if not 0 < self.duration <= MAX_DURATION_S:
            raise LiveError(f"--duration must be in (0, {MAX_DURATION_S}] seconds")
        if not 0 <= self.fail_rate <= 1:
            raise LiveError("--fail-rate must be from 0 to 1")
        if self.rps is not None and not 0 < self.rps <= MAX_RPS:
            raise LiveError(f"--rps must be in (0, {MAX_RPS}]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> Any:
    with _OPENER.open(url, timeout=HTTP_TIMEOUT_S) as resp:
        return json.loads(resp.read())


def _ok(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status == 200
    except OSError:
        return False


def alertmanager_binary() -> str:
    for name in ALERTMANAGER_BINARIES:
        if path := tools.find(name):
            return path
    raise tools.ToolMissing("alertmanager", tools.HINTS["alertmanager"])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    port: int
    log: Path

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
        return ""

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after a bounded wait."""
        if self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def app_env(pkg: Package, run_dir: Path, say: Callable[[str], None]) -> Any:
    """How to run the package's app skeleton here, in a cached environment of its own
    (scaffold.live_env); LiveError when it cannot."""
    from . import live_env

    m = pkg.model
    app_dir = pkg.root / stacks.APP_DIR
    if m.blueprint == "cronjob":
        raise LiveError("cronjob packages have no app-level SLO metrics (their SLO reads kube-state-metrics)")
    if not stacks.app_kind(m) or not app_dir.is_dir():
        raise LiveError(f"{pkg.root}: no app skeleton to run (with_app is off or app/ is missing)")
    try:
        return live_env.prepare(pkg, run_dir, say)
    except live_env.EnvError as exc:
        raise LiveError(str(exc)) from None


class Traffic:
    """Paced GETs of the sample route over keep-alive connections, in a few threads."""

    def __init__(self, port: int, rps: float, duration: float, threads: int | None = None) -> None:
        self.port, self.rps, self.duration = port, rps, duration
        self.threads = threads or max(1, min(8, int(rps // 25) + 1))
        self.codes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), name=f"scaffold-try-traffic-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def _run(self, index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
        total = int(self.rps * self.duration)
        try:
            for k in range(index, total, self.threads):  # bounded: rps x duration requests in all
                due = self.started + k / self.rps
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                try:
                    conn.request("GET", stacks.SAMPLE_ROUTE)
                    resp = conn.getresponse()
                    resp.read()
                    key = str(resp.status)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
                    key = "connection-error"
                with self._lock:
                    self.codes[key] += 1
        finally:
            conn.close()

    def done(self) -> bool:
        return not any(t.is_alive() for t in self._workers)

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(HTTP_TIMEOUT_S + 1)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.codes)


@dataclass
class Observed:
    """Everything the watch loop saw, times in seconds since traffic started."""

    sli: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    alerts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    inhibited: dict[str, dict[str, Any]] = field(default_factory=dict)
    am_names: dict[str, str] = field(default_factory=dict)  # fingerprint -> alertname
    current: dict[str, str] = field(default_factory=dict)  # alertname -> state at the last poll
    polls: int = 0
    errors: list[str] = field(default_factory=list)


def rendered(n: Any) -> dict[str, Any]:
    """What the receiver's own template produced (PagerDuty event, Slack message)."""
    p = n.payload if isinstance(n.payload, dict) else {}
    if n.integration == "pagerduty":
        body = p.get("payload") or {}
        return {"summary": body.get("summary"), "severity": body.get("severity"),
                "details": body.get("custom_details"), "event_action": p.get("event_action")}
    if n.integration == "slack":
        att = (p.get("attachments") or [{}])[0]
        return {"channel": p.get("channel"), "title": att.get("title"),
                "actions": [a.get("url") for a in att.get("actions") or []]}
    return {"status": p.get("status"), "group_labels": p.get("groupLabels")}


SHOWN_SPANS = 10
TRACE_EXPORT_DELAY_MS = 500


def trace_env(m: ServiceModel, sink_url: str) -> dict[str, str]:
    """The app's OpenTelemetry variables in a local run: the production environment's
    resource and propagators, every trace kept, exported quickly to the sink's OTLP receiver."""
    from ..artifacts import tracing

    env = tracing.otel_env(m, m.production)
    env.update({stacks.OTLP_ENDPOINT_ENV: sink_url, stacks.OTEL_TRACES_SAMPLER_ARG_ENV: "1.0",
                "OTEL_BSP_SCHEDULE_DELAY": str(TRACE_EXPORT_DELAY_MS),
                "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"})
    return env


def traces_summary(spans: list[Any], bad_exports: int = 0) -> dict[str, Any]:
    """What the sink received: counts, and the most recent spans (newest last)."""
    recent = sorted(spans, key=lambda s: s.end_ns)[-SHOWN_SPANS:]
    return {"spans": len(spans), "traces": len({s.trace_id for s in spans}),
            "errors": sum(s.status == "error" for s in spans), "bad_exports": bad_exports,
            "recent": [{"trace_id": s.trace_id, "span_id": s.span_id, "parent_span_id": s.parent_span_id,
                        "name": s.name, "service": s.service, "duration_ms": round(s.duration_ms, 3),
                        "status": s.status, "http_status": s.attributes.get("http.response.status_code")}
                       for s in recent]}


class LiveRun:
    def __init__(self, directory: Path, options: Options,
                 on_update: Callable[[dict[str, Any]], None] | None = None) -> None:
        options.check()
        self.pkg = Package.load(directory)
        self.m = self.pkg.model
        self.options = options
        self.rps = options.rps or live_config.default_rps(self.m, options.duration)
        self.on_update = on_update or (lambda _state: None)
        self.on_note: Callable[[str], None] = lambda _text: None  # set-up steps, one line each
        self.app: Any = None
        self.procs: list[Proc] = []
        self.sink = Sink()
        self.seen = Observed()
        self.notes: list[str] = []
        self.traffic: Traffic | None = None
        self.t0 = 0.0
        self.phase = "starting"
        self.sink_port: int | None = None

    # -- setup -------------------------------------------------------------
    def _write_configs(self, tmp: Path, app_port: int, prom_port: int, am_port: int) -> tuple[Path, Path]:
        rules_dir = tmp / "rules"
        rules_dir.mkdir()
        files = sorted((self.pkg.root / "observability" / "prometheus").glob("*.rules.yaml"))
        if not files:
            raise LiveError(f"{self.pkg.root}: no observability/prometheus/*.rules.yaml")
        rule_paths = []
        for f in files:
            doc, notes = live_config.compress_rule_groups(yamlio.load_file(f))
            (rules_dir / f.name).write_text(yamlio.dump(doc), encoding="utf-8")
            rule_paths.append(str(rules_dir / f.name))
            self.notes += notes
        monitor_file = prometheus.monitor_file(self.m)
        monitor_path = self.pkg.root / "k8s" / "base" / (monitor_file or "")
        monitor = yamlio.load_file(monitor_path) if monitor_file and monitor_path.is_file() else prometheus.monitor(self.m)
        prom = live_config.prometheus_config(self.m, app_port=app_port, am_port=am_port,
                                             rule_files=rule_paths, monitor=monitor)
        prom_cfg = tmp / "prometheus.yml"
        prom_cfg.write_text(yamlio.dump(prom), encoding="utf-8")
        am_src = self.pkg.root / "observability" / "alertmanager" / "alertmanager.yaml"
        if not am_src.is_file():
            raise LiveError(f"{self.pkg.root}: observability/alertmanager/alertmanager.yaml is missing")
        am, notes = live_config.alertmanager_config(yamlio.load_file(am_src), sink_url=self.sink.url,
                                                    secrets_dir=tmp / "secrets")
        self.notes += notes
        am_cfg = tmp / "alertmanager.yml"
        am_cfg.write_text(yamlio.dump(am), encoding="utf-8")
        return prom_cfg, am_cfg

    def _spawn(self, name: str, cmd: list[str], port: int, tmp: Path, cwd: Path | None = None,
               env: dict[str, str] | None = None, ready_path: str = "/-/ready") -> Proc:
        log = tmp / f"{name}.log"
        with log.open("wb") as fh:
            popen = subprocess.Popen(cmd, cwd=cwd or tmp, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        proc = Proc(name, popen, port, log)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}{ready_path}"
        deadline = time.monotonic() + READY_DEADLINE_S
        for _ in range(int(READY_DEADLINE_S / READY_POLL_S) + 1):
            if popen.poll() is not None:
                raise LiveError(f"{name} exited with {popen.returncode}:\n{proc.tail()}")
            if _ok(url):
                return proc
            if time.monotonic() > deadline:
                break
            time.sleep(READY_POLL_S)
        raise LiveError(f"{name} not ready on {url} within {READY_DEADLINE_S:.0f}s:\n{proc.tail()}")

    # -- the run -----------------------------------------------------------
    def run(self) -> dict[str, Any]:
        tmp = Path(tempfile.mkdtemp(prefix="scaffold-try-"))
        try:
            prometheus = tools.require("prometheus")
            alertmanager = alertmanager_binary()
            self.phase = "setting up the app"
            self.app = app_env(self.pkg, tmp, self.on_note)
            self.sink.start()
            self.sink_port = self.sink.port
            app_port, prom_port, am_port = free_port(), free_port(), free_port()
            # A service serves /metrics on its own port (never routed); Prometheus scrapes that one.
            scrape_port = free_port() if self.m.metrics_port != self.m.port else app_port
            prom_cfg, am_cfg = self._write_configs(tmp, scrape_port, prom_port, am_port)
            env = {k: v for k, v in os.environ.items() if k != stacks.FAULT_ENV}
            env.update(self.app.env)
            env.update({stacks.HOST_ENV: "127.0.0.1", stacks.PORT_ENV: str(app_port),
                        stacks.METRICS_PORT_ENV: str(scrape_port),
                        stacks.FAULT_ENV: str(self.options.fail_rate)})
            env.update(trace_env(self.m, self.sink.url))
            self.phase = "starting service"
            self._spawn("service", self.app.command, app_port, tmp, cwd=self.app.cwd, env=env,
                        ready_path="/healthz")
            self.phase = "starting alertmanager"
            self._spawn("alertmanager", [
                alertmanager, f"--config.file={am_cfg}", f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                "--log.level=warn"], am_port, tmp)
            self.phase = "starting prometheus"
            self._spawn("prometheus", [
                prometheus, f"--config.file={prom_cfg}", f"--storage.tsdb.path={tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"], prom_port, tmp)
            self.prom_url, self.am_url = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
            self._drive()
            return self.summary()
        finally:
            self.phase = "stopping"
            if self.traffic is not None:
                self.traffic.stop()
            for proc in reversed(self.procs):
                proc.stop()
            self.sink.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    def _drive(self) -> None:
        self.traffic = Traffic(self.procs[0].port, self.rps, self.options.duration) \
            if self.m.blueprint == "service" else None
        self.t0 = time.monotonic()
        if self.traffic is not None:
            self.traffic.start()
        end = self.t0 + self.options.duration
        settle_end = end + self.options.settle
        self.phase = "traffic" if self.traffic else "worker running"
        max_polls = int((self.options.duration + self.options.settle) / POLL_S) + 2
        for _ in range(max_polls):  # bounded in count and in time
            now = time.monotonic()
            if now >= settle_end:
                break
            if now >= end:
                self.phase = "settling"
            for proc in self.procs:
                if proc.popen.poll() is not None:
                    raise LiveError(f"{proc.name} exited with {proc.popen.returncode} during the run:\n{proc.tail()}")
            self._poll()
            self.on_update(self.state())
            time.sleep(max(0.0, min(POLL_S, settle_end - time.monotonic())))
        self._poll()
        self.on_update(self.state())

    def _poll(self) -> None:
        t = round(time.monotonic() - self.t0, 1)
        s = self.seen
        s.polls += 1
        try:
            q = urllib.parse.quote(SLI_ERROR_RATIO_5M)
            for r in get_json(f"{self.prom_url}/api/v1/query?query={q}")["data"]["result"]:
                value = float(r["value"][1])
                if math.isnan(value):  # no traffic yet
                    continue
                key = (r["metric"].get("slo", ""), r["metric"].get("namespace", ""))
                entry: dict[str, Any] = s.sli.setdefault(key, {"max": value, "last": value})
                entry["last"], entry["max"] = value, max(entry["max"], value)
            current: dict[str, str] = {}
            for a in get_json(f"{self.prom_url}/api/v1/alerts")["data"]["alerts"]:
                labels = a["labels"]
                if current.get(labels["alertname"]) != "firing":
                    current[labels["alertname"]] = a["state"]
                key = (labels["alertname"], labels.get("namespace", ""))
                entry = s.alerts.setdefault(key, {"labels": labels, "annotations": a.get("annotations", {}),
                                                  "states": [], "first": {}})
                if a["state"] not in entry["states"]:
                    entry["states"].append(a["state"])
                    entry["first"][a["state"]] = t
            s.current = current
            am_alerts = get_json(f"{self.am_url}/api/v2/alerts")
            for a in am_alerts:
                s.am_names[a["fingerprint"]] = a["labels"].get("alertname", "")
            for a in am_alerts:
                by = a.get("status", {}).get("inhibitedBy") or []
                if by:
                    entry = s.inhibited.setdefault(a["fingerprint"], {
                        "alert": a["labels"].get("alertname", ""), "labels": a["labels"], "first_s": t,
                        "inhibited_by": []})
                    for fp in by:
                        name = s.am_names.get(fp, fp)
                        if name not in entry["inhibited_by"]:
                            entry["inhibited_by"].append(name)
        except (OSError, ValueError, KeyError) as exc:
            s.errors.append(f"{t}s: {exc.__class__.__name__}: {exc}")
            del s.errors[:-20]

    # -- reporting ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """A compact view for the live progress display."""
        elapsed = time.monotonic() - self.t0 if self.t0 else 0.0
        return {
            "phase": self.phase, "elapsed_s": round(elapsed, 1), "duration_s": self.options.duration,
            "requests": self.traffic.counts() if self.traffic else {},
            "sli": {f"{k[0]}": round(v["last"], 4) for k, v in sorted(self.seen.sli.items())},
            "alerts": dict(sorted(self.seen.current.items())),
            "notifications": len(self.sink.snapshot()),
            "spans": len(self.sink.span_snapshot()),
            "inhibited": sorted({v["alert"] for v in self.seen.inhibited.values()}),
        }

    def summary(self) -> dict[str, Any]:
        o = self.options
        counts = self.traffic.counts() if self.traffic else {}
        sent = sum(counts.values())
        errors = sum(n for code, n in counts.items() if code.startswith("5"))
        observed = errors / sent if sent else None
        notifications = []
        hit: dict[str, set[str]] = {}
        for n in self.sink.snapshot():
            alerts = [{"alertname": a.get("labels", {}).get("alertname", ""), "status": a.get("status"),
                       "labels": a.get("labels", {}), "annotations": a.get("annotations", {})} for a in n.alerts()]
            notifications.append({"receiver": n.receiver, "integration": n.integration, "at_s": round(n.at, 1),
                                  "alerts": alerts, "rendered": rendered(n)})
            hit.setdefault(n.receiver, set()).update(a["alertname"] for a in alerts)
        need = live_config.traffic_needed(self.m)
        notes = []
        if not self.traffic:
            notes.append(f"{self.m.blueprint}: its own loop sets the event rate; the traffic guards need "
                         f"{need['page']} bad events (page) and {need['ticket']} (ticket) before those tiers can fire")
        elif errors < need["ticket"]:
            notes.append(f"{errors} bad events < {need['ticket']}: the ticket tier's low-traffic guard cannot pass in this run")
        recorded = {k[0]: v["last"] for k, v in self.seen.sli.items()}
        availability = recorded.get("availability")
        return {
            "package": self.m.name, "blueprint": self.m.blueprint, "stack": self.m.stack,
            "namespace": self.m.production.namespace,
            "options": {"duration_s": o.duration, "fail_rate": o.fail_rate, "rps": self.rps if self.traffic else None},
            "compression": {"factor": live_config.COMPRESSION, "floor": live_config.format_ms(live_config.FLOOR_MS),
                            "changes": list(self.notes),
                            "unchanged": "every expr, threshold, window, label, annotation, route matcher, "
                                         "grouping and inhibit rule"},
            "notes": notes,
            "traffic": {"sent": sent, "codes": dict(sorted(counts.items())), "observed_error_ratio": observed,
                        "needed_for_tier": live_config.traffic_needed(self.m)},
            "sli": [{"slo": k[0], "namespace": k[1], "last_ratio_rate5m": round(v["last"], 6),
                     "max_ratio_rate5m": round(v["max"], 6)} for k, v in sorted(self.seen.sli.items())],
            "recorded_error_ratio": availability,
            "error_ratio_tolerance": live_config.tolerance(o.fail_rate, sent) if sent else None,
            "alerts": [{"alert": k[0], "namespace": k[1], "states": v["states"], "first_s": v["first"],
                        "labels": {x: y for x, y in v["labels"].items() if x != "alertname"},
                        "runbook_url": v["annotations"].get("runbook_url", "")}
                       for k, v in sorted(self.seen.alerts.items())],
            "notifications": notifications,
            "receivers_hit": {r: sorted(names) for r, names in sorted(hit.items())},
            "inhibited": sorted(self.seen.inhibited.values(), key=lambda e: (e["alert"], e["first_s"])),
            "processes": [{"name": p.name, "pid": p.popen.pid, "port": p.port} for p in self.procs],
            "app_env": {"location": str(self.app.location) if self.app and self.app.location else None,
                        "built": bool(self.app and self.app.built),
                        "command": list(self.app.command) if self.app else []},
            "traces": traces_summary(self.sink.span_snapshot(), self.sink.bad_exports),
            "sink_port": self.sink_port,
            "poll_errors": list(self.seen.errors),
        }
