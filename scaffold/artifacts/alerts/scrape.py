"""Scraping: targets down and the service's metrics absent."""

from __future__ import annotations

from ...conventions import PAGE, TICKET
from ...model.service import ServiceModel
from .common import (
    NS_VAR,
    _escalation,
    _kubectl_basics,
    _monitor_kinds,
    _rollback,
    _symptom,
    _with_cases,
)
from .series import _series
from .types import Alert


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
