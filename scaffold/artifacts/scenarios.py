"""Detection scenarios: what the burn-rate alerts do under a given traffic pattern.

For every request SLO of a package, the same scenarios the SRE Workbook reasons
about (full outage, 20x and 10x burn, 5m and 1m spikes, a low-traffic outage,
one error at low traffic, idle minutes, a counter reset, a new service, a
missing threshold bucket). Each one is input series (alerts.slo_series) plus
the page and ticket timeline this module computes by evaluating the package's
rules the way Prometheus does (rate() with its extrapolation, sum_over_time,
``for:``). ``observability/prometheus/scenarios/*.test.yaml`` asserts that
timeline with promtool (silent the minute before each change, firing or
silent at it), and docs/slo.md prints the same figures: a figure in the docs
is one promtool has checked (``prometheus-scenarios`` checker,
tests/test_scenarios.py).

Windows are pre-filled with PREFILL_MINUTES of healthy traffic, so the page
windows (1h, 6h) are full when a scenario starts; the ticket windows (1d, 3d)
hold those 6 hours only, which makes ticket detection faster than with full
windows (the Workbook's figure assumes full ones). ErrorBudgetExhausted is not
part of the suite (it needs a workload older than slo.MIN_DATA_AGE).

The cronjob's job-success SLO has its own scenarios (job_scenarios: a failed run, every
run failing, one failure among frequent runs, failures then a success, idle, a new
CronJob), fed as kube-state-metrics Job series (alerts.job_runs_series) and evaluated by
_evaluate_jobs. The CronJobFailed/CronJobLastSuccessTooOld symptom alerts are not in it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache, reduce
from operator import add
from typing import Any

from ..model import slo
from ..model.service import ServiceModel, cached_per_model
from ..model.slo import SLO, dec
from . import alerts, prometheus
from .prometheus import RAW_WINDOWS

PREFILL_MINUTES = 360
TRAFFIC_PER_MINUTE = 1000
LOW_TRAFFIC_PER_HOUR = 50


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    errors: tuple[float, ...]  # per minute, from minute 1
    totals: tuple[float, ...]
    onset: int  # the minute the event starts (errors from onset+1)
    resets: tuple[int, ...] = ()
    missing_bucket: bool = False
    every: int = 0  # job SLOs: minutes between runs (errors/totals: runs failed/ended per minute)
    slot: int = 0  # job SLOs: which environment's namespace it runs in (see namespace())


@dataclass(frozen=True)
class Timeline:
    """Minutes (absolute, from the test's time 0) at which an alert starts and stops firing."""

    alert: str
    starts: tuple[int, ...]
    stops: tuple[int, ...]

    def detection(self, onset: int) -> int | None:
        later = [s for s in self.starts if s > onset]
        return later[0] - onset if later else None


def scenarios(m: ServiceModel, s: SLO) -> list[Scenario]:
    """The scenario list for one request SLO (burn ratios scaled to its error budget)."""
    if s.kind == "jobs":
        return job_scenarios(s)
    p, n = PREFILL_MINUTES, traffic_per_minute(s)

    def burst(ratio: float, minutes: int, after: int, traffic: float = n) -> Scenario:
        errors = [0.0] * p + [float(Decimal(traffic) * Decimal(repr(ratio)))] * minutes + [0.0] * after
        return errors, [float(traffic)] * (p + minutes + after)  # type: ignore[return-value]

    out: list[Scenario] = []

    def add(name: str, title: str, pair: Any, **kw: Any) -> None:
        errors, totals = pair
        out.append(Scenario(name, title, tuple(errors), tuple(totals), kw.pop("onset", p), **kw))

    add("full-outage", "every request fails", burst(1.0, 120, 0))
    add("burn-20x", "error ratio 20x the budget", burst(float(min(Decimal(1), 20 * s.budget)), 120, 0))
    add("burn-10x", "error ratio 10x the budget", burst(float(min(Decimal(1), 10 * s.budget)), 480, 0))
    add("spike-5m", "every request fails for 5 minutes", burst(1.0, 5, 115))
    add("spike-1m", "every request fails for 1 minute", burst(1.0, 1, 119))
    low = [float((k * LOW_TRAFFIC_PER_HOUR) // 60 - ((k - 1) * LOW_TRAFFIC_PER_HOUR) // 60) for k in range(1, 181)]
    add("low-traffic-outage", f"{LOW_TRAFFIC_PER_HOUR} requests an hour, all failing",
        ([0.0] * p + low, [1.0] * p + low))
    one = ([0.0] * p + [1.0] + [0.0] * 119, [1.0] * (p + 120))
    add("one-error-low-traffic", "one failed request among 60 an hour", one)
    idle = ([0.0] * p + [0.0] * 60 + [float(n)] * 60, [float(n)] * p + [0.0] * 60 + [float(n)] * 60)
    add("idle-then-outage", "an idle hour (no requests), then every request fails", idle, onset=p + 60)
    add("counter-reset", "healthy traffic, the pods restart (counters reset) twice", burst(0.0, 120, 0),
        resets=(p + 30, p + 31))
    new = ([float(n * 2 * s.budget)] * 240, [float(n)] * 240)
    add("new-service", "a new service (no history) at 2x the budget", new, onset=0)
    if s.kind == "latency":
        add("missing-bucket", "every request is slow, the histogram has no threshold bucket", burst(1.0, 60, 0),
            missing_bucket=True, onset=0)
    # one promtool test group runs them all side by side, one namespace each: same length
    length = max(len(x.errors) for x in out)
    return [replace(x, errors=x.errors + (x.errors[-1],) * (length - len(x.errors)),
                    totals=x.totals + (x.totals[-1],) * (length - len(x.totals))) for x in out]


RUN_EVERY_MINUTES = 15  # the job scenarios' cadence (runs finish at these minutes)
FREQUENT_RUN_MINUTES = 5
JOB_SCENARIO_MINUTES = 120
JOB_REPORTED_MINUTES = alerts.JOB_REPORTED_MINUTES


def job_scenarios(s: SLO) -> list[Scenario]:
    """The job-success SLO's scenarios: per minute, the runs that failed and that ended (a run
    ending at minute k is the Job whose kube-state-metrics condition series starts at k)."""
    p, after = PREFILL_MINUTES, JOB_SCENARIO_MINUTES
    length = p + after

    def runs(every: int, failed: set[int], stop: int = length) -> Any:
        # run k (k < 0: the healthy runs before the event) ends at list index p + k*every
        errors, totals = [0.0] * length, [0.0] * length
        for i in range(p % every, stop, every):
            totals[i] = 1.0
            errors[i] = 1.0 if (i - p) // every in failed else 0.0
        return errors, totals

    e = RUN_EVERY_MINUTES
    out: list[Scenario] = []

    def add(name: str, title: str, pair: Any, every: int = e, onset: int = p) -> None:
        out.append(Scenario(name, title, tuple(pair[0]), tuple(pair[1]), onset, every=every, slot=len(out)))

    add("failed-run", f"one run fails (a run every {e} minutes)", runs(e, {0}))
    add("repeated-failures", "every run fails", runs(e, set(range(after // e))))
    add("one-failure-among-many", f"one failed run among runs every {FREQUENT_RUN_MINUTES} minutes",
        runs(FREQUENT_RUN_MINUTES, {0}), every=FREQUENT_RUN_MINUTES)
    add("succeeds-after-failures", "3 runs fail, the next one succeeds", runs(e, {0, 1, 2}))
    add("idle", "no runs at all (suspended or not scheduled)", runs(e, set(), stop=p))
    errors, totals = [0.0] * length, [0.0] * length
    for i in range(0, length, e):
        totals[i] = 1.0
    errors[0] = 1.0
    add("new-cronjob", "a new CronJob (no history) whose first run fails", (errors, totals), onset=0)
    return out


def namespace(m: ServiceModel, sc: Scenario) -> str:
    if sc.every:  # job SLOs select the environments' namespaces exactly: one scenario per environment
        envs = m.environments[::-1]
        return envs[sc.slot % len(envs)].namespace
    return f"{m.production.namespace}-{sc.name}"


def traffic_per_minute(s: SLO) -> int:
    """Requests per minute: at least TRAFFIC_PER_MINUTE, and enough that every scenario's errors
    per minute are whole numbers (counters stay exact in promtool and here)."""
    n = TRAFFIC_PER_MINUTE
    ratios = [min(Decimal(1), k * s.budget) for k in (20, 10, 2)]
    while any((r * n) != (r * n).to_integral_value() for r in ratios):
        n *= 10
    return n


def inputs(m: ServiceModel, s: SLO, sc: Scenario) -> list[dict[str, str]]:
    if s.kind == "jobs":
        return alerts.job_runs_series(m, namespace(m, sc), list(sc.errors), list(sc.totals))
    le = None
    if sc.missing_bucket:
        le = "0.5" if s.le == "0.25" else "0.25"
    series = alerts.slo_series(m, s, namespace(m, sc), list(sc.errors), list(sc.totals), sc.resets, le=le)
    if sc.missing_bucket:  # every request slower than any bucket it has (only +Inf would count them)
        series[0] = {**series[0], "values": alerts.values([0.0] * (len(sc.errors) + 1))}
    return series


# -- Prometheus' evaluation, for the rule shapes scaffold generates -----------------
def _resets(values: list[float]) -> list[int]:
    """The minutes whose sample is below the one before (a counter reset)."""
    return [i for i in range(1, len(values)) if values[i] < values[i - 1]]


def _rate(values: list[float], t: int, minutes: int, resets: list[int]) -> float | None:
    """rate(counter[<minutes>m]) at minute t, 1-minute samples from minute 0 (promql extrapolatedRate).

    ``resets`` (:func:`_resets` of ``values``) saves the walk over the window: the same
    additions, in the same order, as Prometheus' loop that adds the value before each reset."""
    lo = max(0, t - minutes)
    count = t + 1 - lo
    if count < 2:
        return None
    first = values[lo]
    result = values[t] - first
    for i in resets[bisect_right(resets, lo):bisect_right(resets, t)]:
        result += values[i - 1]
    range_s = minutes * 60
    first_t, last_t = lo * 60, t * 60
    start = (t - minutes) * 60
    to_start: float
    to_start, to_end = first_t - start, 0
    sampled = last_t - first_t
    avg = sampled / (count - 1)
    if result > 0 and first >= 0:
        to_zero = sampled * (first / result)
        to_start = min(to_start, to_zero)
    threshold = avg * 1.1
    interval = sampled + (to_start if to_start < threshold else avg / 2) + (to_end if to_end < threshold else avg / 2)
    return result * (interval / sampled) / range_s


class _Eval:
    """The recorded series and ratios of one SLO under one scenario, minute by minute."""

    def __init__(self, kind: str, sc: Scenario) -> None:
        self.kind, self.sc = kind, sc
        self.cache: dict[tuple[str, int, int], float | None] = {}
        self.sums: dict[tuple[str, int, int], float | None] = {}
        self.steps = len(sc.errors) + 1
        self.errors = alerts.cumulative(list(sc.errors), sc.resets)
        self.good = alerts.cumulative([t - e for e, t in zip(sc.errors, sc.totals)], sc.resets)
        self.totals = alerts.cumulative(list(sc.totals), sc.resets)
        self.resets = (_resets(self.errors), _resets(self.good), _resets(self.totals))
        if kind == "ratio":
            def rate5m(xs: tuple[float, ...]) -> list[float | None]:
                return [None] + [sum(xs[max(0, i - 4):i + 1]) / 300 for i in range(len(xs))]
            self.err5m, self.tot5m = rate5m(sc.errors), rate5m(sc.totals)
        else:
            self.err5m = [self.raw_errors(t, 5) for t in range(self.steps)]
            self.tot5m = [self.raw_total(t, 5) for t in range(self.steps)]
        # absent samples add nothing (x + 0.0 == x): sums stay Prometheus' left-to-right sums
        self.err0 = [0.0 if x is None else x for x in self.err5m]
        self.tot0 = [0.0 if x is None else x for x in self.tot5m]
        self.err_n = _counts(self.err5m)
        self.tot_n = _counts(self.tot5m)
        # Left-to-right running sums: a window that starts at minute 0 is one of them, the very
        # additions a sum over it makes (1d and longer windows, in these scenarios).
        self.err_run = _running(self.err0)
        self.tot_run = _running(self.tot0)
        # Where each minute's run of equal values starts: scenarios hold a rate for hours, so
        # most windows lie inside one run, and their sum depends only on the value and length.
        self.err_from, self.tot_from = _run_starts(self.err0), _run_starts(self.tot0)
        self.flat: dict[tuple[float, int], float] = {}

    def window_sum(self, which: str, t: int, minutes: int) -> float | None:
        key = (which, t, minutes)  # the guard sums the long window its ratio already summed
        if key not in self.sums:
            self.sums[key] = self._window_sum(which, t, minutes)
        return self.sums[key]

    def _window_sum(self, which: str, t: int, minutes: int) -> float | None:
        if which == "err":
            xs, n, run, starts = self.err0, self.err_n, self.err_run, self.err_from
        else:
            xs, n, run, starts = self.tot0, self.tot_n, self.tot_run, self.tot_from
        lo = max(0, t - minutes)
        if n[t + 1] - n[lo] == 0:
            return None
        # Plain left-to-right additions, as Prometheus' sum_over_time makes them (sum() is
        # compensated from Python 3.12 on, so it is not used: output must not vary with it).
        if lo == 0:
            return run[t]
        if starts[t] <= lo:  # every value in the window equals xs[t]: the same additions as any such window
            key = (xs[t], t + 1 - lo)
            found = self.flat.get(key)
            if found is None:
                found = self.flat[key] = reduce(add, xs[lo:t + 1], 0.0)
            return found
        return reduce(add, xs[lo:t + 1], 0.0)

    def raw_total(self, t: int, minutes: int) -> float | None:
        key = ("tot", t, minutes)
        if key not in self.cache:
            self.cache[key] = self._raw_total(t, minutes)
        return self.cache[key]

    def raw_errors(self, t: int, minutes: int) -> float | None:
        key = ("err", t, minutes)
        if key not in self.cache:
            self.cache[key] = self._raw_errors(t, minutes)
        return self.cache[key]

    def _raw_total(self, t: int, minutes: int) -> float | None:
        if self.kind == "availability":  # sum by (namespace) over the 500 and the 200 series
            e, g = _rate(self.errors, t, minutes, self.resets[0]), _rate(self.good, t, minutes, self.resets[1])
            return None if e is None or g is None else e + g
        return _rate(self.totals, t, minutes, self.resets[2])  # latency: the _count series

    def _raw_errors(self, t: int, minutes: int) -> float | None:
        if self.kind == "availability":
            return _rate(self.errors, t, minutes, self.resets[0])
        total = _rate(self.totals, t, minutes, self.resets[2])
        good = None if self.sc.missing_bucket else _rate(self.good, t, minutes, self.resets[1])
        return None if total is None or good is None else total - good

    def ratio(self, t: int, window: str, minutes: int | None = None) -> float | None:
        """The SLI ratio over ``window`` at minute t (``minutes``: the window's length, when known)."""
        if minutes is None:
            minutes = slo.window_seconds(window) // 60
        if minutes == 5:
            e, n = self.err5m[t], self.tot5m[t]
        elif window in RAW_WINDOWS and self.kind != "ratio":
            e, n = self.raw_errors(t, minutes), self.raw_total(t, minutes)
        else:
            e, n = self.window_sum("err", t, minutes), self.window_sum("tot", t, minutes)
        if e is None or n is None:
            return None
        if n == 0:
            return math.nan if e == 0 else math.copysign(math.inf, e)
        return e / n


def _running(xs: list[float]) -> list[float]:
    """running[t]: xs[0] + ... + xs[t], added left to right."""
    out: list[float] = []
    total = 0.0
    for x in xs:
        total += x
        out.append(total)
    return out


def _run_starts(xs: list[float]) -> list[int]:
    """starts[t]: the first minute of the run of values equal to xs[t] that ends at t
    (equal floats add alike: 0.0 and -0.0 are the only equal pair with two spellings,
    and both add nothing to a sum that starts at 0.0; NaN equals nothing, so it is a run of one)."""
    out: list[int] = []
    for i, x in enumerate(xs):
        out.append(out[-1] if i and xs[i - 1] == x else i)
    return out


def _counts(xs: list[float | None]) -> list[int]:
    out = [0]
    for x in xs:
        out.append(out[-1] + (x is not None))
    return out


def values_per_minute(m: ServiceModel, s: SLO, sc: Scenario) -> dict[str, list[float | None]]:
    """Per minute: each alert expression's value (None: no sample), before ``for:``."""
    pairs = tuple((w.tier, w.short, w.long, float(t)) for w, t in s.thresholds(m.slo_window_days))
    if s.kind == "jobs":
        page, ticket = _evaluate_jobs(pairs, sc)
        return {f"{s.prefix}ErrorBudgetBurnPage": page, f"{s.prefix}ErrorBudgetBurnTicket": ticket}
    page, ticket, absent = _evaluate(s.kind, pairs, sc)
    return {f"{s.prefix}ErrorBudgetBurnPage": page, f"{s.prefix}ErrorBudgetBurnTicket": ticket,
            f"{s.prefix}SLIAbsent": absent}


@lru_cache(maxsize=512)
def _evaluate(kind: str, pairs: tuple[tuple[str, str, str, float], ...], sc: Scenario) -> tuple[list[float | None], ...]:
    """Cached on what the timelines depend on: SLOs of one kind and objective share it."""
    ev = _Eval(kind, sc)
    out = []
    for tier in (alerts.PAGE, alerts.TICKET):
        own = [(short, slo.window_seconds(short) // 60, long, slo.window_seconds(long) // 60, thr)
               for w_tier, short, long, thr in pairs if w_tier == tier]
        vals: list[float | None] = []
        for t in range(ev.steps):
            value = None
            for short, short_minutes, long, long_minutes, thr in own:  # `or`: the first pair that holds gives the value
                # `and` in PromQL keeps a sample only where every side has one: the short
                # window decides most minutes, so the long window and guard are read only then
                rs = ev.ratio(t, short, short_minutes)
                if rs is None or not rs > thr:
                    continue
                rl = ev.ratio(t, long, long_minutes)
                if rl is None or not rl > thr:
                    continue
                if (ev.window_sum("err", t, long_minutes) or 0.0) * 60 >= slo.MIN_BAD_EVENTS:
                    value = rs
                    break
            vals.append(value)
        out.append(vals)
    # SLIAbsent: traffic recorded, SLI not (the scenarios have no `up` series)
    out.append([ev.tot5m[t] if ev.tot5m[t] is not None and ev.ratio(t, "5m") is None else None
                for t in range(ev.steps)])
    return tuple(out)


@lru_cache(maxsize=64)
def _evaluate_jobs(pairs: tuple[tuple[str, str, str, float], ...], sc: Scenario) -> tuple[list[float | None], ...]:
    """The job SLO's windows count runs whose condition series starts inside (t - w, t]
    (``max_over_time(..[w]) unless .. offset w``); the ratio is failed / ended, 0 where runs
    ended and none failed, no sample where none ended. No bad-events guard (not rate based)."""
    failed, ended = alerts.cumulative(list(sc.errors)), alerts.cumulative(list(sc.totals))

    def ratio(t: int, window: str) -> float | None:
        lo = max(0, t - slo.window_seconds(window) // 60)
        n = ended[t] - ended[lo]
        return None if n == 0 else (failed[t] - failed[lo]) / n

    out = []
    for tier in (alerts.PAGE, alerts.TICKET):
        vals: list[float | None] = []
        for t in range(len(sc.errors) + 1):
            value = None
            for w_tier, short, long, thr in pairs:
                if w_tier != tier:
                    continue
                rs, rl = ratio(t, short), ratio(t, long)
                if rs is not None and rl is not None and rs > thr and rl > thr:
                    value = rs
                    break
            vals.append(value)
        out.append(vals)
    return tuple(out)


def _for_minutes(m: ServiceModel, name: str) -> int:
    alert = next(a for a in alerts.alerts(m) if a.name == name)
    return slo.window_seconds(alert.for_) // 60 if alert.for_ not in ("0m", "0s") else 0


def timelines(m: ServiceModel, s: SLO, sc: Scenario) -> list[Timeline]:
    return [tl for tl, _ in _timelines(m, s, sc)]


def _timelines(m: ServiceModel, s: SLO, sc: Scenario) -> list[tuple[Timeline, list[float | None]]]:
    out = []
    for name, vals in values_per_minute(m, s, sc).items():
        hold = _for_minutes(m, name)
        firing, active_since = [], None
        for t, v in enumerate(vals):
            active_since = (t if active_since is None else active_since) if v is not None else None
            firing.append(active_since is not None and t - active_since >= hold)
        starts = tuple(t for t in range(len(firing)) if firing[t] and (t == 0 or not firing[t - 1]))
        stops = tuple(t for t in range(1, len(firing)) if not firing[t] and firing[t - 1])
        out.append((Timeline(name, starts, stops), vals))
    return out


def budget_spent(m: ServiceModel, s: SLO, sc: Scenario, minutes: int) -> Decimal:
    """Share of the window's error budget the errors from onset to onset+minutes are, at the
    scenario's traffic (Workbook: budget consumed before the alert fires)."""
    errors = sum(sc.errors[sc.onset:sc.onset + minutes])
    traffic = max(sc.totals[sc.onset:sc.onset + max(1, minutes)] or (1.0,)) or 1.0
    if sc.every:  # job SLOs: runs per minute at the scenario's cadence
        traffic = 1 / sc.every
    allowed = float(s.budget) * traffic * m.slo_window_days * 24 * 60
    return Decimal(repr(round(100 * errors / allowed, 2))).normalize()


# -- the promtool files ---------------------------------------------------------------
def slos(m: ServiceModel, extra: bool = False) -> list[SLO]:
    """The request SLOs the package's suite and docs cover: the blueprint's own. Extra SLOs
    (the ``slos`` answer) share their rule shapes (ratio: the recorded 5m rates; latency: the
    same histogram), so a package with many would pay seconds of rendering and megabytes
    of test files for timelines it already has; ``extra=True`` includes them (tests)."""
    own = {s["name"] for s in m.extra_slos}
    return [s for s in slo.slos_for(m) if (s.rate_based or s.kind == "jobs") and (extra or s.name not in own)]


def file_names(m: ServiceModel, extra: bool = False) -> list[str]:
    return [f"{s.name}.test.yaml" for s in slos(m, extra)]


def _checks(tl: Timeline, horizon: int) -> list[tuple[int, bool]]:
    """(minute, firing?) pairs that pin the timeline: each change, and the minute before it."""
    pts: dict[int, bool] = {}
    for t in tl.starts:
        pts[t] = True
        if t > 0:
            pts[t - 1] = False
    for t in tl.stops:
        pts[t] = False
        pts[t - 1] = True
    if not tl.starts:
        for t in range(60, horizon + 1, 60):
            pts[t] = False
        pts[horizon] = False
    return sorted(pts.items())


def test_file(m: ServiceModel, file_name: str) -> dict[str, Any]:
    """One test group: every scenario in its own namespace, evaluated together (one TSDB, one
    pass over the minutes; job SLOs: a group per as many scenarios as environments, their
    rules select the environments' namespaces exactly); each alert is checked the minute before and at every change of
    any scenario's timeline, and hourly for scenarios where it never fires."""
    s = next(x for x in slos(m, extra=True) if f"{x.name}.test.yaml" == file_name)
    runs = _runs(m, s.name)
    # job SLOs select the environments' namespaces exactly: a test group per as many scenarios
    k = len(m.environments) if s.kind == "jobs" else len(runs)
    batches = [runs[i:i + k] for i in range(0, len(runs), k)]
    tests = [_test_group(m, s, batch) for batch in batches]
    part = prometheus._part_of(m, s.name)
    # recording groups before the alert groups, every minute (promtool's order is otherwise unspecified)
    order = [g["name"] for g in prometheus.groups(m, part)]
    return {"rule_files": [f"../{prometheus.rule_file_name(m, part)}"], "evaluation_interval": prometheus.EVALUATION_INTERVAL,
            "group_eval_order": order,
            "tests": tests}


def _test_group(m: ServiceModel, s: SLO, runs: list[Any]) -> dict[str, Any]:
    horizon = len(runs[0][0].errors)
    series: list[dict[str, str]] = []
    names = []
    points: dict[str, set[int]] = {}
    for sc, tls in runs:
        series += inputs(m, s, sc)
        names.append(f"{sc.name} ({sc.title}): " + "; ".join(f"{tl.alert} {describe(tl, sc.onset)}" for tl, _ in tls))
        for tl, _ in tls:
            points.setdefault(tl.alert, set()).update(t for t, _ in _checks(tl, horizon))
    cases = []
    for alert_name, minutes in points.items():
        alert = next(a for a in alerts.alerts(m) if a.name == alert_name)
        for t in sorted(minutes):
            exp = [_expected(m, alert, namespace(m, sc), vals[t]) for sc, tls in runs for tl, vals in tls
                   if tl.alert == alert_name and _firing_at(tl, t)]
            cases.append({"eval_time": f"{t}m", "alertname": alert_name, "exp_alerts": exp})
    return {"name": " | ".join(names), "interval": "1m", "input_series": series, "alert_rule_test": cases}


@cached_per_model()
def _runs(m: ServiceModel, slo_name: str) -> list[tuple[Scenario, list[tuple[Timeline, list[float | None]]]]]:
    """Each scenario of an SLO with its timelines (computed once per render: docs and tests share it)."""
    s = next(x for x in slos(m, extra=True) if x.name == slo_name)
    return [(sc, _timelines(m, s, sc)) for sc in scenarios(m, s)]


def _firing_at(tl: Timeline, t: int) -> bool:
    started = [x for x in tl.starts if x <= t]
    stopped = [x for x in tl.stops if x <= t]
    return bool(started) and (not stopped or max(stopped) < max(started))


def _expected(m: ServiceModel, alert: Any, ns: str, value: float | None) -> dict[str, Any]:
    labels = {"namespace": ns, "service": m.name, "slo": alert.slo}
    return alerts._expected(alert.labels, alert.annotations, labels, float(value or 0))


def describe(tl: Timeline, onset: int) -> str:
    if not tl.starts:
        return "never fires"
    parts = [f"fires at +{t - onset}m" for t in tl.starts]
    parts += [f"stops at +{t - onset}m" for t in tl.stops]
    return ", ".join(parts)


def test_file_text(m: ServiceModel, file_name: str) -> str:
    from .. import yamlio

    return yamlio.dump_plain(test_file(m, file_name))


# -- the figures docs/slo.md prints ------------------------------------------------------
def workbook_minutes(m: ServiceModel, s: SLO, tier: str, error_ratio: float) -> Decimal | None:
    """The Workbook's detection time: the first pair whose threshold the ratio exceeds fires after
    threshold x long window / error ratio (no `for:`, full windows of good traffic)."""
    best = None
    for w, t in s.thresholds(m.slo_window_days):
        if w.tier == tier and error_ratio > float(t):
            minutes = float(t) * slo.window_seconds(w.long) / 60 / error_ratio
            best = minutes if best is None else min(best, minutes)
    return None if best is None else Decimal(repr(round(best, 1))).normalize()


def rows(m: ServiceModel) -> list[dict[str, str]]:
    """One row per SLO x scenario: measured page/ticket detection, budget spent, Workbook figure."""
    out = []
    for s in slos(m):
        for sc, runs in _runs(m, s.name):
            tls = {tl.alert: tl for tl, _ in runs}
            row = {"slo": s.name, "scenario": sc.name, "title": sc.title}
            ratio = max((e / t for e, t in zip(sc.errors[sc.onset:], sc.totals[sc.onset:]) if t), default=0.0)
            for tier in (alerts.PAGE, alerts.TICKET):
                tl = tls[f"{s.prefix}ErrorBudgetBurn{tier.capitalize()}"]
                d = tl.detection(sc.onset)
                row[tier] = "never" if d is None else f"{d} min"
                row[f"{tier}_budget"] = "" if d is None else f"{dec(budget_spent(m, s, sc, d))}%"
                sustained = sc.name in ("full-outage", "burn-20x", "burn-10x", "repeated-failures")
                wb = workbook_minutes(m, s, tier, ratio) if sustained else None
                row[f"{tier}_workbook"] = "" if wb is None else f"{dec(wb)} min"
            starts = tls[f"{s.prefix}SLIAbsent"].starts if f"{s.prefix}SLIAbsent" in tls else ()
            row["absent"] = f"{s.prefix}SLIAbsent at {starts[0]} min" if sc.missing_bucket and starts else ""
            out.append(row)
    return out
