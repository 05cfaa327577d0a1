"""Progressive delivery policy: the Argo Rollouts canary and its SLO analysis.

The analysis measures the canary's own pods against the stable ones: the
ServiceMonitor copies the pods' ``rollouts-pod-template-hash`` label onto every
series (``podTargetLabels``), and the Rollout passes the canary and stable hashes
as arguments. Per request SLO, two metrics:

* ``<slo>-vs-stable``: the canary's 5m error ratio minus the stable pods' stays
  within the error budget ratio (1 - objective). A downstream outage that hurts
  both does not abort a good canary.
* ``<slo>-canary``: the canary alone never burns budget at the paging rate
  (the 1h/5m tier's factor x budget), whatever the stable pods do.

No data is no evidence: an empty result (no series yet, first deploy, a quiet
dev namespace) is an Error in Argo Rollouts and aborts after
``consecutiveErrorLimit``, so every condition starts with
``len(result) == 0 || isNaN(result[0])``.
Extra ratio SLOs whose queries carry no ``job`` selector cannot be split by pod
and are measured on the SLO's namespace-wide SLI recording rule.

Without trafficRouting a canary weight is a share of pods, not of requests:
the steps below are therefore written as pod shares, and the plan's duration
(:func:`plan_seconds`) is what CD waits for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..conventions import SLI_ERROR_RATIO_5M
from ..model import slo
from ..model.service import ServiceModel
from .kube import MONITORING_NAMESPACE

Obj = dict[str, Any]

API_VERSION = "argoproj.io/v1alpha1"
PROMETHEUS_ADDRESS = f"http://prometheus-operated.{MONITORING_NAMESPACE}.svc:9090"
SLI_RULE = SLI_ERROR_RATIO_5M  # shortest SLI window: reacts within minutes
# Canary steps: small blast radius first, analysis gate before half the pods move.
STEPS: tuple[Obj, ...] = (
    {"setWeight": 10},
    {"pause": {"duration": "5m"}},
    {"setWeight": 25},
    {"pause": {"duration": "5m"}},
    {"analysis": None},  # the inline gate; filled in by rollout()
    {"setWeight": 50},
    {"pause": {"duration": "10m"}},
    {"setWeight": 75},
    {"pause": {"duration": "5m"}},
)
INTERVAL = "1m"
GATE_COUNT = 5  # the inline gate measures five times (5 minutes)
FAILURE_LIMIT = 2  # a third failed measurement fails the run and aborts the rollout
CONSECUTIVE_ERROR_LIMIT = 4  # Prometheus unreachable for 4 minutes also aborts
ABORT_SCALE_DOWN_DELAY_SECONDS = 30
SCALE_DOWN = "progressively"  # the Deployment shrinks as the Rollout grows, and comes back on failure


def template_name(m: ServiceModel, gate: bool = False) -> str:
    """Background analysis runs until promotion; the gate template is finite."""
    return f"{m.name}-slo-gate" if gate else f"{m.name}-slo"


def gated_slos(m: ServiceModel) -> list[slo.SLO]:
    """Request-rate SLOs: those a canary can move within minutes."""
    return [s for s in slo.slos_for(m) if s.rate_based]


def max_error_ratio(s: slo.SLO) -> Decimal:
    """The canary passes while its 5m error ratio exceeds the stable's by at most the budget ratio."""
    return s.budget


def page_error_ratio(m: ServiceModel, s: slo.SLO) -> Decimal:
    """The canary alone may not burn budget at the fastest paging rate (1h/5m tier)."""
    fastest = slo.burn_rate_windows(m.slo_window_days)[0]
    return slo.threshold(fastest.factor, s.objective)


POD_HASH_LABEL = "rollouts-pod-template-hash"  # set by Argo Rollouts on every pod it owns
POD_HASH_SERIES_LABEL = "rollouts_pod_template_hash"  # the same, as Prometheus sanitises it
WINDOW = "5m"


def query(m: ServiceModel, s: slo.SLO) -> str:
    """The namespace-wide SLI recording rule (extra SLOs that cannot be split by pod)."""
    return f'max({SLI_RULE}{{service="{m.name}",slo="{s.name}",namespace="{{{{args.namespace}}}}"}})'


def _job_matcher(m: ServiceModel) -> str:
    return f'job="{m.name}"'


def splits_by_pod(m: ServiceModel, s: slo.SLO) -> bool:
    return _job_matcher(m) in s.error_query and _job_matcher(m) in s.total_query


def pod_error_ratio(m: ServiceModel, s: slo.SLO, hash_arg: str) -> str:
    """The SLO's 5m error ratio over the pods of one ReplicaSet (by pod-template hash)."""
    scoped = (f'{_job_matcher(m)},namespace="{{{{args.namespace}}}}",'
              f'{POD_HASH_SERIES_LABEL}="{{{{args.{hash_arg}}}}}"')
    ratio = s.error_ratio(WINDOW).replace(_job_matcher(m), scoped)
    return f"sum({ratio})"


def no_data_guard(condition: str) -> str:
    """Empty result or 0/0: no evidence against the canary, never an Error."""
    return f"len(result) == 0 || isNaN(result[0]) || {condition}"


def success_condition(s: slo.SLO, limit: Decimal | None = None) -> str:
    return no_data_guard(f"result[0] <= {slo.dec(max_error_ratio(s) if limit is None else limit)}")


def _metric(name: str, q: str, condition: str, gate: bool) -> Obj:
    return {
        "name": name,
        "interval": INTERVAL,
        **({"count": GATE_COUNT} if gate else {}),
        "successCondition": condition,
        "failureLimit": FAILURE_LIMIT,
        "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
        "provider": {"prometheus": {"address": PROMETHEUS_ADDRESS, "query": q}},
    }


def metrics(m: ServiceModel, gate: bool = False) -> list[Obj]:
    out = []
    for s in gated_slos(m):
        if not splits_by_pod(m, s):
            out.append(_metric(s.name, query(m, s), success_condition(s), gate))
            continue
        canary, stable = pod_error_ratio(m, s, "canary-hash"), pod_error_ratio(m, s, "stable-hash")
        out.append(_metric(f"{s.name}-vs-stable", f"({canary}) - ({stable})", success_condition(s), gate))
        out.append(_metric(f"{s.name}-canary", canary, success_condition(s, page_error_ratio(m, s)), gate))
    return out


ARGS = ("namespace", "canary-hash", "stable-hash")


def analysis_template(m: ServiceModel, gate: bool = False) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {"name": template_name(m, gate), "labels": dict(m.labels)},
        "spec": {
            "args": [{"name": a} for a in ARGS],
            "metrics": metrics(m, gate),
        },
    }


def analysis_templates(m: ServiceModel) -> list[Obj]:
    return [analysis_template(m), analysis_template(m, gate=True)]


def _analysis_ref(m: ServiceModel, gate: bool = False) -> Obj:
    return {
        "templates": [{"templateName": template_name(m, gate)}],
        "args": [{"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                 {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
                 {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}}],
    }


def steps(m: ServiceModel) -> list[Obj]:
    return [{"analysis": _analysis_ref(m, gate=True)} if "analysis" in st else dict(st) for st in STEPS]


# ingress=gateway: the canary weight is a share of requests, set on the HTTPRoute by
# the Argo Rollouts Gateway API plugin (argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi).
# ingress=ingress/none: no routing, the weight is a share of pods.
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"


def traffic_routed(m: ServiceModel) -> bool:
    return m.canary and m.ingress == "gateway"


def canary_service_name(m: ServiceModel) -> str:
    return f"{m.name}-canary"


def traffic_routing(m: ServiceModel) -> Obj:
    return {"canaryService": canary_service_name(m), "stableService": m.name,
            "trafficRouting": {"plugins": {GATEWAY_PLUGIN: {"httpRoute": m.name, "namespace": m.name}}}}


def rollout(m: ServiceModel) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "Rollout",
        "metadata": {"name": m.name, "labels": dict(m.labels)},
        "spec": {
            # No replicas: the HPA scales the Rollout (scaleTargetRef kind Rollout).
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            "progressDeadlineAbort": True,
            "selector": {"matchLabels": dict(m.selector_labels)},
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name,
                            "scaleDown": SCALE_DOWN},
            "strategy": {"canary": {
                "maxSurge": "25%",
                "maxUnavailable": 0,
                "abortScaleDownDelaySeconds": ABORT_SCALE_DOWN_DELAY_SECONDS,
                **(traffic_routing(m) if traffic_routed(m) else {}),
                # Background analysis from the first step until promotion.
                "analysis": {**_analysis_ref(m), "startingStep": 1},
                "steps": steps(m),
            }},
        },
    }


# -- how long the plan takes (CD waits for it) ----------------------------------
STEP_READY_SECONDS = 180  # a setWeight step: new pods scheduled, started and Ready
SYNC_SECONDS = 600  # the GitOps controller notices the deploy branch and applies it
POLL_SECONDS = 15  # how often CD looks at the Rollout
_UNITS = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(text: str) -> int:
    """An Argo Rollouts duration ("30s", "5m", "1h"; a bare number is seconds)."""
    text = str(text)
    if text[-1:] in _UNITS:
        return int(text[:-1]) * _UNITS[text[-1]]
    return int(text)


def plan_seconds(m: ServiceModel) -> int:
    """The canary plan's own duration, from the Rollout's steps: every pause, every
    inline analysis (count x interval), a pod start per setWeight and the final
    promotion. A wait shorter than this rolls back a healthy release."""
    total = 0
    for st in steps(m):
        if "pause" in st:
            total += duration_seconds(st["pause"]["duration"])
        elif "setWeight" in st:
            total += STEP_READY_SECONDS
        elif "analysis" in st:
            total += GATE_COUNT * duration_seconds(INTERVAL)
    return total + STEP_READY_SECONDS  # 100%: the last pods of the new ReplicaSet


def wait_seconds(m: ServiceModel) -> int:
    """How long CD waits for one environment: sync, then the whole plan (rolling: a Deployment rollout)."""
    rollout = plan_seconds(m) if m.canary else ROLLING_SECONDS
    return SYNC_SECONDS + rollout + HEALTH_SECONDS


ROLLING_SECONDS = 900  # kubectl rollout status of a Deployment (progressDeadlineSeconds 600 + margin)
HEALTH_SECONDS = 600  # then the Application / Kustomization reports Healthy / Ready


def polls(seconds: int) -> int:
    return -(-seconds // POLL_SECONDS)
