"""The alert catalog: every alert defined once, everything else derived from it.

Each :class:`Alert` carries its Prometheus rule (expr, for, labels,
annotations), its runbook sections, its dashboard panel, its backlog
acceptance criteria and its promtool test cases (one that fires with the exact
expanded labels and annotations, at least one that stays silent). Rule files,
runbooks/<Alert>.md, the promtool test file, dashboards and backlog tasks are
all rendered from :func:`alerts_for`. Thresholds come from :mod:`scaffold.model.slo`.

One module per alert family, each alert's rule, runbook prose, test cases and panel
together: ``slo_burn``, ``latency``, ``pods``, ``scaling``, ``scrape``, ``cron``,
``probe``. Below them: ``types`` (Alert, Case), ``common`` (labels, annotations,
shared runbook prose), ``series`` (promtool test-series synthesis) and
``gotemplate`` (Prometheus' template expansion). Templates reach this package as
``sc.alerts`` (and, for now, ``sc.catalog``).
"""
from __future__ import annotations

from ...conventions import PAGE, TICKET
from ...model import slo
from ...model.service import ServiceModel
from .common import _expected, _with_namespace_step, namespace_step
from .cron import _cron_failed, _cron_stale
from .gotemplate import expand, humanize_duration
from .latency import _high_latency
from .pods import _crashloop, _oom, _throttling
from .probe import _synthetic_probe
from .scaling import _hpa, _unavailable
from .scrape import _absent, _target_down
from .series import (
    JOB_REPORTED_MINUTES,
    _per_minute,
    age_guard,
    cumulative,
    job_runs_series,
    slo_series,
    values,
)
from .slo_burn import _slo_alerts, bad_events, burn_panel, fire_ratio, sli_absent_expr
from .types import Alert, Case

CACHE_KEY = "_catalog_alerts"  # private: ``m.alerts`` stays an error, templates call sc.alerts.alerts(m)


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
    for s in slo.slos_for(m):
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

__all__ = [
    "Alert",
    "CACHE_KEY",
    "Case",
    "JOB_REPORTED_MINUTES",
    "PAGE",
    "TICKET",
    "_expected",
    "_per_minute",
    "age_guard",
    "alerts",
    "alerts_for",
    "bad_events",
    "burn_panel",
    "cumulative",
    "expand",
    "fire_ratio",
    "humanize_duration",
    "job_runs_series",
    "namespace_step",
    "sli_absent_expr",
    "slo_series",
    "values",
]
