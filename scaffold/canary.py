"""Progressive delivery policy: the Argo Rollouts canary and its SLO analysis.

The analysis asks Prometheus for the SAME SLI recording rules the SLO alerts
use (``slo:sli_error:ratio_rate5m``), and fails when the short-window error
ratio exceeds the error budget ratio (1 - objective). A failed analysis
aborts the rollout: traffic returns to the stable ReplicaSet.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import slo as slo_policy
from .k8s import MONITORING_NAMESPACE
from .model import ServiceModel

Obj = dict[str, Any]

API_VERSION = "argoproj.io/v1alpha1"
PROMETHEUS_ADDRESS = f"http://prometheus-operated.{MONITORING_NAMESPACE}.svc:9090"
SLI_RULE = "slo:sli_error:ratio_rate5m"  # shortest SLI window: reacts within minutes
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


def gated_slos(m: ServiceModel) -> list[slo_policy.SLO]:
    """Request-rate SLOs: those a canary can move within minutes."""
    return [s for s in slo_policy.slos_for(m) if s.rate_based]


def max_error_ratio(s: slo_policy.SLO) -> Decimal:
    """The canary passes while the 5m error ratio stays within the error budget ratio."""
    return s.budget


def query(m: ServiceModel, s: slo_policy.SLO) -> str:
    return f'max({SLI_RULE}{{service="{m.name}",slo="{s.name}",namespace="{{{{args.namespace}}}}"}})'


def success_condition(s: slo_policy.SLO) -> str:
    # NaN: no requests in the window (0/0) is no evidence against the canary.
    return f"isNaN(result[0]) || result[0] <= {slo_policy.dec(max_error_ratio(s))}"


def _metric(m: ServiceModel, s: slo_policy.SLO, gate: bool) -> Obj:
    return {
        "name": s.name,
        "interval": INTERVAL,
        **({"count": GATE_COUNT} if gate else {}),
        "successCondition": success_condition(s),
        "failureLimit": FAILURE_LIMIT,
        "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
        "provider": {"prometheus": {"address": PROMETHEUS_ADDRESS, "query": query(m, s)}},
    }


def analysis_template(m: ServiceModel, gate: bool = False) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {"name": template_name(m, gate), "labels": dict(m.labels)},
        "spec": {
            "args": [{"name": "namespace"}],
            "metrics": [_metric(m, s, gate) for s in gated_slos(m)],
        },
    }


def analysis_templates(m: ServiceModel) -> list[Obj]:
    return [analysis_template(m), analysis_template(m, gate=True)]


def _analysis_ref(m: ServiceModel, gate: bool = False) -> Obj:
    return {
        "templates": [{"templateName": template_name(m, gate)}],
        "args": [{"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
    }


def steps(m: ServiceModel) -> list[Obj]:
    return [{"analysis": _analysis_ref(m, gate=True)} if "analysis" in st else dict(st) for st in STEPS]


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
                # Background analysis from the first step until promotion.
                "analysis": {**_analysis_ref(m), "startingStep": 1},
                "steps": steps(m),
            }},
        },
    }
