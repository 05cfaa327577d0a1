"""The alert catalog: every alert defined once, everything else derived from it.

Each :class:`Alert` carries its Prometheus rule (expr, for, labels,
annotations), its runbook sections, its dashboard panel, its backlog
acceptance criteria and its promtool test cases (one that fires with the exact
expanded labels and annotations, at least one that stays silent). Rule files,
runbooks/<Alert>.md, the promtool test file, dashboards and backlog tasks are
all rendered from :func:`alerts_for`. Thresholds come from :mod:`scaffold.slo`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..model import slo as slomath
from ..conventions import CONTAINER, PAGE, SEVERITY, TICKET
from ..model.service import ServiceModel, le_label
from ..model.slo import SLO, dec

CPU_THROTTLING_RATIO = Decimal("0.25")
CRON_MISSED_PERIODS = 2  # a CronJob with no success for this many schedule periods alerts
# No `for:` on pages: both windows already agree, and 2 more minutes of a full outage
# is 2.3% -> 6.9% of a 30-day budget. Tickets wait 15m so a blip does not open one.
BURN_FOR = {PAGE: "0m", TICKET: "15m"}
SLI_ABSENT_FOR = "10m"
# Test traffic per minute is at least 10^4: errors/total are exact decimals, and
# the low-traffic guard (MIN_BAD_EVENTS in the long window) passes within a minute.
MIN_TEST_TOTAL_DIGITS = 4
FIRE_AT = 20  # minutes: past every `for:` of the SLO alerts


@dataclass(frozen=True)
class Case:
    """One promtool test group: input series, an eval time and the expected alerts."""

    fires: bool
    why: str
    interval: str
    input_series: tuple[dict[str, str], ...]
    eval_time: str
    exp_alerts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    tier: str
    slo: str | None
    expr: str
    for_: str
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook: dict[str, str]  # meaning, impact, diagnosis, mitigation, escalation (markdown)
    # title, expr, unit (Grafana unit id); optional targets ((expr, legend), ...) when the panel plots
    # more than one query, and thresholds ((value, label), ...) drawn as lines
    panel: dict[str, Any]
    backlog_criteria: tuple[str, ...]
    tests: tuple[Case, ...] = field(default=())

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_ not in ("0m", "0s"):
            out["for"] = self.for_
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out


# -- Prometheus template expansion, to predict exact annotations in tests ----
def _g4(v: float) -> str:
    return "%.4g" % v


def humanize_duration(v: float) -> str:
    """Prometheus' humanizeDuration."""
    if v == 0:
        return f"{_g4(v)}s"
    if abs(v) >= 1:
        sign, v = ("-", -v) if v < 0 else ("", v)
        d = int(v)
        s, mi, h, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {h}h {mi}m {s}s"
        if h:
            return f"{sign}{h}h {mi}m {s}s"
        if mi:
            return f"{sign}{mi}m {s}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


_TEMPLATE = re.compile(r"\{\{ (\$labels\.(\w+)|\$value(?: \| (humanizePercentage|humanizeDuration|printf \"%\.0f\"))?) \}\}")


def expand(template: str, labels: dict[str, str], value: float) -> str:
    """Expand the few Go-template forms the catalog uses, like Prometheus does."""
    def one(mt: re.Match[str]) -> str:
        if mt.group(2):
            return labels.get(mt.group(2), "")
        fn = mt.group(3)
        if fn == "humanizePercentage":
            return f"{_g4(value * 100)}%"
        if fn == "humanizeDuration":
            return humanize_duration(value)
        if fn:
            return "%.0f" % value
        return str(int(value)) if value == int(value) else repr(value)

    return _TEMPLATE.sub(one, template)


# -- helpers -----------------------------------------------------------------
def _labels(m: ServiceModel, tier: str, slo: str | None = None) -> dict[str, str]:
    out = {"severity": SEVERITY[tier], "tier": tier, "team": m.team, "service": m.name}
    if slo:
        out["slo"] = slo
    return out


def _annotations(m: ServiceModel, name: str, summary: str, description: str, dash: str) -> dict[str, str]:
    return {"summary": summary, "description": description, "runbook_url": m.runbook_url(name),
            "dashboard_url": m.dashboard_url(dash)}


def _expected(alert_labels: dict[str, str], annotations: dict[str, str], series_labels: dict[str, str],
              value: float) -> dict[str, Any]:
    labels = {**series_labels, **alert_labels}
    return {"exp_labels": labels,
            "exp_annotations": {k: expand(v, labels, value) for k, v in annotations.items()}}


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _ceil_1sig(x: Decimal) -> Decimal:
    """The smallest one-significant-digit number >= x (0.0288 -> 0.03): values print exactly."""
    q = Decimal(1).scaleb(x.adjusted())
    return ((x / q).to_integral_value(rounding=ROUND_CEILING) * q).normalize()


def _per_minute(ratio: Decimal) -> tuple[int, int]:
    """(errors, total) per minute with errors/total == ratio exactly and total >= 100."""
    exp = -ratio.normalize().as_tuple().exponent
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
NS_VAR = '"$NS"'


def namespace_step(m: ServiceModel) -> str:
    """The first Diagnosis step of a runbook whose commands use $NS: take the namespace
    from the alert, never assume production."""
    where = ", ".join(f"`{e.namespace}`" for e in m.environments)
    return (f"Set `NS` to the alert's `namespace` label: the commands below run where it fired "
            f"({m.name} runs in {where}).\n\n"
            f"```sh\nNS={m.production.namespace}   # example: use the alert's namespace label\n"
            f"ENV=${{NS#{m.name}-}}   # its environment; CD deploys it from the branch deploy/$ENV\n```\n\n")


def _rollback(m: ServiceModel) -> str:
    """Roll back the workload kind that exists: a Rollout (Argo Rollouts' kubectl plugin),
    a Deployment, or a CronJob (runs of the bad release), then the GitOps revert."""
    ns = NS_VAR
    if m.canary:
        first = (f"1. If a canary is in progress, abort it: `kubectl argo rollouts abort {m.name} -n {ns}`; "
                 f"confirm the stable ReplicaSet serves all traffic with `kubectl argo rollouts get rollout {m.name} -n {ns}`.\n")
    elif m.workload_kind == "CronJob":
        image = "{.spec.jobTemplate.spec.template.spec.containers[0].image}"
        first = (f"1. Find the runs of the bad release: `kubectl -n {ns} get jobs -l app.kubernetes.io/name={m.name}`; "
                 f"one still running is stopped with `kubectl -n {ns} delete job <job>` (concurrencyPolicy Forbid holds "
                 f"the next run while one is active). The image the next run uses: "
                 f"`kubectl -n {ns} get cronjob {m.name} -o jsonpath='{image}'`. To hold runs until the revert lands, "
                 f"set `suspend: true` on the CronJob through git (`k8s/base/cronjob.yaml`, or a patch in `k8s/overlays/$ENV`): a `kubectl patch` is undone at the next sync.\n")
    else:
        first = (f"1. Check what changed: `kubectl -n {ns} rollout history deployment/{m.name}`; "
                 f"watch the roll-back with `kubectl -n {ns} rollout status deployment/{m.name}`.\n")
    tool = "Argo CD" if m.gitops == "argocd" else "Flux"
    branch = "deploy/$ENV"  # scaffold.gitops.deploy_branch of the alert's environment: what {tool} follows
    template = "job template" if m.workload_kind == "CronJob" else "pod template"
    return (first +
            f"2. Roll back through GitOps: put the deploy branch back on its previous tip "
            f"(`git fetch origin {branch} && git log --oneline -3 origin/{branch}`, then "
            f"`git push --force-with-lease origin <previous>:refs/heads/{branch}`) and let {tool} sync the previous "
            f"{template}; a config change is reverted on `main` and promoted by the next CD run. "
            "Never `kubectl edit` a GitOps-managed object: the controller reverts it.\n")


def _kubectl_basics(m: ServiceModel) -> str:
    sel = f"app.kubernetes.io/name={m.name}"
    return (f"```sh\nkubectl -n {NS_VAR} get pods -l {sel} -o wide\n"
            f"kubectl -n {NS_VAR} get events --sort-by=.lastTimestamp | tail -n 30\n"
            f"kubectl -n {NS_VAR} logs -l {sel} -c {CONTAINER} --since=30m --tail=200\n```\n")


def _metrics_forward(m: ServiceModel) -> str:
    """Reach /metrics of one pod: through the Service's metrics port for a service (a
    Rollout's pods sit behind it), the Deployment for a worker (no Service)."""
    target = f"svc/{m.name}" if m.has_http else f"deploy/{m.name}"
    return f"kubectl -n {NS_VAR} port-forward {target} {m.metrics_port} &"


def _monitor_kinds(m: ServiceModel) -> str:
    """What the scrape target is made of: the monitor the package ships, its Service, its pods."""
    return "servicemonitors,svc,pods" if m.has_http else "podmonitors,pods"


def _escalation(m: ServiceModel, tier: str) -> str:
    if tier == PAGE:
        return (f"You are the {m.team} on-call. If not mitigated in 30 minutes, or the cause sits in a dependency, "
                f"page that dependency's owner and open an incident (docs/incident-response.md). "
                "A budget-burning incident gets a postmortem (docs/postmortem-template.md).")
    return (f"Ticket for team {m.team}: handle within business hours. Escalate to a page if it worsens "
            "or the error budget runs out (docs/slo.md error-budget policy).")


def _criteria(m: ServiceModel, name: str, extra: str) -> tuple[str, ...]:
    return (
        f"runbooks/{name}.md reviewed by {m.team}: every Diagnosis command runs in the namespace the alert names (e.g. {m.production.namespace})",
        f"`promtool test rules observability/prometheus/{m.name}.test.yaml` passes, with {name} firing and silent cases",
        f"{name} reaches the right receiver (amtool config routes test)",
        extra,
    )


# -- SLO alerts -----------------------------------------------------------------
def _slo_sel(m: ServiceModel, s: SLO) -> str:
    return f'{{service="{m.name}",slo="{s.name}"}}'


def _burn_expr(m: ServiceModel, s: SLO, tier: str) -> str:
    sel = _slo_sel(m, s)
    parts = []
    for w, t in s.thresholds(m.slo_window_days):
        if w.tier != tier:
            continue
        cond = (f"slo:sli_error:ratio_rate{w.short}{sel} > {dec(t)}\n"
                f"  and slo:sli_error:ratio_rate{w.long}{sel} > {dec(t)}")
        if s.rate_based:
            cond += f"\n  and {bad_events(sel, w.long)} >= {slomath.MIN_BAD_EVENTS}"
        parts.append(f"(\n  {cond}\n)")
    return "\nor\n".join(parts)


def burn_panel(s: SLO, sel: str, windows: list[slomath.BurnWindow]) -> dict[str, Any]:
    """The dashboard panel of a burn-rate alert: the burn rate over exactly the short and long
    windows of each of its pairs (the windows _burn_expr compares), and each pair's factor as
    a threshold line. Burn rate = error ratio / error budget, so the line sits where the
    alert's ratio threshold (factor x budget) does."""
    targets, seen = [], set()
    for w in windows:
        for win in (w.short, w.long):
            if win not in seen:
                seen.add(win)
                targets.append((f"slo:sli_error:ratio_rate{win}{sel} / {dec(s.budget)}", f"burn {win}"))
    return {"title": f"{s.title} burn rate", "expr": targets[0][0], "unit": "none", "targets": tuple(targets),
            "thresholds": tuple((w.factor, f"{w.short}/{w.long} {dec(w.factor)}x") for w in windows)}


def bad_events(sel: str, window: str) -> str:
    """Bad events in a window, from the recorded 5m error rate: each 1-minute sample is
    errors per second over 5 minutes, so 60 x their sum over the window counts the errors."""
    return f"sum_over_time(slo:sli_error:rate5m{sel}[{window}]) * 60"


def values(points: list[float | None]) -> str:
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
        h = slomath._histogram(m)
        return [_series(f"{h}_bucket", {**base, "le": le or s.le}, values(cumulative(good, resets))),
                _series(f"{h}_count", base, values(cumulative(totals, resets)))]
    lab = {"namespace": ns, "service": m.name, "slo": s.name}

    def rate5m(xs: list[float]) -> list[float | None]:
        return [None] + [sum(xs[max(0, i - 4):i + 1]) / 300 for i in range(len(xs))]

    return [_series("slo:sli_error:rate5m", lab, values(rate5m(errors))),
            _series("slo:sli_total:rate5m", lab, values(rate5m(totals)))]


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
    secs = slomath.window_seconds(slomath.MIN_DATA_AGE)
    return f"max by (namespace) ({metric}{{{_ns_sel(m)},{sel}}}) < time() - {secs}"


def _age_series(m: ServiceModel, ns: str, steps: int) -> dict[str, str]:
    if m.blueprint == "cronjob":
        return _series("kube_cronjob_created", {"namespace": ns, "cronjob": m.name}, f"{OLD_WORKLOAD}+0x{steps}")
    return _series("kube_deployment_created", {"namespace": ns, "deployment": m.name}, f"{OLD_WORKLOAD}+0x{steps}")


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
        Case(False, f"one failed request among 60 an hour (fewer than {slomath.MIN_BAD_EVENTS} bad events)",
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
    ns = m.production.namespace
    window = slomath.slo_window(m)
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
        ratio_q = f"slo:sli_error:ratio_rate5m{sel}"
        runbook = {
            "meaning": (f"The {s.title} SLO of {m.name} ({s.description}) is consuming its {window} error budget "
                        f"too fast: the error ratio is above {pairs} over both windows of a pair"
                        + (f", with at least {slomath.MIN_BAD_EVENTS} bad events in the long window." if s.rate_based else ".")),
            "impact": ("At this burn rate the whole error budget is gone within days: users see errors now."
                       if tier == PAGE else
                       "A slow, sustained burn: left alone it exhausts the error budget before the window ends."),
            "diagnosis": (
                "Current error ratio and burn rate per window:\n\n"
                f"```promql\n{ratio_q}\n{ratio_q} / {dec(s.budget)}\n"
                f"slo:period_error_budget_remaining:ratio{sel}\n```\n\n"
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
    return (f"slo:sli_total:rate5m{sel} unless on (namespace) slo:sli_error:ratio_rate5m{sel}\n"
            f"or on (namespace)\n"
            f"(max by (namespace) (up{{job=\"{m.name}\"}} offset 5m) == 1 unless on (namespace) slo:sli_total:rate5m{sel})")


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
            "diagnosis": (f"```promql\nslo:sli_total:rate5m{sel}\nslo:sli_error:ratio_rate5m{sel}\n"
                          f"{s.errors_or_zero('5m')}\n```\n\n"
                          f"```sh\n{_metrics_forward(m)}\ncurl -s localhost:{m.metrics_port}/metrics | grep -E '_bucket|_total'\n```"),
            "mitigation": "Restore the metric the SLI reads (a renamed metric, a changed bucket list, a relabeling that drops "
                          "the job label), release, and check the recording rule again.",
            "escalation": _escalation(m, TICKET),
        },
        panel={"title": f"{s.title} SLI recorded", "expr": f"count by (namespace) (slo:sli_error:ratio_rate5m{sel})",
               "unit": "short"},
        backlog_criteria=_criteria(m, name, f"The {s.title} SLI metric is exported by every stack of {m.name}"),
    )
    value = 100 / 60 if s.kind == "latency" else 1.0
    fire = (*fire[:5], value)
    return _with_cases(a, [fire], [("the SLI is recorded", "1m", healthy, "20m")])


def _exhausted(m: ServiceModel, s: SLO) -> Alert:
    ns = m.production.namespace
    window = slomath.slo_window(m)
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
            Case(False, f"error ratio {dec(ratio)}, but the workload is younger than {slomath.MIN_DATA_AGE}", "1m",
                 tuple(_slo_inputs(m, s, e, n, steps, ns)), _dur(FIRE_AT)),
        )
    return Alert(
        name=name, severity="warning", tier=TICKET, slo=s.name,
        expr=f"slo:period_error_budget_remaining:ratio{sel} <= 0\nand on (namespace)\n{age_guard(m)}", for_="15m",
        labels=labels, annotations=ann,
        runbook={
            "meaning": f"The {s.title} SLO ({dec(s.objective)}% over {window}) has used its whole error budget "
                       f"(checked once the workload is {slomath.MIN_DATA_AGE} old: younger, the burn-rate tickets speak for it).",
            "impact": "Users got more errors than promised this window. The error-budget policy applies: "
                      "releases freeze except reliability fixes.",
            "diagnosis": (f"```promql\nslo:period_error_budget_remaining:ratio{sel}\n"
                          f"slo:sli_error:ratio_rate{window}{sel}\nslo:sli_error:ratio_rate1d{sel}\n```\n\n"
                          "Which days burned the budget? Graph `slo:sli_error:ratio_rate1d` over the window on the SLO dashboard.\n\n"
                          + _kubectl_basics(m)),
            "mitigation": "Freeze feature releases (docs/slo.md). If the burn continues, treat the burn-rate alerts first:\n\n"
                          + _rollback(m),
            "escalation": f"Team {m.team} lead and product owner decide on the freeze; record it in the postmortem.",
        },
        panel={"title": f"{s.title} error budget remaining", "expr": f"slo:period_error_budget_remaining:ratio{sel}",
               "unit": "percentunit"},
        backlog_criteria=_criteria(m, name, f"Error-budget policy in docs/slo.md names who freezes releases for {s.title}"),
        tests=cases)


# -- symptom alerts --------------------------------------------------------------
def _ns_sel(m: ServiceModel) -> str:
    return f'namespace=~"{slomath.namespace_regex(m)}"'


def _pod_sel(m: ServiceModel) -> str:
    return f'{_ns_sel(m)},pod=~"{m.name}-.*"'


def _symptom(m: ServiceModel, name: str, tier: str, expr: str, for_: str, summary: str, description: str,
             runbook: dict[str, str], panel: dict[str, str], criterion: str, cases: tuple[Case, ...],
             dash: str = "golden") -> Alert:
    return Alert(name=name, severity=SEVERITY[tier], tier=tier, slo=None, expr=expr, for_=for_,
                 labels=_labels(m, tier), annotations=_annotations(m, name, summary, description, dash),
                 runbook=runbook, panel=panel, backlog_criteria=_criteria(m, name, criterion), tests=cases)


def _with_cases(alert: Alert, fires: list[tuple[str, str, list[dict[str, str]], str, dict[str, str], float]],
                silent: list[tuple[str, str, list[dict[str, str]], str]]) -> Alert:
    cases = [Case(True, why, iv, tuple(series), at, (_expected(alert.labels, alert.annotations, labels, value),))
             for why, iv, series, at, labels, value in fires]
    cases += [Case(False, why, iv, tuple(series), at) for why, iv, series, at in silent]
    return replace(alert, tests=tuple(cases))


def _high_latency(m: ServiceModel, ns: str) -> Alert:
    h = slomath._histogram(m)
    q = (m.slo_latency_target / 100).normalize()
    thr = m.latency_seconds
    expr = (f"histogram_quantile({dec(q)}, sum by (namespace, le) (rate({h}_bucket{{job=\"{m.name}\"}}[5m])))"
            f" > {dec(thr)}")
    pq = f"p{dec(m.slo_latency_target)}"
    a = _symptom(
        m, "HighLatency", TICKET, expr, "10m", f"{m.name}: {pq} latency above {m.slo_latency_ms}ms",
        f"{pq} latency in {{{{ $labels.namespace }}}} is {{{{ $value | humanizeDuration }}}}, above the "
        f"{m.slo_latency_ms}ms SLO threshold.",
        {"meaning": f"The {pq} of {h} has been above {m.slo_latency_ms}ms for 10 minutes.",
         "impact": "Slow responses; sustained, it burns the latency SLO budget.",
         "diagnosis": (f"```promql\n{expr.rsplit(' > ', 1)[0]}\n"
                       f"sum by (namespace) (rate(container_cpu_cfs_throttled_periods_total{{{_pod_sel(m)}}}[5m]))\n```\n\n"
                       + _kubectl_basics(m) + f"\nCheck saturation: `kubectl -n {NS_VAR} top pods -l app.kubernetes.io/name={m.name}`."),
         "mitigation": "Scale out if CPU-bound (raise the HPA bounds in the overlay), or roll back a slow release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": f"{pq} latency", "expr": expr.rsplit(" > ", 1)[0], "unit": "s"},
        f"The {pq} threshold of {m.slo_latency_ms}ms matches the latency SLO", ())
    nxt = next((b for b in m.latency_buckets if b > thr), thr * 2)
    le, le_next = le_label(thr), le_label(nxt)
    base = {"job": m.name, "namespace": ns}

    def buckets(under: int) -> list[dict[str, str]]:
        return [_series(f"{h}_bucket", {**base, "le": le}, f"0+{under}x40"),
                _series(f"{h}_bucket", {**base, "le": le_next}, "0+100x40"),
                _series(f"{h}_bucket", {**base, "le": "+Inf"}, "0+100x40")]

    value = float(thr) + (float(nxt) - float(thr)) * float(q)
    return _with_cases(a, [("every request lands above the threshold", "1m", buckets(0), "30m", {"namespace": ns}, value)],
                       [("every request under the threshold", "1m", buckets(100), "30m")])


def _crashloop(m: ServiceModel, ns: str) -> Alert:
    expr = (f"max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason"
            f"{{{_pod_sel(m)},reason=\"CrashLoopBackOff\"}}[5m])) >= 1")
    a = _symptom(
        m, "PodCrashLooping", TICKET, expr, "15m", f"{m.name}: a pod is crash-looping",
        "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.",
        {"meaning": "A container keeps exiting and Kubernetes backs off restarting it.",
         "impact": "Fewer serving replicas; if all pods crash, the service is down (TargetDown pages).",
         "diagnosis": (f"```sh\nkubectl -n {NS_VAR} describe pod <pod>\nkubectl -n {NS_VAR} logs <pod> -c {CONTAINER} --previous\n```\n\n"
                       f"```promql\n{expr.rsplit(' >= ', 1)[0]}\n```\n\n" + _kubectl_basics(m)),
         "mitigation": "Fix the crash cause (config, secret, dependency). If it came with a release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Crash-looping containers", "expr": expr.rsplit(" >= ", 1)[0], "unit": "short"},
        "Startup failures log a clear reason to stderr", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}
    series = [_series("kube_pod_container_status_waiting_reason", {**lab, "reason": "CrashLoopBackOff", "job": "kube-state-metrics"}, "1+0x40")]
    return _with_cases(a, [("waiting in CrashLoopBackOff for 30m", "1m", series, "30m", lab, 1.0)],
                       [("inside for:", "1m", series, "10m")])


def _oom(m: ServiceModel, ns: str) -> Alert:
    by = "namespace, pod, container"
    oom = f'{_pod_sel(m)},reason="OOMKilled"'
    # restartPolicy Always: a restart whose last reason is OOMKilled. restartPolicy Never (Job
    # pods): the container's own terminated reason, for the 10 minutes after it appears.
    expr = (f"(\n  max by ({by}) (increase(kube_pod_container_status_restarts_total{{{_pod_sel(m)}}}[10m])) >= 1\n"
            f"  and on ({by})\n"
            f"  max by ({by}) (kube_pod_container_status_last_terminated_reason{{{oom}}}) == 1\n)\nor\n"
            f"(\n  max by ({by}) (kube_pod_container_status_terminated_reason{{{oom}}}) == 1\n"
            f"  unless on ({by})\n"
            f"  max by ({by}) (kube_pod_container_status_terminated_reason{{{oom}}} offset 10m) == 1\n)")
    a = _symptom(
        m, "ContainerOOMKilled", TICKET, expr, "0m", f"{m.name}: a container was OOMKilled",
        "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} was OOMKilled "
        "({{ $value | printf \"%.0f\" }} restarts in 10 minutes).",
        {"meaning": f"A container hit its memory limit ({m.resources.memory_limit}) and the kernel killed it.",
         "impact": "In-flight requests or jobs on that pod failed; repeated kills become a crash loop.",
         "diagnosis": (f"```promql\nmax by (pod) (container_memory_working_set_bytes{{{_pod_sel(m)},container=\"{CONTAINER}\"}})\n```\n\n"
                       f"```sh\nkubectl -n {NS_VAR} describe pod <pod> | grep -A3 'Last State'\n```\n\n" + _kubectl_basics(m)),
         "mitigation": "Raise memory_limit (copier update) if usage grew legitimately; roll back a leaking release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Memory working set", "expr": f"max by (pod) (container_memory_working_set_bytes{{{_pod_sel(m)},container=\"{CONTAINER}\"}})",
         "unit": "bytes"},
        f"memory_limit {m.resources.memory_limit} reviewed against the observed working set", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}
    restarts = _series("kube_pod_container_status_restarts_total", lab, "0 0 0 0 0 1 1 1 1 1 1")
    oom = _series("kube_pod_container_status_last_terminated_reason", {**lab, "reason": "OOMKilled"}, "0 0 0 0 0 1 1 1 1 1 1")
    err = _series("kube_pod_container_status_last_terminated_reason", {**lab, "reason": "Error"}, "0 0 0 0 0 1 1 1 1 1 1")
    never = _series("kube_pod_container_status_terminated_reason", {**lab, "reason": "OOMKilled"}, "_x4 1+0x30")
    return _with_cases(a, [("a restart whose last reason is OOMKilled", "1m", [restarts, oom], "8m", lab, 1.0),
                           ("a restartPolicy Never container terminated OOMKilled", "1m", [never], "8m", lab, 1.0)],
                       [("a restart for another reason", "1m", [restarts, err], "8m"),
                        ("the OOMKilled container terminated over 10 minutes ago", "1m", [never], "20m")])


def _hpa(m: ServiceModel, ns: str) -> Alert:
    sel = f'{_ns_sel(m)},horizontalpodautoscaler="{m.name}"'
    by = "namespace, horizontalpodautoscaler"
    expr = (f"max by ({by}) (kube_horizontalpodautoscaler_status_current_replicas{{{sel}}})\n"
            f"  >= max by ({by}) (kube_horizontalpodautoscaler_spec_max_replicas{{{sel}}})\n"
            f"and max by ({by}) (kube_horizontalpodautoscaler_spec_max_replicas{{{sel}}})\n"
            f"  > max by ({by}) (kube_horizontalpodautoscaler_spec_min_replicas{{{sel}}})")
    a = _symptom(
        m, "HpaMaxedOut", TICKET, expr, "15m", f"{m.name}: HPA pinned at max replicas",
        "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has run at its maximum of {{ $value }} replicas for 15 minutes.",
        {"meaning": "The autoscaler wants more pods than maxReplicas allows.",
         "impact": "No headroom: more load means saturation, latency and errors.",
         "diagnosis": (f"```sh\nkubectl -n {NS_VAR} describe hpa {m.name}\nkubectl -n {NS_VAR} top pods -l app.kubernetes.io/name={m.name}\n```\n\n"
                       f"```promql\nkube_horizontalpodautoscaler_status_current_replicas{{{sel}}}\n```"),
         "mitigation": f"Raise replicas_max for {m.production.name} in the overlay (GitOps), or find why per-pod load grew "
                       "(a slow release, a retry storm):\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "HPA replicas", "expr": f"kube_horizontalpodautoscaler_status_current_replicas{{{sel}}}", "unit": "short"},
        f"replicas_max ({m.production.replicas_max} in {m.production.name}) reviewed against peak load", ())
    lab = {"namespace": ns, "horizontalpodautoscaler": m.name}

    def hpa_series(current: int) -> list[dict[str, str]]:
        return [_series("kube_horizontalpodautoscaler_status_current_replicas", lab, f"{current}+0x40"),
                _series("kube_horizontalpodautoscaler_spec_max_replicas", lab, "10+0x40"),
                _series("kube_horizontalpodautoscaler_spec_min_replicas", lab, "2+0x40")]

    return _with_cases(a, [("10 of max 10 replicas for 30m", "1m", hpa_series(10), "30m", lab, 10.0)],
                       [("9 of max 10 replicas", "1m", hpa_series(9), "30m")])


def _unavailable(m: ServiceModel, ns: str) -> Alert:
    if m.canary:
        # The controller's metrics carry the Rollout's namespace as their own `namespace` label; scraped
        # by a ServiceMonitor without honorLabels, Prometheus renames it exported_namespace.
        sel = f'exported_namespace=~"{slomath.namespace_regex(m)}",name="{m.name}"'
        by = "exported_namespace, name"

        def rollout_metric(metric: str) -> str:
            return (f'label_replace(max by ({by}) ({metric}{{{sel}}}), '
                    f'"namespace", "$1", "exported_namespace", "(.*)")')
        expr = (f"{rollout_metric('rollout_info_replicas_desired')}\n"
                f"  - {rollout_metric('rollout_info_replicas_available')} > 0")
        obj, lab = f"rollout {m.name}", {"namespace": ns, "exported_namespace": ns, "name": m.name}
        raw = {"namespace": "argo-rollouts", "exported_namespace": ns, "name": m.name, "job": "argo-rollouts-metrics"}

        def series(missing: int) -> list[dict[str, str]]:
            return [_series("rollout_info_replicas_desired", raw, "3+0x40"),
                    _series("rollout_info_replicas_available", raw, f"{3 - missing}+0x40")]
    else:
        sel = f'{_ns_sel(m)},deployment="{m.name}"'
        expr = f"max by (namespace, deployment) (kube_deployment_status_replicas_unavailable{{{sel}}}) > 0"
        obj, lab = f"deployment/{m.name}", {"namespace": ns, "deployment": m.name}

        def series(missing: int) -> list[dict[str, str]]:
            return [_series("kube_deployment_status_replicas_unavailable", lab, f"{missing}+0x40")]

    a = _symptom(
        m, "ReplicasUnavailable", TICKET, expr, "15m", f"{m.name}: replicas unavailable",
        "{{ $value }} replica(s) of " + m.name + " in {{ $labels.namespace }} have been unavailable for 15 minutes.",
        {"meaning": "Desired replicas are not ready: pods pending, failing readiness, or stuck in a rollout.",
         "impact": "Reduced capacity and redundancy; a node loss could now take the service down.",
         "diagnosis": (f"```sh\nkubectl -n {NS_VAR} get {obj.split('/')[0] if not m.canary else 'rollout'} {m.name}\n"
                       f"kubectl -n {NS_VAR} get pods -l app.kubernetes.io/name={m.name} --field-selector=status.phase!=Running\n```\n\n"
                       f"```promql\n{expr.rsplit(' > ', 1)[0]}\n```\n\n" + _kubectl_basics(m)),
         "mitigation": "Unschedulable pods: check quotas and node capacity. Failing readiness after a release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Unavailable replicas", "expr": expr.rsplit(" > ", 1)[0], "unit": "short"},
        "Readiness probe reflects real dependency health", ())
    return _with_cases(a, [("1 replica unavailable for 30m", "1m", series(1), "30m", lab, 1.0)],
                       [("all replicas available", "1m", series(0), "30m")])


def _throttling(m: ServiceModel, ns: str) -> Alert:
    by = "namespace, pod, container"
    sel = f'{_pod_sel(m)},container!=""'
    ratio_q = (f"sum by ({by}) (increase(container_cpu_cfs_throttled_periods_total{{{sel}}}[5m]))\n"
               f"  / sum by ({by}) (increase(container_cpu_cfs_periods_total{{{sel}}}[5m]))")
    expr = f"{ratio_q}\n  > {dec(CPU_THROTTLING_RATIO)}"
    a = _symptom(
        m, "CpuThrottlingHigh", TICKET, expr, "15m", f"{m.name}: CPU throttling high",
        "{{ $value | humanizePercentage }} of CPU periods of {{ $labels.namespace }}/{{ $labels.pod }} "
        f"are throttled (limit {m.resources.cpu_limit}).",
        {"meaning": f"The container hits its CPU limit ({m.resources.cpu_limit}) in over {dec(CPU_THROTTLING_RATIO * 100)}% of CFS periods.",
         "impact": "Added latency: requests wait for CPU quota.",
         "diagnosis": f"```promql\n{ratio_q}\n```\n\n```sh\nkubectl -n {NS_VAR} top pods -l app.kubernetes.io/name={m.name}\n```",
         "mitigation": "Raise cpu_request (the limit is 4x) via copier update, or scale out; roll back a CPU-hungry release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "CPU throttling", "expr": ratio_q, "unit": "percentunit"},
        f"cpu_request {m.resources.cpu_request} reviewed against observed usage", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}

    def series(throttled: int) -> list[dict[str, str]]:
        return [_series("container_cpu_cfs_throttled_periods_total", lab, f"0+{throttled}x40"),
                _series("container_cpu_cfs_periods_total", lab, "0+100x40")]

    return _with_cases(a, [("30% of periods throttled", "1m", series(30), "30m", lab, 0.3)],
                       [("20% of periods throttled", "1m", series(20), "30m")])


def _target_down(m: ServiceModel, ns: str) -> Alert:
    expr = f'max by (namespace) (up{{job="{m.name}"}}) == 0'
    a = _symptom(
        m, "TargetDown", PAGE, expr, "5m", f"{m.name}: every scrape target is down",
        "No " + m.name + " target in {{ $labels.namespace }} answers /metrics: the service is down or unreachable.",
        {"meaning": "Prometheus cannot scrape any pod of the service in a namespace.",
         "impact": "The service is most likely down, and its SLO alerts are blind.",
         "diagnosis": (f"```promql\nup{{job=\"{m.name}\"}}\n```\n\n" + _kubectl_basics(m) +
                       (f"\n`kubectl -n {NS_VAR} get endpointslices -l kubernetes.io/service-name={m.name}`"
                        if m.has_http else "")),
         "mitigation": "Restore the pods (see events); if a release broke startup:\n\n" + _rollback(m),
         "escalation": _escalation(m, PAGE)},
        {"title": "Targets up", "expr": f'sum by (namespace) (up{{job="{m.name}"}})', "unit": "short"},
        "A pod kill in staging makes TargetDown fire only when every pod is gone", ())
    lab = {"namespace": ns}
    t1 = {"job": m.name, "namespace": ns, "instance": "10.0.0.1:8080", "pod": f"{m.name}-a"}
    t2 = {**t1, "instance": "10.0.0.2:8080", "pod": f"{m.name}-b"}
    return _with_cases(a, [("the only target is down for 10m", "1m", [_series("up", t1, "0+0x20")], "10m", lab, 0.0)],
                       [("one of two targets still up", "1m", [_series("up", t1, "0+0x20"), _series("up", t2, "1+0x20")], "10m")])


def _absent(m: ServiceModel) -> Alert:
    expr = f'absent(up{{job="{m.name}"}})'
    a = _symptom(
        m, "MetricsAbsent", TICKET, expr, "10m", f"{m.name}: no scrape target discovered",
        "Prometheus has no target with job=\"{{ $labels.job }}\" at all: the monitor, Service or pods are gone.",
        {"meaning": "No target of the service is discovered anywhere (absent, not just down).",
         "impact": "Every SLO and symptom alert of the service is blind.",
         "diagnosis": (f"```promql\nabsent(up{{job=\"{m.name}\"}})\n```\n\n"
                       "The alert has no namespace label (nothing is scraped anywhere): look in every environment.\n\n```sh\n"
                       f"for NS in {' '.join(e.namespace for e in m.environments)}; do\n"
                       f"  kubectl -n {NS_VAR} get {_monitor_kinds(m)} -l app.kubernetes.io/name={m.name}\n"
                       "done\n```"),
         "mitigation": "Re-sync the GitOps application; check the Prometheus operator's monitor selectors and the NetworkPolicy allowing the monitoring namespace.",
         "escalation": _escalation(m, TICKET)},
        {"title": "Targets discovered", "expr": f'count(up{{job="{m.name}"}})', "unit": "short"},
        "The monitor is selected by the cluster's Prometheus (target visible in /targets)", ())
    return _with_cases(a, [("no target for 15m", "1m", [_series("up", {"job": "other"}, "1+0x20")], "15m", {"job": m.name}, 1.0)],
                       [("a target exists", "1m", [_series("up", {"job": m.name, "namespace": m.production.namespace}, "1+0x20")], "15m")])


def _cron_failed(m: ServiceModel, ns: str) -> Alert:
    sel = f'{_ns_sel(m)},job_name=~"{m.name}-[0-9]+",condition="true"'
    jobs = f'{_ns_sel(m)},job_name=~"{m.name}-[0-9]+"'
    # kube-state-metrics reports a failed Job for as long as failedJobsHistoryLimit keeps it:
    # the alert ends when a run started after it has succeeded.
    expr = (f"max by (namespace, job_name) (kube_job_failed{{{sel}}}) > 0\n"
            f"unless on (namespace, job_name)\n"
            f"(max by (namespace, job_name) (kube_job_status_start_time{{{jobs}}})\n"
            f"  < on (namespace) group_left\n"
            f"  max by (namespace) (kube_cronjob_status_last_successful_time{{{_ns_sel(m)},cronjob=\"{m.name}\"}}))")
    a = _symptom(
        m, "CronJobFailed", TICKET, expr, "0m", f"{m.name}: a CronJob run failed",
        "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed.",
        {"meaning": "A run of the CronJob ended in the Failed condition (backoffLimit or activeDeadlineSeconds hit).",
         "impact": "That run's work was not done; the job-success SLO burns.",
         "diagnosis": f"```sh\nkubectl -n {NS_VAR} get jobs -l app.kubernetes.io/name={m.name}\nkubectl -n {NS_VAR} describe job <job>\nkubectl -n {NS_VAR} logs job/<job> -c {CONTAINER}\n```",
         "mitigation": f"Fix the cause, then re-run: `kubectl -n {NS_VAR} create job --from=cronjob/{m.name} {m.name}-manual`. A bad release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Failed runs", "expr": f"sum by (namespace) (kube_job_failed{{{sel}}})", "unit": "short"},
        "A failed run logs why it failed", ())
    lab = {"namespace": ns, "job_name": f"{m.name}-2"}
    failed = [_series("kube_job_failed", {**lab, "condition": "true"}, "1+0x10"),
              _series("kube_job_status_start_time", lab, "600+0x10")]
    success = _series("kube_cronjob_status_last_successful_time", {"namespace": ns, "cronjob": m.name}, "300+0x10")
    later = _series("kube_cronjob_status_last_successful_time", {"namespace": ns, "cronjob": m.name}, "900+0x10")
    return _with_cases(a, [("a Job failed after the last success", "1m", [*failed, success], "5m", lab, 1.0)],
                       [("the Job has not failed", "1m", [_series("kube_job_failed", {**lab, "condition": "true"}, "0+0x10")], "5m"),
                        ("a later run succeeded", "1m", [*failed, later], "5m")])


def _cron_stale(m: ServiceModel, ns: str) -> Alert:
    sel = f'{_ns_sel(m)},cronjob="{m.name}"'
    by = "namespace, cronjob"
    expr = (f"time() - max by ({by}) (kube_cronjob_status_last_successful_time{{{sel}}})\n"
            f"  > {CRON_MISSED_PERIODS} * max by ({by}) (kube_cronjob_next_schedule_time{{{sel}}} - kube_cronjob_status_last_schedule_time{{{sel}}})")
    a = _symptom(
        m, "CronJobLastSuccessTooOld", TICKET, expr, "5m", f"{m.name}: no successful run for {CRON_MISSED_PERIODS} periods",
        "CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago "
        f"(schedule {m.schedule!s}).",
        {"meaning": f"No run succeeded for {CRON_MISSED_PERIODS} schedule periods: runs fail, hang or are not scheduled.",
         "impact": "The job's output is stale for its consumers.",
         "diagnosis": f"```sh\nkubectl -n {NS_VAR} get cronjob {m.name} -o wide\nkubectl -n {NS_VAR} get jobs -l app.kubernetes.io/name={m.name}\n```\n\n"
                      f"```promql\ntime() - kube_cronjob_status_last_successful_time{{{sel}}}\n```",
         "mitigation": f"Unsuspend or fix the CronJob; trigger a run with `kubectl -n {NS_VAR} create job --from=cronjob/{m.name} {m.name}-manual`.\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Time since last success", "expr": f"time() - max by ({by}) (kube_cronjob_status_last_successful_time{{{sel}}})", "unit": "s"},
        "Consumers of the job's output know its freshness guarantee", ())
    lab = {"namespace": ns, "cronjob": m.name}

    def series(last_success: int) -> list[dict[str, str]]:
        return [_series("kube_cronjob_status_last_successful_time", lab, f"{last_success}+0x70"),
                _series("kube_cronjob_status_last_schedule_time", lab, "2700+0x70"),
                _series("kube_cronjob_next_schedule_time", lab, "3600+0x70")]

    return _with_cases(a, [("last success an hour ago, period 15m", "1m", series(0), "60m", lab, 3600.0)],
                       [("last success 15m ago", "1m", series(2700), "60m")])


def _with_namespace_step(m: ServiceModel, a: Alert) -> Alert:
    """A runbook whose commands use $NS starts its Diagnosis by setting it from the alert."""
    body = a.runbook["diagnosis"] + a.runbook["mitigation"]
    if NS_VAR not in body or "for NS in " in a.runbook["diagnosis"]:
        return a
    return replace(a, runbook={**a.runbook, "diagnosis": namespace_step(m) + a.runbook["diagnosis"]})


def _synthetic_probe(m: ServiceModel, ns: str) -> Alert:
    """The post-deploy synthetic probe (scaffold.verify): the blackbox exporter's
    probe_success for the live URL, per environment."""
    from . import verify

    sel = f'job="{verify.job_name(m)}",{_ns_sel(m)}'
    expr = f"max by (namespace) (probe_success{{{sel}}}) == 0"
    url = verify.live_url(m, m.production)
    a = _symptom(
        m, "SyntheticProbeFailing", PAGE, expr, verify.PROBE_FOR, f"{m.name}: the synthetic probe of the live URL fails",
        "The blackbox probe of " + m.name + " in {{ $labels.namespace }} has failed for "
        f"{verify.PROBE_FOR}: users cannot reach {verify.PROBE_PATH}.",
        {"meaning": (f"The platform's blackbox exporter requests {url} (per environment: k8s/base/probe.yaml and the "
                     f"overlays) every {verify.PROBE_INTERVAL}, and no probe in a namespace has succeeded for "
                     f"{verify.PROBE_FOR}: no 2xx within {verify.PROBE_TIMEOUT}, a TLS or DNS failure, or the route is gone."),
         "impact": "What users see: the live URL is down or unreachable, whatever the pods' own metrics say.",
         "diagnosis": (f"```promql\nprobe_success{{{sel}}}\nprobe_http_status_code{{{sel}}}\n"
                       f"probe_duration_seconds{{{sel}}}\n```\n\n"
                       f"```sh\ncurl -sS -o /dev/null -w '%{{http_code}} %{{time_total}}s\\n' {url}\n"
                       f"kubectl -n {NS_VAR} get probe {verify.probe_name(m)} -o yaml\n```\n\n" + _kubectl_basics(m)
                       + "\nCheck the route (HTTPRoute/Ingress status), the certificate, DNS, then the pods."),
         "mitigation": ("A failed post-deploy smoke test has already rolled back; if the probe fails after a release "
                        "anyway:\n\n" + _rollback(m)
                        + "If no release is involved, fix the route, certificate or DNS record the diagnosis points at."),
         "escalation": _escalation(m, PAGE)},
        {"title": "Synthetic probe success", "expr": f"min by (namespace) (probe_success{{{sel}}})", "unit": "short"},
        f"The platform's blackbox exporter ({verify.BLACKBOX_HOST}) serves the {verify.PROBE_MODULE} module and "
        f"probes {url}", ())
    lab = {"namespace": ns}
    raw = {"job": verify.job_name(m), "namespace": ns, "instance": url, "service": m.name}
    return _with_cases(a, [("every probe fails for 10m", "30s", [_series("probe_success", raw, "0+0x40")], "10m", lab, 0.0)],
                       [("the probe succeeds", "30s", [_series("probe_success", raw, "1+0x40")], "10m"),
                        ("failing for less than for:", "30s", [_series("probe_success", raw, "1+0x10 0+0x30")], "8m")])


CACHE_KEY = "_catalog_alerts"  # private: ``m.alerts`` stays an error, templates call sc.catalog.alerts(m)


def alerts(m: ServiceModel) -> tuple[Alert, ...]:
    """The alert catalog of this service, built once per model instance and kept
    on it as a cached property would be (``copy.copy(m)`` shares it). The model
    itself knows nothing of alerts: artifacts ask here."""
    got = m.__dict__.get(CACHE_KEY)
    if got is None:
        got = m.__dict__[CACHE_KEY] = tuple(alerts_for(m))
    return got


def alerts_for(m: ServiceModel) -> list[Alert]:
    """Every alert of the service, SLO alerts first, in a stable order."""
    ns = m.production.namespace
    out: list[Alert] = []
    for s in slomath.slos_for(m):
        out += _slo_alerts(m, s)
    if m.blueprint == "cronjob":
        out += [_cron_failed(m, ns), _cron_stale(m, ns)]
    else:
        out += [_high_latency(m, ns), _target_down(m, ns), _absent(m)]
        if m.has_http:  # post-deploy verification: the synthetic probe of the live URL
            out.append(_synthetic_probe(m, ns))
    out += [_crashloop(m, ns), _oom(m, ns)]
    if m.scales:
        out += [_hpa(m, ns), _unavailable(m, ns)]
    out.append(_throttling(m, ns))
    out = [_with_namespace_step(m, a) for a in out]
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise ValueError(f"alert names collide: {sorted({n for n in names if names.count(n) > 1})}")
    return out
