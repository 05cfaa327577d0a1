"""promtool test-series synthesis: exact per-minute counts for a ratio, promtool's
expanding notation, cumulative counters, the SLO and job-run series and the age guard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal

from ...conventions import SLI_ERROR_RATE5M, SLI_TOTAL_RATE5M
from ...model import slo
from ...model.service import ServiceModel
from ...model.slo import SLO, dec
from .common import _ns_sel
from .types import MIN_TEST_TOTAL_DIGITS


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _ceil_1sig(x: Decimal) -> Decimal:
    """The smallest one-significant-digit number >= x (0.0288 -> 0.03): values print exactly."""
    q = Decimal(1).scaleb(x.adjusted())
    return ((x / q).to_integral_value(rounding=ROUND_CEILING) * q).normalize()


def _per_minute(ratio: Decimal) -> tuple[int, int]:
    """(errors, total) per minute with errors/total == ratio exactly and total >= 100."""
    exp = -int(ratio.normalize().as_tuple().exponent)
    total = 10 ** max(MIN_TEST_TOTAL_DIGITS, exp)
    return int(ratio * total), total


def _just_under(t: Decimal) -> tuple[int, int]:
    """(errors, total) per minute whose ratio sits just under threshold t."""
    total = 10 ** max(MIN_TEST_TOTAL_DIGITS, math.ceil(math.log10(float(10 / t))))
    return int((t * total).to_integral_value(rounding=ROUND_CEILING)) - 1, total


def _steps(eval_minutes: int) -> int:
    return eval_minutes + 5


def _dur(minutes: int) -> str:
    return f"{minutes}m"


# Runbook commands run in the namespace the alert fired in (its `namespace` label), set
# once by namespace_step; the deploy branch of that environment follows from it.
def values(points: Sequence[float | None]) -> str:
    """promtool's expanding notation for a series: runs of a constant step become ``a+bxn``;
    None is a missing sample (``_``)."""
    out: list[str] = []
    i = 0
    while i < len(points):
        if points[i] is None:
            j = i
            while j + 1 < len(points) and points[j + 1] is None:
                j += 1
            out.append("_" if j == i else f"_x{j - i + 1}")
            i = j + 1
            continue
        j = i
        step = points[i + 1] - points[i] if i + 1 < len(points) and points[i + 1] is not None else 0  # type: ignore[operator]
        # a+bxn is expanded by promtool in floating point: only whole numbers (or a constant) stay exact
        exact = step == 0 or (float(points[i]).is_integer() and float(step).is_integer())  # type: ignore[arg-type]
        while (exact and j + 1 < len(points) and points[j + 1] is not None
               and points[j + 1] - points[j] == step):  # type: ignore[operator]
            j += 1
        out.append(f"{_num(points[i])}+{_num(step)}x{j - i}" if j > i else _num(points[i]))
        i = j + 1
    return " ".join(out)


def _num(v: float | None) -> str:
    d = Decimal(repr(float(v)))  # type: ignore[arg-type]
    return dec(d) if d == d.to_integral_value() or len(dec(d)) < 18 else repr(float(v))  # type: ignore[arg-type]


def cumulative(increments: list[float], resets: tuple[int, ...] = ()) -> list[float]:
    """Counter values from per-step increments, restarting from 0 at the steps in ``resets``."""
    out, acc = [0.0], 0.0
    for i, inc in enumerate(increments, start=1):
        acc = inc if i in resets else acc + inc
        out.append(acc)
    return out


def slo_series(m: ServiceModel, s: SLO, ns: str, errors: list[float], totals: list[float],
               resets: tuple[int, ...] = (), le: str | None = None) -> list[dict[str, str]]:
    """Input series for an SLO from per-minute error and total counts (one list entry per minute).

    Availability and latency SLOs get the raw counters the rules select; ratio SLOs run user
    PromQL, so they get the recorded 5m rates that every window and alert reads."""
    base = {"job": m.name, "namespace": ns}
    good = [t - e for e, t in zip(errors, totals)]
    if s.kind == "availability":
        if m.blueprint == "service":
            common = {**base, "method": "GET", "route": "/"}
            return [_series("http_requests_total", {**common, "code": "500"}, values(cumulative(errors, resets))),
                    _series("http_requests_total", {**common, "code": "200"}, values(cumulative(good, resets)))]
        return [_series("worker_jobs_total", {**base, "outcome": "error"}, values(cumulative(errors, resets))),
                _series("worker_jobs_total", {**base, "outcome": "success"}, values(cumulative(good, resets)))]
    if s.kind == "latency":
        h = slo._histogram(m)
        return [_series(f"{h}_bucket", {**base, "le": le or s.le}, values(cumulative(good, resets))),
                _series(f"{h}_count", base, values(cumulative(totals, resets)))]
    lab = {"namespace": ns, "service": m.name, "slo": s.name}

    def rate5m(xs: list[float]) -> list[float | None]:
        return [None] + [sum(xs[max(0, i - 4):i + 1]) / 300 for i in range(len(xs))]

    return [_series(SLI_ERROR_RATE5M, lab, values(rate5m(errors))),
            _series(SLI_TOTAL_RATE5M, lab, values(rate5m(totals)))]


JOB_REPORTED_MINUTES = 30


def job_runs_series(m: ServiceModel, ns: str, failed: list[float], ended: list[float]) -> list[dict[str, str]]:
    """kube-state-metrics Job series for runs ending at given minutes (list index i: minute i+1):
    one Job per run, ``kube_job_failed`` or ``kube_job_complete`` with condition="true" from
    the minute it ended, for JOB_REPORTED_MINUTES (the CronJob's history limit deletes it; the
    SLO's windows still count it: ``max_over_time`` sees its samples). The job-success SLO's
    scenarios; shorter series keep promtool's 3d windows cheap."""
    steps = len(ended)
    out = []
    for i, (f, n) in enumerate(zip(failed, ended)):
        if n:
            at = i + 1
            metric = "kube_job_failed" if f else "kube_job_complete"
            keep = min(JOB_REPORTED_MINUTES, steps - at)
            out.append(_series(metric, {"namespace": ns, "job_name": f"{m.name}-{at}", "condition": "true"},
                               f"_x{at} 1+0x{keep}"))
    return out


def _slo_inputs(m: ServiceModel, s: SLO, errors: int, total: int, steps: int, ns: str) -> list[dict[str, str]]:
    """Raw series that make the SLO's error ratio errors/total (per interval step)."""
    return slo_series(m, s, ns, [errors] * steps, [total] * steps)


def _job_inputs(m: ServiceModel, ns: str, failed: bool, steps: int) -> list[dict[str, str]]:
    """Run -1 completes at minute 1, run -2 fails (or completes) at minute 2; both stay reported."""
    def cond(metric: str, job: str, at: int) -> dict[str, str]:
        return _series(metric, {"namespace": ns, "job_name": f"{m.name}-{job}", "condition": "true"},
                       f"_x{at} 1+0x{steps - at}")
    return [cond("kube_job_complete", "1", 1), cond("kube_job_failed" if failed else "kube_job_complete", "2", 2),
            _series("kube_cronjob_created", {"namespace": ns, "cronjob": m.name}, f"{OLD_WORKLOAD}+0x{steps}")]


OLD_WORKLOAD = -300000  # a creation timestamp older than MIN_DATA_AGE at the tests' time 0


def age_guard(m: ServiceModel) -> str:
    """The workload (whose SLI this is) exists for at least MIN_DATA_AGE: kube-state-metrics' creation time."""
    if m.blueprint == "cronjob":
        metric, sel = "kube_cronjob_created", f'cronjob="{m.name}"'
    else:
        metric, sel = "kube_deployment_created", f'deployment="{m.name}"'
    secs = slo.window_seconds(slo.MIN_DATA_AGE)
    return f"max by (namespace) ({metric}{{{_ns_sel(m)},{sel}}}) < time() - {secs}"


def _age_series(m: ServiceModel, ns: str, steps: int) -> dict[str, str]:
    if m.blueprint == "cronjob":
        return _series("kube_cronjob_created", {"namespace": ns, "cronjob": m.name}, f"{OLD_WORKLOAD}+0x{steps}")
    return _series("kube_deployment_created", {"namespace": ns, "deployment": m.name}, f"{OLD_WORKLOAD}+0x{steps}")
