"""What every alert family shares: labels and annotations, the expected-alert form of a
test case, the runbook prose (namespace, rollback, kubectl basics, escalation), the
backlog criteria and the symptom-alert builder.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...conventions import CONTAINER, PAGE, SEVERITY
from ...model import slo
from ...model.service import ServiceModel
from .gotemplate import expand
from .types import Alert, Case


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


# -- symptom alerts --------------------------------------------------------------
def _ns_sel(m: ServiceModel) -> str:
    return f'namespace=~"{slo.namespace_regex(m)}"'


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


def _with_namespace_step(m: ServiceModel, a: Alert) -> Alert:
    """A runbook whose commands use $NS starts its Diagnosis by setting it from the alert."""
    body = a.runbook["diagnosis"] + a.runbook["mitigation"]
    if NS_VAR not in body or "for NS in " in a.runbook["diagnosis"]:
        return a
    return replace(a, runbook={**a.runbook, "diagnosis": namespace_step(m) + a.runbook["diagnosis"]})
