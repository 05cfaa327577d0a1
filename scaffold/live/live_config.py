"""Configs for `scaffold try`: the package's own rules and routes, time-compressed.

The honest compression. Production timings (rule ``for:`` 2m/15m, group
intervals 1m, Alertmanager group_wait/group_interval) would need an hour to
watch. We divide every *duration of waiting* by ``COMPRESSION`` (60: one hour
of production behaviour in one minute), with a 1 s floor, and change nothing
else: every ``expr``, threshold, label, annotation, route matcher, grouping
and inhibit rule is the package's own. Rule *windows* inside expressions are
not touched either: a 1-minute run fills only the start of a 1h/1d window,
but rate() over the data that exists still gives the true error *ratio*
(numerator and denominator see the same span). The low-traffic guards (at
least MIN_BAD_EVENTS bad events in the long window) are kept too:
``traffic_needed`` says how many.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..model import slo
from ..model.service import ServiceModel

COMPRESSION = 60
FLOOR_MS = 1000
SCRAPE_INTERVAL = "1s"
EVALUATION_INTERVAL = "1s"
RULE_DURATION_KEYS = ("for", "keep_firing_for")
ROUTE_TIMING_KEYS = ("group_wait", "group_interval", "repeat_interval")
MIN_AUTO_RPS, MAX_AUTO_RPS = 20, 200
SINK_PATHS = {"webhook": "webhook", "pagerduty": "pagerduty", "slack": "slack"}

_UNITS_MS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000, "h": 3600_000, "m": 60_000,
             "s": 1000, "ms": 1}
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def duration_ms(text: str) -> int:
    """A Prometheus duration ("1h30m", "15m", "500ms") in milliseconds."""
    match = _DURATION.match(str(text).strip())
    if not match or not str(text).strip():
        raise ValueError(f"not a Prometheus duration: {text!r}")
    units = ("y", "w", "d", "h", "m", "s", "ms")
    return sum(int(v) * _UNITS_MS[u] for u, v in zip(units, match.groups()) if v)


def format_ms(ms: int) -> str:
    """The shortest exact Prometheus duration: 240000 -> "4m", 1500 -> "1s500ms"."""
    if ms == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        n, ms = divmod(ms, _UNITS_MS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def compress(text: str, factor: int = COMPRESSION) -> str:
    """A duration divided by ``factor``, never below the 1 s floor (0 stays 0)."""
    ms = duration_ms(text)
    if ms == 0:
        return "0s"
    return format_ms(max(FLOOR_MS, ms // factor))


def compress_rule_groups(doc: dict[str, Any], factor: int = COMPRESSION) -> tuple[dict[str, Any], list[str]]:
    """A copy of a rule file with group intervals and ``for:`` compressed; exprs untouched.

    Returns the new document and one note per change ("Alert: for 2m -> 2s").
    """
    out = copy.deepcopy(doc)
    notes: list[str] = []
    for group in out.get("groups") or []:
        if "interval" in group:
            new = EVALUATION_INTERVAL
            notes.append(f"group {group['name']}: interval {group['interval']} -> {new}")
            group["interval"] = new
        for rule in group.get("rules") or []:
            for key in RULE_DURATION_KEYS:
                if key in rule:
                    new = compress(rule[key], factor)
                    notes.append(f"{rule.get('alert') or rule.get('record')}: {key} {rule[key]} -> {new}")
                    rule[key] = new
    return out, notes


def target_labels(m: ServiceModel) -> dict[str, str]:
    """The labels prometheus-operator puts on the production target of this
    service's Service/PodMonitor (``job`` comes from the monitor's relabeling)."""
    labels = {
        "namespace": m.production.namespace,
        "pod": f"{m.name}-try-0",
        "container": "app",
        "endpoint": "http",
    }
    if m.blueprint == "service":
        labels["service"] = m.name  # ServiceMonitor targets carry the Service name
    return labels


def relabel_configs(monitor: dict[str, Any]) -> list[dict[str, Any]]:
    """The monitor endpoint's ``relabelings`` as Prometheus ``relabel_configs``."""
    spec = monitor.get("spec") or {}
    endpoints = spec.get("endpoints") or spec.get("podMetricsEndpoints") or [{}]
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return [{keys.get(k, k): v for k, v in r.items()} for r in endpoints[0].get("relabelings") or []]


def prometheus_config(m: ServiceModel, *, app_port: int, am_port: int, rule_files: list[str],
                      monitor: dict[str, Any]) -> dict[str, Any]:
    kind = monitor.get("kind", "ServiceMonitor")
    ns = m.production.namespace
    job_name = f"{'serviceMonitor' if kind == 'ServiceMonitor' else 'podMonitor'}/{ns}/{m.name}/0"
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": EVALUATION_INTERVAL,
                   "scrape_timeout": SCRAPE_INTERVAL},
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{
            "job_name": job_name,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"127.0.0.1:{app_port}"], "labels": target_labels(m)}],
            "relabel_configs": relabel_configs(monitor),
        }],
    }


def _compress_route(route: dict[str, Any], factor: int, notes: list[str], path: str = "route") -> None:
    for key in ROUTE_TIMING_KEYS:
        if key in route:
            new = compress(route[key], factor)
            notes.append(f"{path} ({route.get('receiver', 'inherited')}): {key} {route[key]} -> {new}")
            route[key] = new
    for i, child in enumerate(route.get("routes") or []):
        _compress_route(child, factor, notes, f"{path}.routes[{i}]")


def alertmanager_config(original: dict[str, Any], *, sink_url: str, secrets_dir: Path,
                        factor: int = COMPRESSION) -> tuple[dict[str, Any], list[str]]:
    """The package's Alertmanager config with receivers pointed at the sink.

    Kept: routes, matchers, grouping, inhibit rules, the receivers' own
    pagerduty/slack integrations and their templates. Changed: where they
    send (PagerDuty ``url``, Slack ``api_url_file``, secret files -> temp
    files), one extra webhook per receiver (the only payload carrying full
    labels), and route timings compressed.
    """
    cfg = copy.deepcopy(original)
    notes: list[str] = []
    _compress_route(cfg.setdefault("route", {}), factor, notes)
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for receiver in cfg.get("receivers") or []:
        name = receiver["name"]
        for key in [k for k in receiver if k.endswith("_configs")]:
            kind = key[: -len("_configs")]
            if kind not in SINK_PATHS:
                raise ValueError(f"receiver {name}: {key} cannot be redirected to the local sink")
            for i, integ in enumerate(receiver[key]):
                url = f"{sink_url}/{SINK_PATHS[kind]}/{name}"
                if kind == "pagerduty":
                    for secret in ("routing_key", "service_key"):
                        if secret in integ or f"{secret}_file" in integ:
                            integ.pop(secret, None)
                            path = secrets_dir / f"{name}-{kind}-{i}-{secret}"
                            path.write_text("scaffold-try\n", encoding="utf-8")
                            integ[f"{secret}_file"] = str(path)
                    integ["url"] = url
                elif kind == "slack":
                    integ.pop("api_url", None)
                    path = secrets_dir / f"{name}-{kind}-{i}-api-url"
                    path.write_text(url + "\n", encoding="utf-8")
                    integ["api_url_file"] = str(path)
                else:
                    integ.pop("url_file", None)
                    integ["url"] = url
                notes.append(f"receiver {name}: {key}[{i}] -> {url}")
        receiver.setdefault("webhook_configs", []).append(
            {"url": f"{sink_url}/webhook/{name}", "send_resolved": True})
    return cfg, notes


def traffic_needed(m: ServiceModel) -> dict[str, int]:
    """Bad events each tier's long window needs before it may fire (the low-traffic guard,
    ``sum_over_time(slo:sli_error:rate5m[long]) * 60 >= MIN_BAD_EVENTS``)."""
    return {w.tier: slo.MIN_BAD_EVENTS for w in slo.burn_rate_windows(m.slo_window_days)}


def default_rps(m: ServiceModel, duration: float) -> float:
    """Enough traffic for the ticket tier's guard within 40% of the run (>= 20/s),
    so a ticket alert can fire, and be seen inhibited, in a short run."""
    need = traffic_needed(m)["ticket"]
    return float(min(MAX_AUTO_RPS, max(MIN_AUTO_RPS, -(-need // max(1, int(duration * 0.4))))))


def tolerance(rate: float, n: int, sigmas: Decimal = Decimal(4)) -> float:
    """Sampling tolerance of an observed error ratio around the injected rate:
    ``sigmas`` binomial standard deviations, at least 0.01."""
    if n <= 0:
        return 1.0
    return max(0.01, float(sigmas) * (rate * (1 - rate) / n) ** 0.5)
