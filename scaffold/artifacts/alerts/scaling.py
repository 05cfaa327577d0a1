"""Scaling: the HPA at its maximum and too few available replicas (services that scale)."""

from __future__ import annotations

from ...conventions import TICKET
from ...model import slo
from ...model.service import ServiceModel
from .common import (
    NS_VAR,
    _escalation,
    _kubectl_basics,
    _ns_sel,
    _rollback,
    _symptom,
    _with_cases,
)
from .series import _series
from .types import Alert


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
        sel = f'exported_namespace=~"{slo.namespace_regex(m)}",name="{m.name}"'
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
