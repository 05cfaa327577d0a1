"""Figures for the generated docs (slo, incident response, DR, capacity).

Every number a doc states is computed here from the model and the policy
modules (scaffold.slo, scaffold.resilience, scaffold.k8s), as display strings;
the templates only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..answers import quantities
from ..model import slo
from ..model.service import ServiceModel
from . import alertmanager, k8s, resilience

# Error-budget policy: what the team does as the budget of a window drains. The 25% tier
# depends on how releases reach production (delivery_kind): "ship behind a canary" means
# nothing where every release already is one, and cannot be done where none exists.
BUDGET_POLICY = (
    (Decimal(50), "Budget below 50%: risky changes (schema migrations, dependency majors) need a second reviewer and a rollback plan."),
    (Decimal(25), None),  # BUDGET_POLICY_25[delivery_kind(m)]
    (Decimal(0), "Budget exhausted: feature freeze. Only fixes, security patches and reliability work deploy until the "
                 "rolling window is back above 0; the freeze is lifted by the owning team's lead, not by the calendar."),
)
SOAK = "a day"  # how long a release runs in the environment before production, below 25%
CRON_SOAK_RUNS = 3  # a CronJob release: successful scheduled runs there before production
# delivery kind -> (how a release reaches production, what else guards a risky change)
BUDGET_POLICY_25 = {
    "canary": ("every release is already a canary ({weights} of traffic, analysed against the SLOs, about "
               "{plan} minutes), so the extra guard comes before it", "risky changes ship dark behind a feature flag"),
    "rolling": ("releases roll out to all pods at once (delivery: rolling, no canary analysis)",
                "risky changes ship dark behind a feature flag, or the service moves to `delivery: canary` "
                "(`copier update --trust --defaults --data delivery=canary`)"),
    "worker": ("a worker's pods roll (a queue consumer has no canary)",
               "a change to message handling ships behind a feature flag"),
    "cronjob": ("the next scheduled run uses a new release as a whole (a CronJob has no canary)",
                "a change to what a run writes ships behind a flag or a dry-run mode"),
}


def _release_gate(m: ServiceModel, kind: str) -> str:
    """What a release must show before production's reviewers approve it, below 25%."""
    prod = m.production
    if prod.previous:
        shown = (f"completes {CRON_SOAK_RUNS} scheduled runs in `{prod.previous}`" if kind == "cronjob"
                 else f"soaks in `{prod.previous}` for {SOAK} with no burn-rate ticket")
        return f"each release {shown} before the `{prod.name}` reviewers approve it"
    first = "its first run" if kind == "cronjob" else "its first hour"
    return (f"with no earlier environment, the `{prod.name}` reviewers approve a release only while the "
            f"on-call watches the SLO dashboard through {first}")


def delivery_kind(m: ServiceModel) -> str:
    """How releases reach production: a canary (service, delivery canary), a rolling
    Deployment (service), a worker's rolling Deployment, or a CronJob's next run."""
    if m.canary:
        return "canary"
    return "rolling" if m.blueprint == "service" else m.blueprint


# Capacity: what one fully used CPU core handles is the `throughput_per_core` answer (its
# default per blueprint: scaffold.model.THROUGHPUT_PER_CORE); every capacity figure follows.
EVENT_UNIT = {"service": "requests/s", "worker": "jobs/s"}


def _round(d: Decimal, places: str = "0.1") -> str:
    return slo.dec(d.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def human_minutes(minutes: Decimal) -> str:
    """43.2 -> '43 min 12 s'; 2160 -> '36 h'."""
    total_s = int((minutes * 60).to_integral_value(rounding=ROUND_HALF_UP))
    h, rest = divmod(total_s, 3600)
    mins, s = divmod(rest, 60)
    parts = [f"{h} h" if h else "", f"{mins} min" if mins else "", f"{s} s" if s else ""]
    return " ".join(p for p in parts if p) or "0 s"


@dataclass(frozen=True)
class BudgetRow:
    name: str
    title: str
    kind: str
    description: str
    objective: str  # percent
    budget_ratio: str
    window_minutes: str  # over the SLO window
    window_human: str
    week_minutes: str
    day_minutes: str
    per_thousand: str  # bad events allowed per 1000


def budget_rows(m: ServiceModel) -> list[BudgetRow]:
    rows = []
    for s in slo.slos_for(m):
        window = slo.error_budget_minutes(s.objective, m.slo_window_days)
        rows.append(BudgetRow(
            name=s.name, title=s.title, kind=s.kind, description=s.description,
            objective=slo.dec(s.objective), budget_ratio=slo.dec(s.budget),
            window_minutes=slo.dec(window), window_human=human_minutes(window),
            week_minutes=slo.dec(slo.error_budget_minutes(s.objective, 7)),
            day_minutes=slo.dec(slo.error_budget_minutes(s.objective, 1)),
            per_thousand=slo.dec(s.budget * 1000),
        ))
    return rows


@dataclass(frozen=True)
class BurnRow:
    slo: str
    tier: str
    severity: str
    short: str
    long: str
    budget_consumed: str  # percent of the window's budget spent when it fires
    factor: str
    threshold: str  # error ratio
    exhaustion: str  # hours until the whole budget is gone at this burn rate


def burn_rows(m: ServiceModel) -> list[BurnRow]:
    rows = []
    window_hours = Decimal(m.slo_window_days * 24)
    for s in slo.slos_for(m):
        for w, thr in s.thresholds(m.slo_window_days):
            rows.append(BurnRow(
                slo=s.name, tier=w.tier, severity=w.severity, short=w.short, long=w.long,
                budget_consumed=slo.dec(w.budget_consumed * 100), factor=slo.dec(w.factor),
                threshold=slo.dec(thr), exhaustion=_round(window_hours / w.factor),
            ))
    return rows


def factors_note(m: ServiceModel) -> str:
    exact = [slo.dec(w.budget_consumed * m.slo_window_days * 24 / slo.window_hours(w.long))
             for w in slo.burn_rate_windows(m.slo_window_days)]
    used = [slo.dec(w.factor) for w in slo.burn_rate_windows(m.slo_window_days)]
    if exact == used:
        return (f"For a {m.slo_window_days}-day window the factors are exact: {', '.join(used)}.")
    return (f"For a {m.slo_window_days}-day window the exact factors are {', '.join(exact)}; they are scaled to the "
            f"window (not the 30-day factors) and rounded down to two decimals ({', '.join(used)}), so a rounded "
            "alert is never less sensitive than the exact one.")


def budget_policy(m: ServiceModel) -> list[tuple[str, str]]:
    """The error-budget policy of this service, tier by tier; the 25% tier fits how its
    releases reach production (delivery_kind)."""
    from . import canary

    kind = delivery_kind(m)
    fact, extra = BUDGET_POLICY_25[kind]
    if m.canary:
        fact = fact.format(weights="/".join(f"{st['setWeight']}%" for st in canary.steps(m) if "setWeight" in st),
                           plan=canary.plan_seconds(m) // 60)
    tier_25 = f"Budget below 25%: {fact}; {_release_gate(m, kind)}; {extra}; one reliability item joins every sprint."
    return [(slo.dec(level), text if text is not None else tier_25) for level, text in BUDGET_POLICY]


# -- incident response ---------------------------------------------------------

@dataclass(frozen=True)
class Severity:
    level: str
    definition: str
    response: str
    update_every: str


def severities(m: ServiceModel) -> list[Severity]:
    """SEV1-SEV4 tied to the burn-rate tiers of this service's SLOs."""
    tiers = slo.burn_rate_windows(m.slo_window_days)
    fast, slow, t1, t2 = tiers
    hours = Decimal(m.slo_window_days * 24)
    names = ", ".join(s.name for s in slo.slos_for(m))
    prod = m.production.namespace
    return [
        Severity("SEV1", f"Production ({prod}) is down or the fast page tier fires: an SLO ({names}) burns at "
                 f"{slo.dec(fast.factor)}x or more over {fast.long} and {fast.short}, so the whole {m.slo_window_days}-day "
                 f"budget would be gone in {_round(hours / fast.factor)} h.",
                 "Page now; incident commander named within 5 min; all hands from the owning team.", "every 30 min"),
        Severity("SEV2", f"The slow page tier fires: {slo.dec(slow.factor)}x over {slow.long} and {slow.short} "
                 f"({slo.dec(slow.budget_consumed * 100)}% of the budget in {slow.long}; exhausted in "
                 f"{_round(hours / slow.factor)} h), or a critical symptom alert in production.",
                 "Page; incident commander named within 15 min.", "every hour"),
        Severity("SEV3", f"A ticket tier fires: {slo.dec(t1.factor)}x over {t1.long} or {slo.dec(t2.factor)}x over "
                 f"{t2.long} ({slo.dec(t1.budget_consumed * 100)}% of the budget), or a warning symptom alert.",
                 "Ticket; handled by on-call in business hours.", "daily, in the ticket"),
        Severity("SEV4", "No SLO impact: a non-production environment, a degraded internal tool, a near miss.",
                 "Backlog item; no incident roles.", "none"),
    ]


def escalation(m: ServiceModel) -> list[tuple[str, str]]:
    names = alertmanager.receiver_names(m)
    timing = alertmanager.PAGE_TIMING
    return [
        ("0 min", f"Alertmanager pages the {m.team} primary on-call through the `{names['page']}` receiver "
                  f"(group_wait {timing['group_wait']}; re-notified every {timing['repeat_interval']} while firing)."),
        ("15 min", f"Not acknowledged: PagerDuty escalates to the {m.team} secondary on-call."),
        ("30 min", f"SEV1/SEV2 not mitigated: the {m.team} engineering lead joins as incident commander or names one."),
        ("60 min", "SEV1 still open: the platform/SRE on-call and the service's stakeholders are pulled in."),
    ]


# -- disaster recovery ---------------------------------------------------------

def dr_rows(m: ServiceModel) -> list[dict[str, Any]]:
    return [{
        "environment": p.environment, "namespace": p.namespace, "tier": p.tier.name,
        "schedule": p.tier.schedule, "schedule_name": p.schedule_name,
        "rpo": f"{p.rpo_hours} h", "rto": resilience.duration(p.rto_minutes),
        "retention": f"{p.retention_days} days", "ttl": p.ttl, "kept": p.backups_kept, "drill": p.tier.drill,
    } for p in resilience.policies(m)]


# -- capacity ------------------------------------------------------------------

@dataclass(frozen=True)
class CapacityRow:
    environment: str
    replicas_min: int
    replicas_max: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    per_pod: str  # events/s per pod at the HPA CPU target
    at_min: str
    at_max: str  # the load at which the HPA reaches max replicas
    cpu_requested_at_max: str  # cores
    memory_requested_at_max: str


def per_pod_capacity(m: ServiceModel) -> Decimal | None:
    """Events/s one pod handles at the HPA CPU target, given the `throughput_per_core` answer."""
    if m.blueprint not in EVENT_UNIT:
        return None
    cores = quantities.parse_valid(m.resources.cpu_request, "cpu")
    return Decimal(cores) * Decimal(m.throughput_per_core) * Decimal(k8s.HPA_CPU_UTILIZATION) / 100


def capacity_rows(m: ServiceModel) -> list[CapacityRow]:
    per_pod = per_pod_capacity(m)
    r = m.resources
    cores = Decimal(quantities.parse_valid(r.cpu_request, "cpu"))
    mem = Decimal(quantities.parse_valid(r.memory_request, "memory"))
    rows = []
    for e in m.environments:
        rows.append(CapacityRow(
            environment=e.name, replicas_min=e.replicas_min, replicas_max=e.replicas_max,
            cpu_request=r.cpu_request, cpu_limit=r.cpu_limit, memory_request=r.memory_request, memory_limit=r.memory_limit,
            per_pod=_round(per_pod) if per_pod is not None else "n/a",
            at_min=_round(per_pod * e.replicas_min) if per_pod is not None else "n/a",
            at_max=_round(per_pod * e.replicas_max) if per_pod is not None else "n/a",
            cpu_requested_at_max=slo.dec(cores * e.replicas_max),
            memory_requested_at_max=quantities.format_memory(mem * e.replicas_max),
        ))
    return rows


def capacity_assumption(m: ServiceModel) -> str:
    if m.blueprint not in EVENT_UNIT:
        return "A CronJob does not scale horizontally: capacity is one run at a time (concurrencyPolicy Forbid)."
    unit = EVENT_UNIT[m.blueprint]
    per_pod = per_pod_capacity(m)
    assert per_pod is not None  # a blueprint in EVENT_UNIT has a per-pod capacity
    return (f"One fully used CPU core handles {m.throughput_per_core} {unit} "
            f"(the `throughput_per_core` answer). The HPA targets {k8s.HPA_CPU_UTILIZATION}% of the "
            f"{m.resources.cpu_request} CPU request, so one pod carries "
            f"{_round(per_pod)} {unit} before the HPA adds another.")
