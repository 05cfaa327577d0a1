"""The SLO family: multi-window burn-rate pages and tickets, the SLI-absent alert and
the exhausted budget, each with its rule, runbook, test cases and panel.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...conventions import (
    BUDGET_REMAINING,
    PAGE,
    SEVERITY,
    SLI_ERROR_RATE5M,
    SLI_ERROR_RATIO_5M,
    SLI_TOTAL_RATE5M,
    TICKET,
    sli_error_ratio,
)
from ...model import slo
from ...model.service import ServiceModel
from ...model.slo import SLO, dec
from .common import (
    NS_VAR,
    _annotations,
    _criteria,
    _escalation,
    _expected,
    _kubectl_basics,
    _labels,
    _metrics_forward,
    _rollback,
    _with_cases,
)
from .series import (
    _age_series,
    _ceil_1sig,
    _dur,
    _job_inputs,
    _just_under,
    _per_minute,
    _series,
    _slo_inputs,
    _steps,
    age_guard,
    slo_series,
)
from .types import BURN_FOR, FIRE_AT, SLI_ABSENT_FOR, Alert, Case


# -- SLO alerts -----------------------------------------------------------------
def _slo_sel(m: ServiceModel, s: SLO) -> str:
    return f'{{service="{m.name}",slo="{s.name}"}}'


def _burn_expr(m: ServiceModel, s: SLO, tier: str) -> str:
    sel = _slo_sel(m, s)
    parts = []
    for w, t in s.thresholds(m.slo_window_days):
        if w.tier != tier:
            continue
        cond = (f"{sli_error_ratio(w.short)}{sel} > {dec(t)}\n"
                f"  and {sli_error_ratio(w.long)}{sel} > {dec(t)}")
        if s.rate_based:
            cond += f"\n  and {bad_events(sel, w.long)} >= {slo.MIN_BAD_EVENTS}"
        parts.append(f"(\n  {cond}\n)")
    return "\nor\n".join(parts)


def burn_panel(s: SLO, sel: str, windows: list[slo.BurnWindow]) -> dict[str, Any]:
    """The dashboard panel of a burn-rate alert: the burn rate over exactly the short and long
    windows of each of its pairs (the windows _burn_expr compares), and each pair's factor as
    a threshold line. Burn rate = error ratio / error budget, so the line sits where the
    alert's ratio threshold (factor x budget) does."""
    targets, seen = [], set()
    for w in windows:
        for win in (w.short, w.long):
            if win not in seen:
                seen.add(win)
                targets.append((f"{sli_error_ratio(win)}{sel} / {dec(s.budget)}", f"burn {win}"))
    return {"title": f"{s.title} burn rate", "expr": targets[0][0], "unit": "none", "targets": tuple(targets),
            "thresholds": tuple((w.factor, f"{w.short}/{w.long} {dec(w.factor)}x") for w in windows)}


def bad_events(sel: str, window: str) -> str:
    """Bad events in a window, from the recorded 5m error rate: each 1-minute sample is
    errors per second over 5 minutes, so 60 x their sum over the window counts the errors."""
    return f"sum_over_time({SLI_ERROR_RATE5M}{sel}[{window}]) * 60"


def _burn_cases(m: ServiceModel, s: SLO, tier: str, labels: dict[str, str], ann: dict[str, str]) -> tuple[Case, ...]:
    ns = m.production.namespace
    ts = [t for w, t in s.thresholds(m.slo_window_days) if w.tier == tier]
    slo_labels = {"namespace": ns, "service": m.name, "slo": s.name}
    fire_at = FIRE_AT
    if s.kind == "jobs":
        fire = _job_inputs(m, ns, True, 40)
        at, later = ("4m", "35m") if tier == PAGE else (_dur(fire_at), "10m")
        return (
            Case(True, "one of two runs failed", "1m", tuple(fire), at, (_expected(labels, ann, slo_labels, 0.5),)),
            Case(False, "the failed run left both short windows" if tier == PAGE else "inside for:", "1m",
                 tuple(fire), later),
            Case(False, "no run failed", "1m", tuple(_job_inputs(m, ns, False, 40)), at),
        )
    ratio = fire_ratio(m, s)
    e, n = _per_minute(ratio)
    ue, un = _just_under(min(ts))
    steps = _steps(fire_at)
    return (
        Case(True, f"error ratio {dec(ratio)} above the {tier} thresholds", "1m",
             tuple(_slo_inputs(m, s, e, n, steps, ns)), _dur(fire_at),
             (_expected(labels, ann, slo_labels, float(ratio)),)),
        Case(False, f"error ratio {ue}/{un}, just under the lowest {tier} threshold {dec(min(ts))}", "1m",
             tuple(_slo_inputs(m, s, ue, un, steps, ns)), _dur(fire_at)),
        Case(False, f"one failed request among 60 an hour (fewer than {slo.MIN_BAD_EVENTS} bad events)",
             "1m", tuple(_low_traffic(m, s, ns)), "75m"),
    )


def fire_ratio(m: ServiceModel, s: SLO) -> Decimal:
    """One error ratio that fires page, ticket and exhausted alike (so their cases share input)."""
    page_max = max(t for w, t in s.thresholds(m.slo_window_days) if w.tier == PAGE)
    return min(Decimal(1), _ceil_1sig(2 * page_max))


def _low_traffic(m: ServiceModel, s: SLO, ns: str) -> list[dict[str, str]]:
    """One request a minute for 80 minutes, the one at minute 70 failing."""
    return slo_series(m, s, ns, [1 if i == 70 else 0 for i in range(1, 81)], [1] * 80)


def _slo_alerts(m: ServiceModel, s: SLO) -> list[Alert]:
    window = slo.slo_window(m)
    sel = _slo_sel(m, s)
    out = []
    for tier in (PAGE, TICKET):
        name = f"{s.prefix}ErrorBudgetBurn{tier.capitalize()}"
        tiers = [(w, t) for w, t in s.thresholds(m.slo_window_days) if w.tier == tier]
        pairs = ", ".join(f"{w.short}/{w.long} > {dec(t)} ({dec(w.factor)}x)" for w, t in tiers)
        labels = _labels(m, tier, s.name)
        ann = _annotations(
            m, name,
            f"{m.name}: {s.title} SLO error budget burning fast" if tier == PAGE
            else f"{m.name}: {s.title} SLO error budget burning",
            f"{s.title} error ratio is {{{{ $value | humanizePercentage }}}} in {{{{ $labels.namespace }}}} "
            f"(objective {dec(s.objective)}% over {window}; burn thresholds {pairs}).",
            "slo")
        ratio_q = f"{SLI_ERROR_RATIO_5M}{sel}"
        runbook = {
            "meaning": (f"The {s.title} SLO of {m.name} ({s.description}) is consuming its {window} error budget "
                        f"too fast: the error ratio is above {pairs} over both windows of a pair"
                        + (f", with at least {slo.MIN_BAD_EVENTS} bad events in the long window." if s.rate_based else ".")),
            "impact": ("At this burn rate the whole error budget is gone within days: users see errors now."
                       if tier == PAGE else
                       "A slow, sustained burn: left alone it exhausts the error budget before the window ends."),
            "diagnosis": (
                "Current error ratio and burn rate per window:\n\n"
                f"```promql\n{ratio_q}\n{ratio_q} / {dec(s.budget)}\n"
                f"{BUDGET_REMAINING}{sel}\n```\n\n"
                f"Raw SLI (5m):\n\n```promql\n{s.error_ratio('5m')}\n```\n\n"
                "Did it start with a deploy? Pods, events and logs:\n\n" + _kubectl_basics(m)),
            "mitigation": _rollback(m) +
                          ("3. If a dependency is failing, fail over or shed load; scale out if saturated "
                           f"(`kubectl -n {NS_VAR} get hpa {m.name}`)." if m.scales else
                           "3. If a dependency is failing, let the next runs wait for it (the schedule retries) "
                           "or pause them through git (`suspend: true`) until it recovers."),
            "escalation": _escalation(m, tier),
        }
        out.append(Alert(
            name=name, severity=SEVERITY[tier], tier=tier, slo=s.name, expr=_burn_expr(m, s, tier),
            for_=BURN_FOR[tier], labels=labels, annotations=ann, runbook=runbook,
            panel=burn_panel(s, sel, [w for w, _ in tiers]),
            backlog_criteria=_criteria(m, name, f"Burn thresholds {pairs} agreed with {m.team} for the {dec(s.objective)}% objective"),
            tests=_burn_cases(m, s, tier, labels, ann)))
    out.append(_exhausted(m, s))
    if s.rate_based:
        out.append(_sli_absent(m, s))
    return out


def sli_absent_expr(m: ServiceModel, s: SLO) -> str:
    """Traffic is recorded but the SLI is not (a missing threshold bucket, a broken error
    query), or targets that were up 5 minutes ago export no SLI series (not a pod's first
    scrapes, before rate() has two samples)."""
    sel = _slo_sel(m, s)
    return (f"{SLI_TOTAL_RATE5M}{sel} unless on (namespace) {SLI_ERROR_RATIO_5M}{sel}\n"
            f"or on (namespace)\n"
            f"(max by (namespace) (up{{job=\"{m.name}\"}} offset 5m) == 1 unless on (namespace) {SLI_TOTAL_RATE5M}{sel})")


def _sli_absent(m: ServiceModel, s: SLO) -> Alert:
    ns = m.production.namespace
    sel = _slo_sel(m, s)
    name = f"{s.prefix}SLIAbsent"
    labels = _labels(m, TICKET, s.name)
    bucket = (f" For a latency SLO the usual cause is a histogram without the threshold bucket "
              f"(le=\"{s.le}\", or le=\"{s.le.removesuffix('.0')}\"): the SLI cannot be computed, and it does not read as perfect."
              if s.kind == "latency" else "")
    ann = _annotations(m, name, f"{m.name}: {s.title} SLI cannot be computed",
                       f"{s.title} SLI series are missing in {{{{ $labels.namespace }}}}: its burn-rate alerts are blind.", "slo")
    lab = {"namespace": ns}
    if s.kind in ("availability", "latency"):
        broken = slo_series(m, s, ns, [0] * 25, [100] * 25, le=("0.5" if s.le == "0.25" else "0.25") if s.kind == "latency" else None)
        if s.kind == "availability":  # the total counter is there, under another job label
            broken = [_series("up", {"job": m.name, "namespace": ns, "instance": "10.0.0.1:8080"}, "1+0x25")]
        fire = (f"{'the threshold bucket is missing' if s.kind == 'latency' else 'targets up, no SLI series'} for 20m",
                "1m", broken, "20m", lab, 1.0)
    else:
        fire = ("targets up, no SLI series for 20m", "1m",
                [_series("up", {"job": m.name, "namespace": ns, "instance": "10.0.0.1:8080"}, "1+0x25")], "20m", lab, 1.0)
    healthy = slo_series(m, s, ns, [1] * 25, [100] * 25)
    a = Alert(
        name=name, severity="warning", tier=TICKET, slo=s.name, expr=sli_absent_expr(m, s), for_=SLI_ABSENT_FOR,
        labels=labels, annotations=ann,
        runbook={
            "meaning": f"The {s.title} SLI of {m.name} is not being recorded while the service runs.{bucket}",
            "impact": "No burn-rate alert of this SLO can fire: an outage would be silent.",
            "diagnosis": (f"```promql\n{SLI_TOTAL_RATE5M}{sel}\n{SLI_ERROR_RATIO_5M}{sel}\n"
                          f"{s.errors_or_zero('5m')}\n```\n\n"
                          f"```sh\n{_metrics_forward(m)}\ncurl -s localhost:{m.metrics_port}/metrics | grep -E '_bucket|_total'\n```"),
            "mitigation": "Restore the metric the SLI reads (a renamed metric, a changed bucket list, a relabeling that drops "
                          "the job label), release, and check the recording rule again.",
            "escalation": _escalation(m, TICKET),
        },
        panel={"title": f"{s.title} SLI recorded", "expr": f"count by (namespace) ({SLI_ERROR_RATIO_5M}{sel})",
               "unit": "short"},
        backlog_criteria=_criteria(m, name, f"The {s.title} SLI metric is exported by every stack of {m.name}"),
    )
    value = 100 / 60 if s.kind == "latency" else 1.0
    fire = (*fire[:5], value)
    return _with_cases(a, [fire], [("the SLI is recorded", "1m", healthy, "20m")])


def _exhausted(m: ServiceModel, s: SLO) -> Alert:
    ns = m.production.namespace
    window = slo.slo_window(m)
    sel = _slo_sel(m, s)
    name = f"{s.prefix}ErrorBudgetExhausted"
    labels = _labels(m, TICKET, s.name)
    ann = _annotations(m, name, f"{m.name}: {s.title} error budget exhausted",
                       f"{{{{ $value | humanizePercentage }}}} of the {window} {s.title} error budget remains "
                       f"in {{{{ $labels.namespace }}}} (objective {dec(s.objective)}%).", "slo")
    slo_labels = {"namespace": ns, "service": m.name, "slo": s.name}
    b = s.budget
    if s.kind == "jobs":
        fire = tuple(_job_inputs(m, ns, True, 40))
        cases = (Case(True, "half the runs failed", "1m", fire, _dur(FIRE_AT), (_expected(labels, ann, slo_labels, 1 - 0.5 / float(b)),)),
                 Case(False, "inside for:", "1m", fire, "10m"),
                 Case(False, "no run failed", "1m", tuple(_job_inputs(m, ns, False, 40)), _dur(FIRE_AT)))
    else:
        ratio = fire_ratio(m, s)
        e, n = _per_minute(ratio)
        # just under the lowest ticket threshold (<= the budget): shares input with that ticket case
        ue, un = _just_under(min(t for w, t in s.thresholds(m.slo_window_days) if w.tier == TICKET))
        steps = _steps(FIRE_AT)
        age = _age_series(m, ns, steps)
        cases = (
            Case(True, f"error ratio {dec(ratio)} over the window", "1m", (*_slo_inputs(m, s, e, n, steps, ns), age),
                 _dur(FIRE_AT), (_expected(labels, ann, slo_labels, float(1 - ratio / b)),)),
            Case(False, f"error ratio {ue}/{un}, inside the budget {dec(b)}", "1m",
                 (*_slo_inputs(m, s, ue, un, steps, ns), age), _dur(FIRE_AT)),
            Case(False, f"error ratio {dec(ratio)}, but the workload is younger than {slo.MIN_DATA_AGE}", "1m",
                 tuple(_slo_inputs(m, s, e, n, steps, ns)), _dur(FIRE_AT)),
        )
    return Alert(
        name=name, severity="warning", tier=TICKET, slo=s.name,
        expr=f"{BUDGET_REMAINING}{sel} <= 0\nand on (namespace)\n{age_guard(m)}", for_="15m",
        labels=labels, annotations=ann,
        runbook={
            "meaning": f"The {s.title} SLO ({dec(s.objective)}% over {window}) has used its whole error budget "
                       f"(checked once the workload is {slo.MIN_DATA_AGE} old: younger, the burn-rate tickets speak for it).",
            "impact": "Users got more errors than promised this window. The error-budget policy applies: "
                      "releases freeze except reliability fixes.",
            "diagnosis": (f"```promql\n{BUDGET_REMAINING}{sel}\n"
                          f"{sli_error_ratio(window)}{sel}\n{sli_error_ratio('1d')}{sel}\n```\n\n"
                          f"Which days burned the budget? Graph `{sli_error_ratio('1d')}` over the window on the SLO dashboard.\n\n"
                          + _kubectl_basics(m)),
            "mitigation": "Freeze feature releases (docs/slo.md). If the burn continues, treat the burn-rate alerts first:\n\n"
                          + _rollback(m),
            "escalation": f"Team {m.team} lead and product owner decide on the freeze; record it in the postmortem.",
        },
        panel={"title": f"{s.title} error budget remaining", "expr": f"{BUDGET_REMAINING}{sel}",
               "unit": "percentunit"},
        backlog_criteria=_criteria(m, name, f"Error-budget policy in docs/slo.md names who freezes releases for {s.title}"),
        tests=cases)
