"""Chaos Mesh experiments, each a falsifiable hypothesis tied to an SLO and the
runbook of the alert that would page if the hypothesis were wrong.

They run in the environment promoted into production (pre-production), never
in production itself unless it is the only environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import slo
from ..model.service import Environment, ServiceModel
from . import alerts

Obj = dict[str, Any]

API_VERSION = "chaos-mesh.org/v1alpha1"
POD_KILL_SCHEDULE = "0 10 * * 2"  # Tuesdays 10:00 UTC: business hours, people around
NETWORK_DURATION = "10m"
MIN_DELAY_MS = 10
DELAY_SHARE = 5  # inject a fifth of the latency threshold


@dataclass(frozen=True)
class Experiment:
    name: str
    kind: str
    slo: str
    alert: str
    runbook_url: str
    hypothesis: str


def target_environment(m: ServiceModel) -> Environment:
    if m.production.previous:
        return next(e for e in m.environments if e.name == m.production.previous)
    return m.production


def delay_ms(m: ServiceModel) -> int:
    return max(MIN_DELAY_MS, m.slo_latency_ms // DELAY_SHARE)


def _slo(m: ServiceModel, *preferred: str) -> slo.SLO:
    slos = slo.slos_for(m)
    for name in preferred:
        for s in slos:
            if s.name == name:
                return s
    return slos[0]


def _alert(m: ServiceModel, slo_name: str) -> Any:
    """The page (else any) alert of that SLO: the one that proves the hypothesis wrong."""
    ranked = sorted((a for a in alerts.alerts(m) if a.slo == slo_name), key=lambda a: a.tier != "page")
    return ranked[0] if ranked else alerts.alerts(m)[0]


def experiments(m: ServiceModel) -> list[Experiment]:
    env = target_environment(m)
    out = []
    avail = _slo(m, "availability", "job-success")
    alert = _alert(m, avail.name)
    recovery = {
        "service": f"one of {env.replicas_min}+ pods of {m.name}: the Service and readiness probes route "
                   "around it and a replacement is Ready within a minute",
        "worker": f"one of {env.replicas_min}+ worker pods of {m.name}: its unacknowledged jobs are redelivered "
                  "to the others and a replacement starts within a minute",
        "cronjob": f"a running job pod of {m.name}: the Job retries it (backoffLimit) and the run still succeeds",
    }[m.blueprint]
    out.append(Experiment(
        f"{m.name}-pod-kill", "PodChaos", avail.name, alert.name, m.runbook_url(alert.name),
        f"Killing {recovery}; the {avail.title} SLO ({slo.dec(avail.objective)}%) holds in "
        f"{env.namespace} and {alert.name} stays silent."))
    lat = _slo(m, "latency", avail.name)
    alert = _alert(m, lat.name)
    out.append(Experiment(
        f"{m.name}-network-delay", "NetworkChaos", lat.name, alert.name, m.runbook_url(alert.name),
        f"Adding {delay_ms(m)}ms to every packet {m.name} sends for {NETWORK_DURATION} keeps the {lat.title} SLO "
        f"({slo.dec(lat.objective)}%"
        + (f" of requests within {m.slo_latency_ms}ms" if lat.name == "latency" else "")
        + f"): {alert.name} stays silent."))
    return out


def _meta(m: ServiceModel, e: Experiment, env: Environment) -> Obj:
    return {
        "name": e.name,
        "namespace": env.namespace,
        "labels": {"app.kubernetes.io/name": m.name, "app.kubernetes.io/part-of": m.name,
                   "scaffold.dev/team": m.team},
        "annotations": {"scaffold.dev/hypothesis": e.hypothesis, "scaffold.dev/slo": e.slo,
                        "scaffold.dev/alert": e.alert, "scaffold.dev/runbook": e.runbook_url},
    }


def _selector(m: ServiceModel, env: Environment) -> Obj:
    return {"namespaces": [env.namespace], "labelSelectors": dict(m.selector_labels)}


def pod_kill_spec(m: ServiceModel, env: Environment) -> Obj:
    return {"action": "pod-kill", "mode": "one", "selector": _selector(m, env), "gracePeriod": 0}


def objects(m: ServiceModel) -> list[Obj]:
    env = target_environment(m)
    pod, net = experiments(m)
    pod_kill: Obj = {"apiVersion": API_VERSION, "kind": "PodChaos", "metadata": _meta(m, pod, env),
                     "spec": pod_kill_spec(m, env)}
    network: Obj = {"apiVersion": API_VERSION, "kind": "NetworkChaos", "metadata": _meta(m, net, env),
                    "spec": {"action": "delay", "mode": "all", "selector": _selector(m, env),
                             "direction": "to", "duration": NETWORK_DURATION,
                             "delay": {"latency": f"{delay_ms(m)}ms", "jitter": "5ms", "correlation": "25"}}}
    weekly_meta = _meta(m, pod, env)
    weekly_meta["name"] = f"{m.name}-pod-kill-weekly"
    weekly: Obj = {"apiVersion": API_VERSION, "kind": "Schedule", "metadata": weekly_meta,
                   "spec": {"schedule": POD_KILL_SCHEDULE, "type": "PodChaos", "historyLimit": 5,
                            "concurrencyPolicy": "Forbid", "podChaos": pod_kill_spec(m, env)}}
    return [pod_kill, network, weekly]
