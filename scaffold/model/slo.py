"""SLO math and the SLO list of a service, decimal-exact.

Multiwindow multi-burn-rate alerting (SRE workbook, Sloth). A tier's factor is
``budget consumed x SLO window hours / long window hours``; for 30 days that is
14.4 / 6 / 3 / 1. For 28 days the exact values are 13.44 / 5.6 / 2.8 /
0.9333...: we scale factors to the SLO window and round them DOWN to two
decimals (0.93), so a rounded alert is never less sensitive than the exact one.
Thresholds are ``factor x (1 - objective)``, computed in Decimal and printed
without float artifacts (99.9% -> 14.4 x 0.001 = 0.0144).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import yaml

from .. import yamlio
from ..answers.slo_spec import WINDOW_PLACEHOLDER
from ..conventions import SEVERITY
from .service import ServiceModel, le_label

_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_WINDOW = re.compile(r"[1-9][0-9]{0,3}[mhd]\Z")
# The alert windows are data: observability/alert-windows.yaml (DESIGN §5), reached
# through scaffold/data/, the folder the template loader copies with this code.
WINDOWS_FILE = Path(__file__).resolve().parent.parent / "data" / "alert-windows.yaml"


class WindowsError(ValueError):
    """The alert-windows file is malformed; the message names the file and the field."""


def parse_windows(text: str, source: str = "alert-windows.yaml") -> dict[str, Any]:
    """The tiers and guards of an alert-windows file, checked field by field:
    ``{"tiers": ((tier, short, long, budget consumed), ...), "min_bad_events": int,
    "min_data_age": str}``. Short windows are shorter than their long ones, shares in
    (0, 1], and page tiers come before ticket tiers (alerts are emitted in that order)."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or set(raw) != {"tiers", "guards"}:
        raise WindowsError(f"{source}: expected exactly the keys 'tiers' and 'guards'")
    rows = raw["tiers"]
    if not isinstance(rows, list) or not rows:
        raise WindowsError(f"{source}: tiers: expected a non-empty list")
    tiers = []
    for i, row in enumerate(rows):
        where = f"{source}: tiers[{i}]"
        if not isinstance(row, dict) or set(row) != {"severity_tier", "short", "long", "budget_consumed"}:
            raise WindowsError(f"{where}: expected the keys severity_tier, short, long, budget_consumed")
        tier, short, long_, share = row["severity_tier"], row["short"], row["long"], row["budget_consumed"]
        if tier not in SEVERITY:
            raise WindowsError(f"{where}.severity_tier: {tier!r}; allowed: {', '.join(SEVERITY)}")
        for key, w in (("short", short), ("long", long_)):
            if not isinstance(w, str) or not _WINDOW.match(w):
                raise WindowsError(f"{where}.{key}: {w!r}; allowed: a Prometheus duration like 5m, 6h or 3d")
        if window_seconds(short) >= window_seconds(long_):
            raise WindowsError(f"{where}: short window {short} must be shorter than long window {long_}")
        try:
            consumed = Decimal(str(share))
        except ArithmeticError:
            consumed = Decimal(-1)
        if not isinstance(share, str) or not Decimal(0) < consumed <= 1:
            raise WindowsError(f"{where}.budget_consumed: {share!r}; allowed: a quoted decimal in (0, 1], "
                               f"e.g. \"0.02\"")
        tiers.append((tier, short, long_, consumed))
    order = [t[0] for t in tiers]
    if order != sorted(order, key=list(SEVERITY).index):
        raise WindowsError(f"{source}: tiers: page tiers come before ticket tiers")
    guards = raw["guards"]
    if not isinstance(guards, dict) or set(guards) != {"min_bad_events", "min_data_age"}:
        raise WindowsError(f"{source}: guards: expected the keys min_bad_events and min_data_age")
    bad, age = guards["min_bad_events"], guards["min_data_age"]
    if isinstance(bad, bool) or not isinstance(bad, int) or not 1 <= bad <= 1000:
        raise WindowsError(f"{source}: guards.min_bad_events: {bad!r}; allowed: an integer 1-1000")
    if not isinstance(age, str) or not _WINDOW.match(age):
        raise WindowsError(f"{source}: guards.min_data_age: {age!r}; allowed: a Prometheus duration like 3d")
    return {"tiers": tuple(tiers), "min_bad_events": bad, "min_data_age": age}




def dec(value: Decimal | int | str) -> str:
    """A Decimal as a plain PromQL/YAML literal: 0.0144, 6, 0.00093 (never 1E-5)."""
    d = Decimal(value).normalize()
    text = format(d, "f")
    return text


def window_seconds(window: str) -> int:
    return int(window[:-1]) * _UNIT_SECONDS[window[-1]]


def window_hours(window: str) -> Decimal:
    return Decimal(window_seconds(window)) / 3600


_WINDOWS = parse_windows(WINDOWS_FILE.read_text(encoding="utf-8"), str(WINDOWS_FILE))
# (tier, short window, long window, share of the budget consumed), from the data file.
TIERS: tuple[tuple[str, str, str, Decimal], ...] = _WINDOWS["tiers"]
# The SLI ratio windows the recording rules keep: every window a tier reads.
SLI_WINDOWS = tuple(sorted({w for _, short, long_, _ in TIERS for w in (short, long_)}, key=lambda w: window_seconds(w)))
FACTOR_QUANTUM = Decimal("0.01")
# The low-traffic guard and the minimum data age of ErrorBudgetExhausted (see the data file).
MIN_BAD_EVENTS: int = _WINDOWS["min_bad_events"]
MIN_DATA_AGE: str = _WINDOWS["min_data_age"]


@dataclass(frozen=True)
class BurnWindow:
    tier: str  # page | ticket
    short: str
    long: str
    budget_consumed: Decimal
    factor: Decimal

    @property
    def severity(self) -> str:
        return SEVERITY[self.tier]


def burn_factor(budget_consumed: Decimal, window_days: int, long_window: str) -> Decimal:
    exact = Decimal(budget_consumed) * window_days * 24 / window_hours(long_window)
    return exact.quantize(FACTOR_QUANTUM, rounding=ROUND_DOWN).normalize()


def burn_rate_windows(window_days: int) -> list[BurnWindow]:
    """The four tiers, factors scaled to the SLO window (28d: 13.44, 5.6, 2.8, 0.93)."""
    return [BurnWindow(tier, short, long, share, burn_factor(share, window_days, long))
            for tier, short, long, share in TIERS]


def error_budget(objective_percent: Decimal | str | float) -> Decimal:
    """1 - objective as a ratio: 99.9 -> 0.001."""
    return (Decimal(100) - Decimal(str(objective_percent))) / 100


def threshold(factor: Decimal | str, objective_percent: Decimal | str | float) -> Decimal:
    """The error-ratio threshold of a burn-rate factor: 14.4 x (1 - 0.999) = 0.0144."""
    return (Decimal(str(factor)) * error_budget(objective_percent)).normalize()


def error_budget_minutes(objective_percent: Decimal | str | float, days: int) -> Decimal:
    """Allowed bad minutes in the window: 99.9% over 30 days -> 43.2."""
    return (error_budget(objective_percent) * days * 24 * 60).normalize()


def camel(name: str) -> str:
    """An SLO name as an alert-name prefix: checkout-api -> CheckoutApi."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-") if part)


@dataclass(frozen=True)
class SLO:
    name: str
    title: str
    objective: Decimal  # percent, e.g. 99.9
    error_query: str  # PromQL with the {{window}} placeholder
    total_query: str
    description: str
    kind: str  # availability | latency | ratio | jobs
    rate_based: bool = True  # events are request/job rates: the traffic guard applies
    le: str = ""  # latency SLOs: the threshold bucket's le label, as prometheus_client prints it

    @property
    def target(self) -> Decimal:
        """The objective as a ratio: 99.9 -> 0.999."""
        return (self.objective / 100).normalize()

    @property
    def budget(self) -> Decimal:
        return error_budget(self.objective)

    @property
    def prefix(self) -> str:
        return camel(self.name)

    def errors(self, window: str) -> str:
        return self.error_query.replace(WINDOW_PLACEHOLDER, window)

    def total(self, window: str) -> str:
        return self.total_query.replace(WINDOW_PLACEHOLDER, window)

    def errors_or_zero(self, window: str) -> str:
        """The error rate. Availability and ratio SLOs count errors in their own series, which
        client libraries create on the first error: no series yet is 0 where there is traffic.
        A latency SLO's errors are count - bucket: a missing bucket must stay missing (the
        SLIAbsent alert reports it), so no ``or`` there."""
        if self.kind == "latency":
            return self.errors(window)
        return or_zero(self.errors(window), self.total(window))

    def error_ratio(self, window: str) -> str:
        return f"({self.errors_or_zero(window)}) / ({self.total(window)})"

    def thresholds(self, window_days: int) -> list[tuple[BurnWindow, Decimal]]:
        return [(w, threshold(w.factor, self.objective)) for w in burn_rate_windows(window_days)]


def or_zero(errors: str, total: str) -> str:
    """Errors, or 0 where there is traffic but no error series yet (no 5xx
    since the pods started): a healthy service's SLI is 0, not absent, so
    dashboards don't say "No data" and canary analysis gets a number."""
    return f"({errors}) or 0 * ({total})"


def selector(m: ServiceModel, **extra: str) -> str:
    """Label matchers for the service's own metrics: the monitors set job=<name>."""
    parts = [f'job="{m.name}"'] + [f'{k}{v}' if v[:1] in "=!~" else f'{k}="{v}"' for k, v in extra.items()]
    return "{" + ",".join(parts) + "}"


def namespace_regex(m: ServiceModel) -> str:
    """kube-state-metrics/cAdvisor series of this service's namespaces, one per environment."""
    return f"{m.name}-({'|'.join(e.name for e in m.environments)})"


def _histogram(m: ServiceModel) -> str | None:
    return {"service": "http_request_duration_seconds", "worker": "worker_job_duration_seconds"}.get(m.blueprint)


def le_matcher(le: str) -> str:
    """A matcher for the threshold bucket in every spelling exporters use: prometheus_client
    writes ``1.0``, Go and most others ``1``; ``0.3`` is the same everywhere."""
    value = Decimal(le)
    if value == value.to_integral_value():
        return f'=~"{int(value)}(\\\\.0)?"'
    return '=~"' + dec(value).replace(".", "\\\\.") + '"'


def _latency_queries(m: ServiceModel, le: str) -> tuple[str, str]:
    h = _histogram(m)
    w = WINDOW_PLACEHOLDER
    total = f"sum by (namespace) (rate({h}_count{selector(m)}[{w}]))"
    good = f"sum by (namespace) (rate({h}_bucket{selector(m, le=le_matcher(le))}[{w}]))"
    return f"{total} - {good}", total


def _ms(ms: int | Decimal) -> str:
    return f"{dec(ms)}ms"


def slos_for(m: ServiceModel) -> list[SLO]:
    """The service's SLOs: built-ins per blueprint, then the extra ``slos`` answer."""
    w = WINDOW_PLACEHOLDER
    out: list[SLO] = []
    if m.blueprint in ("service", "worker"):
        if m.blueprint == "service":
            metric, bad, what = "http_requests_total", {"code": '=~"5.."'}, "HTTP requests answered without a 5xx"
        else:
            metric, bad, what = "worker_jobs_total", {"outcome": "error"}, "jobs processed without an error"
        out.append(SLO(
            name="availability", title="Availability", objective=m.slo_availability,
            error_query=f"sum by (namespace) (rate({metric}{selector(m, **bad)}[{w}]))",
            total_query=f"sum by (namespace) (rate({metric}{selector(m)}[{w}]))",
            description=f"{dec(m.slo_availability)}% of {what}.", kind="availability"))
        err, tot = _latency_queries(m, m.latency_le)
        unit = "requests" if m.blueprint == "service" else "jobs"
        out.append(SLO(
            name="latency", title="Latency", objective=m.slo_latency_target, error_query=err, total_query=tot,
            description=f"{dec(m.slo_latency_target)}% of {unit} complete within {_ms(m.slo_latency_ms)}.",
            kind="latency", le=m.latency_le))
    else:
        job = f'namespace=~"{namespace_regex(m)}",job_name=~"{m.name}-[0-9]+"'

        def finished(metric: str) -> str:
            # Jobs whose condition turned true inside the window: kube-state-metrics keeps
            # reporting a finished Job for as long as the history limit keeps it.
            sel = f'{{{job},condition="true"}}'
            return (f"max by (namespace, job_name) (max_over_time({metric}{sel}[{w}])) > 0 "
                    f"unless on (namespace, job_name) max by (namespace, job_name) ({metric}{sel} offset {w}) > 0")

        failed = f"count by (namespace) ({finished('kube_job_failed')})"
        ended = f"count by (namespace) (({finished('kube_job_failed')}) or ({finished('kube_job_complete')}))"
        out.append(SLO(
            name="job-success", title="Job success", objective=m.slo_availability,
            error_query=failed, total_query=ended,
            description=f"{dec(m.slo_availability)}% of the CronJob's runs complete (kube-state-metrics Job status).",
            kind="jobs", rate_based=False))
    for extra in m.extra_slos:
        objective = Decimal(str(extra["objective"]))
        if "latency_ms" in extra:
            if _histogram(m) is None:
                raise ValueError(f"slos: {extra['name']}: latency_ms needs a service or worker histogram")
            le = le_label(Decimal(extra["latency_ms"]) / 1000)
            err, tot = _latency_queries(m, le)
            desc = extra.get("description") or f"{dec(objective)}% complete within {_ms(extra['latency_ms'])}."
            out.append(SLO(extra["name"], _title(extra["name"]), objective, err, tot, desc, "latency", le=le))
        else:
            desc = extra.get("description") or f"{dec(objective)}% good events ({extra['name']})."
            out.append(SLO(extra["name"], _title(extra["name"]), objective, extra["error_query"],
                           extra["total_query"], desc, "ratio"))
    return out


def _title(name: str) -> str:
    return name.replace("-", " ").capitalize()


def slo_window(m: ServiceModel) -> str:
    return f"{m.slo_window_days}d"


def sloth_spec(m: ServiceModel) -> dict[str, Any]:
    """observability/slo.yaml in Sloth's ``prometheus/v1`` format (rules are generated by scaffold).

    Keys are the JSON tags of Sloth's Go structs (pkg/prometheus/api/v1): snake_case. Its
    loader decodes through those structs and drops any other key silently."""
    slos = []
    for s in slos_for(m):
        slos.append({
            "name": s.name,
            "objective": s.objective,
            "description": s.description,
            "sli": {"events": {
                "error_query": s.errors_or_zero(WINDOW_PLACEHOLDER).replace(WINDOW_PLACEHOLDER, "{{.window}}"),
                "total_query": s.total_query.replace(WINDOW_PLACEHOLDER, "{{.window}}"),
            }},
            "alerting": {
                "name": f"{s.prefix}ErrorBudgetBurn",
                "labels": {"team": m.team, "slo": s.name},
                "annotations": {"runbook_url": m.runbook_url(f"{s.prefix}ErrorBudgetBurnPage")},
                "page_alert": {"labels": {"severity": "critical", "tier": "page"}},
                "ticket_alert": {"labels": {"severity": "warning", "tier": "ticket"}},
            },
        })
    return {"version": "prometheus/v1", "service": m.name,
            "labels": {"team": m.team, "service": m.name}, "slos": slos}


def sloth_spec_text(m: ServiceModel) -> str:
    """The spec with its window: prometheus/v1 has no field for it, Sloth takes it as a flag."""
    window = slo_window(m)
    head = (f"# Sloth prometheus/v1 SLO spec. SLO window: {window} (rolling).\n"
            f"# The rules in observability/prometheus/ are generated from it by scaffold; to compare with Sloth's:\n"
            f"#   sloth generate -i observability/slo.yaml --default-slo-period={window}\n")
    return head + yamlio.dump(sloth_spec(m))
