"""Backlog policy: the plan the hook files, as data. Pure functions of the model
and the artifact list, so every render files the same tasks in the same order.

The plan has three layers:

* **milestones** from the ``environments`` answer: one "<env> live" per
  environment before production, "<prod> ready", then "on-call ready";
* a handful of outcome-level **parent tasks** (:data:`PARENTS`), each due by the
  latest milestone of its subtasks;
* one **subtask per reviewable unit** (:data:`UNITS`: one workflow, one manifest,
  one overlay, one Terraform root or module, one dashboard...), plus one
  "Runbook: <Alert> response" subtask per alert, the catalog's and the team's own
  (found in the package's rule files).

A unit's identity (kept in ``references``) is its path: a file, or a folder whose
files all belong to it. A file that no unit claims is not an artifact: the team's
own files never get a task. A new generated artifact needs one :data:`UNITS` entry
(tests/test_backlog_plan.py fails for a generated file that no unit claims).
"""

from __future__ import annotations

import fnmatch
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..model.service import ServiceModel, env_namespace
from . import alerts, manifests

GENERATED_LABEL = "scaffold"  # marks tasks the hook owns (vanished-artifact detection)
REMOVED_LABEL = "artifact-removed"
PARENT_REF = "scaffold:plan/"  # a parent task's identity, in its references
# Not artifacts: Copier's own bookkeeping and the backlog itself.
EXCLUDED = (".copier-answers.yml", "backlog/*", ".git/*")
KEPT_SUFFIX = ".scaffold-kept"  # the team's version of a file an update deleted (scaffold.keep)
PRIORITIES = ("high", "medium", "low")


# -- the tables -------------------------------------------------------------------
Crit = Callable[[ServiceModel, "Inst"], list[str]]


@dataclass(frozen=True)
class Parent:
    key: str
    title: Callable[[ServiceModel], str]
    outcome: Callable[[ServiceModel], str]  # the description's first paragraph
    criteria: Callable[[ServiceModel], list[str]]
    needs: tuple[str, ...] = ()  # other parents' keys: this outcome builds on theirs


@dataclass(frozen=True)
class Unit:
    """One reviewable unit. ``paths[0]`` is its identity; a path ending in "/" takes
    every file below it (not claimed by an earlier unit); the others are the files
    reviewed with it. Placeholders: {svc}, {env} (one unit per environment), {prev}
    (the environment promoted from), {module} (Terraform modules), {dashboard}."""

    paths: tuple[str, ...]
    parent: str
    title: str
    milestone: str  # first | env | prelive | prod | oncall (see milestone_of)
    criteria: Crit
    needs: tuple[str, ...] = ()  # other units' paths[0], same placeholders


@dataclass(frozen=True)
class Inst:
    """A unit found in the package."""

    unit: Unit
    key: str
    files: tuple[str, ...]
    vars: dict[str, str] = field(default_factory=dict)
    env: Any = None

    def has(self, name: str) -> bool:
        return any(f == name or f.endswith("/" + name) for f in self.files)


def _envs(m: ServiceModel) -> str:
    return ", ".join(e.name for e in m.environments)


def _prod(m: ServiceModel) -> Any:
    return m.environments[-1]


def _pre(m: ServiceModel) -> Any:
    """The environment production is promoted from (staging, by default)."""
    return m.environments[-2] if len(m.environments) > 1 else m.environments[0]


def _first(u: Inst, m: ServiceModel) -> bool:
    return u.env is not None and u.env.index == m.environments[0].index


def _rollback(m: ServiceModel) -> str:
    branch = f"deploy/{m.environments[-1].name}"  # the deploy branch GitOps follows
    if m.canary:
        return f"`kubectl argo rollouts abort {m.name}`, then {branch} reset to its previous tip"
    if m.blueprint == "cronjob":
        return f"suspend the CronJob, then {branch} reset to its previous tip"
    return f"`kubectl rollout undo deployment/{m.name}`, then {branch} reset to its previous tip"


PARENTS: tuple[Parent, ...] = (
    Parent("cicd", lambda m: f"Set up CI/CD for {m.name}",
           lambda m: f"Every change to {m.name} is built once, checked, and promoted by digest through {_envs(m)}.",
           lambda m: [f"A change merged to main reaches {m.environments[0].name} through CI and CD with no manual step",
                      f"The digest running in {_prod(m).name} traces back to one commit and one CI run"]),
    Parent("infra", lambda m: "Cloud infrastructure (Terraform)",
           lambda m: f"The {m.cloud} resources {m.name} needs exist in every environment, from reviewed plans.",
           lambda m: [f"Every Terraform root ({_envs(m)}) was applied from a reviewed plan, never from a laptop"]),
    Parent("k8s", lambda m: "Kubernetes deployment configuration",
           lambda m: f"{m.name} runs in every environment's namespace, deployed by {m.gitops} from the overlays.",
           lambda m: [f"{m.name} is healthy in {', '.join(e.namespace for e in m.environments)}, "
                      f"every object applied by {m.gitops} and none by hand"],
           needs=("cicd", "infra")),
    Parent("observability", lambda m: "Observability stack",
           lambda m: f"Prometheus scrapes {m.name}, loads its rules, and Grafana shows its dashboards in every environment.",
           lambda m: [f"An engineer new to {m.name} finds its traffic, errors and saturation in Grafana within a minute"],
           needs=("k8s",)),
    Parent("slo", lambda m: "SLOs and alerting",
           lambda m: (f"The SLOs ({m.slo_availability}% availability, {m.slo_latency_target}% under {m.slo_latency_ms} ms, "
                      f"{m.slo_window_days} days) are measured and their burn-rate alerts reach {m.team}."),
           lambda m: [f"The error budget of {m.name} in {_prod(m).name} is reported from live traffic, "
                      "and a burn that pages is routed to the pager, a slow burn to the ticket queue"],
           needs=("observability",)),
    Parent("oncall", lambda m: f"On-call readiness for {m.name}",
           lambda m: f"{m.team} can take the pager for {m.name}: every alert has a rehearsed response.",
           lambda m: [f"The rollback ({_rollback(m)}) was rehearsed in {_pre(m).name}, written once, and every "
                      "runbook's Mitigation links it",
                      f"{m.team}'s on-call rotation received a test page and acknowledged it"],
           needs=("slo",)),
    Parent("resilience", lambda m: "Security, backup and resilience",
           lambda m: f"{m.name} is scanned, policed by admission policy, backed up, and its failure modes were drilled.",
           lambda m: [f"The security reviewer signed off {m.name} for {_prod(m).name}"],
           needs=("k8s",)),
    Parent("docs", lambda m: "Service documentation and catalog",
           lambda m: f"{m.name} is documented for its users and its next owners, and listed in the service catalog.",
           lambda m: [f"A new member of {m.team} deploys {m.name} to {m.environments[0].name} from the documentation alone"]),
)


def _k(path: str) -> str:
    return str(PurePosixPath(path))


UNITS: list[Unit] = [
    # -- CI/CD ---------------------------------------------------------------------------------
    Unit((".github/workflows/ci.yml",), "cicd", "CI workflow", "first", lambda m, u: [
        f"A pull request runs ci.yml green end to end: lint, unit tests, image build for {m.image}",
        "Branch protection on the default branch requires ci.yml's checks",
        "Every `uses:` in .github/workflows stays pinned to a 40-hex commit SHA "
        "(actionlint and `zizmor --offline` report 0 findings)",
    ]),
    Unit((".github/workflows/cd.yml",), "cicd", "CD workflow", "first", lambda m, u: [
        f"A merge to main builds {m.image} once and promotes the same digest through {_envs(m)}",
        f"Promotion to {_prod(m).name} waits for the GitHub environment approval",
        "CD commits each overlay's image digest (`kustomize edit set image`), never a mutable tag",
    ], needs=(".github/workflows/ci.yml", "Dockerfile")),
    Unit(("Dockerfile", ".dockerignore"), "cicd", "Container image", "first", lambda m, u: [
        f"`docker build` produces {m.image} running as a non-root user with a read-only root filesystem",
        "hadolint reports no findings and the base image is pinned by digest",
        f"The image serves /metrics on port {m.port}" if m.blueprint != "cronjob"
        else "The image runs the job once and exits without opening a port",
    ] + (["The build context excludes .git, backlog/ and local secrets (.dockerignore)"] if u.has(".dockerignore") else [])),
    Unit(("app/",), "cicd", "Application skeleton", "first", lambda m, u: [
        f"The app/ skeleton ({m.stack}) builds and its tests pass in CI",
        f"The metrics the SLO rules query are exported ({m.name}'s /metrics, scraped in {_pre(m).name})"
        if m.blueprint != "cronjob" else "A failed run exits non-zero, so the Job status and its alert reflect it",
        *_tracing_criteria(m),
    ]),
    Unit(("tests/integration/",), "cicd", "Container integration and end-to-end checks", "first", lambda m, u: [
        "ci.yml's integration job passes against the built container before anything is pushed",
        "The checks cover the service's real routes, not only the sample route",
    ], needs=("Dockerfile",)),
    Unit(("tests/load/",), "cicd", "SLO load test", "prelive", lambda m, u: [
        f"ci.yml's load job holds {_load_thresholds(m)} (the SLO's latency and error budget) against the built "
        "container",
        "The load profile (VUs, requests) reflects the service's expected peak traffic",
    ], needs=("observability/slo.yaml",)),
    Unit(("tests/dast/",), "cicd", "DAST baseline (OWASP ZAP)", "prelive", lambda m, u: [
        "ci.yml's dast job reports no high-risk alert against the built container",
        f"Every IGNORE in {teststages_rules()} states its reason and was reviewed by {m.team}",
    ], needs=("Dockerfile",)),
    Unit((".github/workflows/security.yml", ".github/zizmor.yml", ".github/requirements-security-tools.txt"), "cicd",
         "Security scanning workflow", "prod", lambda m, u: [
             "A scheduled run of security.yml completes and uploads its findings to code scanning",
             "A seeded vulnerable dependency on a test branch is reported by the scan",
             "Every rule .github/zizmor.yml ignores names its reason",
         ], needs=(".github/workflows/ci.yml",)),
    Unit((".github/workflows/blueprint-update.yml", ".github/renovate.json"), "cicd",
         "Template updates: blueprint-update and Renovate", "prod", lambda m, u: [
             "A new template tag opens one labelled pull request with `copier update` applied and the backlog re-synced",
             "An update with conflicts opens its pull request marked as conflicted, never merged silently",
             "Renovate's dependency dashboard lists the scaffold template as a `copier` dependency",
         ], needs=(".github/workflows/ci.yml",)),
    # -- Terraform -----------------------------------------------------------------------------
    Unit(("terraform/modules/{module}/",), "infra", "Terraform module {module}", "first", lambda m, u: [
        f"`terraform test` passes in {u.key} and checkov reports no unaccepted finding there",
        f"The inputs and outputs of the {u.vars['module']} module are documented in its README",
    ]),
    Unit(("terraform/environments/{env}/",), "infra", "Terraform root: {env}", "env", lambda m, u: [
        f"`terraform plan` in {u.key} runs against the remote state with no unexpected changes",
        f"The {u.env.name} resources were applied from a plan reviewed in a pull request",
    ] + ([f"The state backend{f' ({m.state_bucket})' if getattr(m, 'state_bucket', '') else ''} has locking "
          "and versioning enabled"] if _first(u, m) else []),
         needs=("terraform/modules/{module}/", "terraform/environments/{prev}/")),
    Unit(("terraform/README.md",), "infra", "Terraform layout README", "prod", lambda m, u: [
        "terraform/README.md describes the modules and roots as they are, and how to apply them",
    ]),
    # -- Kubernetes ----------------------------------------------------------------------------
    Unit(("k8s/base/kustomization.yaml",), "k8s", "Base kustomization", "first", lambda m, u: [
        f"`kubectl kustomize k8s/base` builds, and kubernetes-validate --strict passes for {m.k8s_version}",
    ]),
    Unit(("k8s/base/namespace.yaml",), "k8s", "Namespace manifest", "first", lambda m, u: [
        "Pod Security admission level `restricted` is enforced and the workload admits cleanly",
    ]),
    Unit(("k8s/base/deployment.yaml",), "k8s", "Deployment manifest", "first", lambda m, u: [
        f"Pods of {m.name} become Ready in every environment ({_envs(m)}) with the probes as generated",
        f"Requests of {m.resources.cpu_request} CPU / {m.resources.memory_request} memory were reviewed against "
        "observed usage",
        "SIGTERM drains in-flight work within terminationGracePeriodSeconds (no errors during a rollout)",
    ]),
    Unit(("k8s/base/cronjob.yaml",), "k8s", "CronJob manifest", "first", lambda m, u: [
        f"The job runs on schedule `{m.schedule}` in {_pre(m).name} and its last run succeeded",
        "concurrencyPolicy and history limits were reviewed: a slow run never overlaps the next",
    ]),
    Unit(("k8s/base/configmap.yaml",), "k8s", "ConfigMap manifest", "first", lambda m, u: [
        "Every key of the ConfigMap is read by the app (no dead config), and a change rolls the pods",
        *_sampling_criteria(m),
    ]),
    Unit(("k8s/base/service.yaml",), "k8s", "Service manifest", "first", lambda m, u: [
        f"The Service's endpoints list every Ready pod on port {m.port}; `kubectl port-forward` reaches /metrics",
    ]),
    Unit(("k8s/base/serviceaccount.yaml",), "k8s", "ServiceAccount manifest", "first", lambda m, u: [
        "Token automount is off unless the app calls the API"
        + (f"; the {m.cloud} workload identity binding was verified" if m.cloud != "none" else ""),
    ], needs=("terraform/modules/{module}/",)),
    Unit(("k8s/base/rbac.yaml",), "k8s", "RBAC manifest", "first", lambda m, u: [
        f"`kubectl auth can-i --list --as=system:serviceaccount:<ns>:{m.name}` shows only what the app needs",
    ]),
    Unit(("k8s/base/networkpolicy.yaml",), "k8s", "Default-deny NetworkPolicy", "first", lambda m, u: [
        f"From a debug pod in another namespace, {m.name} is unreachable except from the allowed sources",
        "Prometheus still scrapes the pods with the NetworkPolicy applied (target up)",
    ]),
    Unit(("k8s/base/externalsecret.yaml",), "k8s", "ExternalSecret manifest", "first", lambda m, u: [
        f"The secret store path exists in every environment ({_envs(m)}) and the ExternalSecret reports Ready",
        "Rotating the secret upstream reaches the pods within the refresh interval",
    ]),
    Unit(("k8s/base/httproute.yaml",), "k8s", "HTTPRoute manifest", "first", lambda m, u: [
        f"https://{m.hostname} routes to the service through the shared Gateway (HTTPRoute Accepted=True)",
        f"The TLS certificate for {m.hostname} on the Gateway is valid and renews automatically",
    ]),
    Unit(("k8s/base/ingress.yaml",), "k8s", "Ingress manifest", "first", lambda m, u: [
        f"https://{m.hostname} reaches the service through the cluster's ingress controller",
        f"The Ingress TLS certificate for {m.hostname} is valid and renews automatically",
    ]),
    Unit(("k8s/base/hpa.yaml",), "k8s", "HorizontalPodAutoscaler manifest", "prelive", lambda m, u: [
        f"A load test in {_pre(m).name} shows scale-out before p95 latency passes the SLO threshold ({m.slo_latency_ms} ms)",
        f"Scales between {_prod(m).replicas_min} and {_prod(m).replicas_max} replicas in {_prod(m).name}; "
        "scale-in does not flap (stabilization window observed)",
    ], needs=("k8s/base/deployment.yaml",)),
    Unit(("k8s/base/pdb.yaml",), "k8s", "PodDisruptionBudget manifest", "prelive", lambda m, u: [
        f"`kubectl drain` of a node in {_pre(m).name} never takes {m.name} below its PDB minimum",
        "A rolling node upgrade completes without an availability SLO burn alert",
    ], needs=("k8s/base/deployment.yaml",)),
    Unit(("k8s/base/analysistemplate.yaml",), "k8s", "Canary AnalysisTemplate", "prelive", lambda m, u: [
        f"The analysis queries the SLO recording rules and fails the canary when availability drops below "
        f"{m.slo_availability}% or latency rises above {m.slo_latency_ms} ms",
        "A canary with injected errors fails analysis within its first step",
    ], needs=("observability/prometheus/",)),
    Unit(("k8s/base/rollout.yaml",), "k8s", "Argo Rollouts canary", "prelive", lambda m, u: [
        f"A canary release in {_pre(m).name} shifts traffic step by step and promotes only after analysis passes",
        "A deliberately failing canary (fault switch on) is aborted and rolled back automatically",
    ], needs=("k8s/base/analysistemplate.yaml",)),
    Unit(("k8s/overlays/{env}/",), "k8s", "Kustomize overlay: {env}", "env", lambda m, u: [
        f"`kubectl kustomize {u.key}` builds and applies cleanly to namespace {env_namespace(m.name, u.env.name)}",
    ] + ([f"The {u.env.name} PrometheusRule selects namespace {env_namespace(m.name, u.env.name)} only"]
         if u.has("prometheusrule.patch.yaml") else [])
      + ([f"The Grafana sidecar imports the {u.env.name} dashboards under their own uids"]
         if any("dashboard-" in f for f in u.files) else [])
      + (["Each overlay pins the image by digest; CD replaces the placeholder digest on first promotion"]
         if _first(u, m) else []),
         needs=("k8s/base/kustomization.yaml", "terraform/environments/{env}/")),
    Unit(("gitops/application-{env}.yaml", "gitops/kustomization-{env}.yaml", "gitops/rbac-{env}.yaml"), "k8s",
         "GitOps application: {env}", "env", lambda m, u: [
             f"The {m.gitops} controller syncs {m.name} in {u.env.name} to Healthy from deploy/{u.env.name}",
         ] + (["Drift (a manual `kubectl edit`) is detected and reverted by the controller"] if _first(u, m) else []),
         needs=(".github/workflows/cd.yml", "k8s/overlays/{env}/", "gitops/application-{prev}.yaml")),
    Unit(("gitops/",), "k8s", "GitOps controller configuration", "first", lambda m, u: [
        f"The {m.gitops} controller accepts every object in gitops/ (`kubectl apply --dry-run=server`), "
        "and the CD reader can read only this service's objects",
    ]),
    # -- observability -------------------------------------------------------------------------
    Unit(("k8s/base/otel-collector.yaml",), "observability", "OpenTelemetry Collector gateway", "first", lambda m, u: [
        f"The collector in every environment ({_envs(m)}) is Ready and its health_check answers; "
        "`scaffold validate --only otel-collector-config` passes",
        "A request's trace reaches the traces backend and its log lines the logs backend, with the same trace_id",
    ]),
    Unit(("k8s/base/probe.yaml",), "observability", "Synthetic probe of the live URL", "prelive", lambda m, u: [
        f"The cluster's Prometheus shows probe_success for {m.name} in every environment ({_envs(m)}) "
        "through the platform's blackbox exporter",
        "Breaking the route in staging fires SyntheticProbeFailing, which reaches the pager",
    ], needs=("observability/prometheus/",)),
    Unit(("k8s/base/servicemonitor.yaml",), "observability", "ServiceMonitor", "first", lambda m, u: [
        f"The cluster's Prometheus shows the {m.name} target up in every environment ({_envs(m)})",
    ]),
    Unit(("k8s/base/podmonitor.yaml",), "observability", "PodMonitor", "first", lambda m, u: [
        f"The cluster's Prometheus shows the {m.name} pods as targets, up, in every environment ({_envs(m)})",
    ]),
    Unit(("k8s/base/prometheusrule.yaml",), "observability", "PrometheusRule manifest", "prelive",
         lambda m, u: [
             "The Prometheus Operator loads the rule group: rules visible in /rules, no evaluation errors",
             f"The {len(alerts.alerts(m))} alerts appear in Alertmanager with the labels severity, tier, team and service",
         ], needs=("observability/prometheus/",)),
    Unit(("observability/grafana/dashboards/{dashboard}.json",), "observability", "Grafana dashboard {dashboard}",
         "prelive", lambda m, u: [
             f"Dashboard {u.vars['dashboard']} loads in Grafana with data in every panel for {_prod(m).name}",
         ], needs=("observability/prometheus/",)),
    Unit(("k8s/base/grafana-dashboards.yaml",), "observability", "Dashboard ConfigMaps", "prelive", lambda m, u: [
        f"The Grafana sidecar imports both dashboards ({m.dashboard_url('golden')}, {m.dashboard_url('slo')})",
    ], needs=("observability/grafana/dashboards/{dashboard}.json",)),
    # -- SLOs and alerting ---------------------------------------------------------------------
    Unit(("observability/slo.yaml",), "slo", "SLO specification", "prelive", lambda m, u: [
        f"{m.team} signed off the objectives: availability {m.slo_availability}%, {m.slo_latency_target}% "
        f"under {m.slo_latency_ms} ms, {m.slo_window_days}-day window",
    ]),
    Unit(("observability/prometheus/scenarios/",), "slo", "Alert detection scenarios", "prelive", lambda m, u: [
        "`scaffold validate --only prometheus-scenarios --all` passes, and the team reviewed docs/slo.md's "
        "detection table against it",
    ], needs=("observability/prometheus/",)),
    Unit(("observability/prometheus/",), "slo", "SLO rules, alerts and promtool tests", "prelive", lambda m, u: [
        f"`promtool check rules` and `promtool test rules` pass for {', '.join(u.files)}",
        f"The recording rules report {m.slo_availability}% availability and {m.slo_latency_target}% under "
        f"{m.slo_latency_ms} ms over {m.slo_window_days} days against real traffic in {_pre(m).name}",
    ], needs=("observability/slo.yaml",)),
    Unit(("observability/alertmanager/",), "slo", "Alertmanager routing", "prod", lambda m, u: [
        "`amtool check-config` passes and every case of routes.test.yaml passes with `amtool config routes test`",
        f"A test page (severity=critical, team={m.team}) reaches the pager; a ticket alert reaches the "
        "ticket queue, not the pager",
    ], needs=("observability/prometheus/",)),
    Unit(("docs/slo.md",), "slo", "SLO document and error-budget policy", "prod", lambda m, u: [
        f"{m.team} and the product owner agreed the error-budget policy for the {m.slo_availability}% objective",
    ], needs=("observability/slo.yaml",)),
    # -- on-call (the runbook subtasks are added per alert) ------------------------------------
    Unit(("docs/incident-response.md",), "oncall", "Incident-response process", "oncall", lambda m, u: [
        f"The on-call rotation for {m.team} and the escalation contacts named in docs/incident-response.md are real",
    ]),
    Unit(("docs/postmortem-template.md",), "oncall", "Post-mortem template", "oncall", lambda m, u: [
        "The post-mortem template was used for the first incident or game day and is linked from the "
        "incident-response process",
    ]),
    # -- security, backup and resilience -------------------------------------------------------
    Unit((".checkov.yaml",), "resilience", "checkov skip list", "prod", lambda m, u: [
        "`checkov -d . --config-file .checkov.yaml` passes",
        "Every check .checkov.yaml skips has a written reason the security reviewer accepted",
    ]),
    Unit(("resilience/kyverno-policies.yaml",), "resilience", "Kyverno admission policies", "prelive", lambda m, u: [
        f"The Kyverno policies enforce in {_pre(m).name}: the generated manifests pass and a privileged pod is refused",
    ], needs=("k8s/base/kustomization.yaml",)),
    Unit(("resilience/velero-schedules.yaml", "docs/disaster-recovery.md"), "resilience",
         "Backups and disaster recovery", "prod", lambda m, u: [
             f"A scheduled Velero backup of the {m.name} namespaces completes",
             "A restore drill into a scratch namespace following docs/disaster-recovery.md meets its RTO and RPO; "
             "results recorded",
         ]),
    Unit(("resilience/chaos-experiments.yaml",), "resilience", "Chaos experiments", "prod", lambda m, u: [
        f"Each chaos experiment runs in {_pre(m).name}; the SLO burn alerts stay silent or page as the runbooks predict",
    ], needs=("observability/prometheus/",)),
    Unit(("resilience/",), "resilience", "Resilience exercise plan", "prod", lambda m, u: [
        "resilience/README.md names the owner and the schedule of every resilience exercise",
    ]),
    # -- documentation -------------------------------------------------------------------------
    Unit(("README.md",), "docs", "Package README", "first", lambda m, u: [
        f"A new team member follows README.md to validate the package and deploy to {m.environments[0].name}",
    ]),
    Unit(("SECURITY.md",), "docs", "Security policy", "prod", lambda m, u: [
        "Every secret and variable SECURITY.md names exists in the repository settings, with its owner",
    ]),
    Unit(("catalog-info.yaml",), "docs", "Backstage catalog entity", "prod", lambda m, u: [
        f"Backstage ingests the entity with owner {m.team}; its links (runbooks, dashboards) resolve",
        f"Lifecycle `{m.lifecycle}` and the PagerDuty service are correct in the catalog",
    ]),
    Unit(("mkdocs.yml", "docs/index.md", "docs/.techdocs/"), "docs", "TechDocs site", "prod", lambda m, u: [
        "Backstage's TechDocs tab renders the docs and every runbook (`mkdocs build --strict` passes)",
    ], needs=("catalog-info.yaml",)),
    Unit(("docs/observability.md",), "docs", "Observability retention and sampling", "prod", lambda m, u: [
        f"{m.team} agreed the per-environment log and trace retention and the trace sampling in docs/observability.md",
        "Prometheus' retention covers the SLO window plus the margin stated there, and the backends are configured so",
    ], needs=("k8s/base/otel-collector.yaml",)),
    Unit(("docs/capacity.md",), "docs", "Capacity plan", "prod", lambda m, u: [
        f"The capacity plan's traffic assumption was checked against {_pre(m).name} load-test results",
    ]),
]


def _manifest_units(listed: list[Unit]) -> list[Unit]:
    """One unit per k8s/base manifest of ``scaffold.manifests.BASE`` that no unit above
    claims, so a new base manifest is filed without an edit here (its entry's ``task``
    titles it)."""
    claimed = {p for u in listed for p in u.paths}
    return [Unit((e.path,), "k8s", e.task or f"{e.file} manifest", "first", lambda m, u: [
        f"`kubectl kustomize k8s/base` builds with {u.key}, and kubernetes-validate --strict passes for "
        f"{m.k8s_version}",
        f"{m.team} reviewed what {u.key} grants and exposes",
    ], needs=("k8s/base/kustomization.yaml",)) for e in manifests.BASE if e.path not in claimed]


UNITS += _manifest_units(UNITS)

MILESTONE_ROLES = ("first", "env", "prelive", "prod", "oncall")


# -- milestones -------------------------------------------------------------------
@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    description: str
    priority: str


ONCALL_MILESTONE = "on-call ready"


def milestones(m: ServiceModel) -> list[MilestoneSpec]:
    """One "<env> live" per environment before production, "<prod> ready", "on-call
    ready". Work for the first milestone is high priority, the rest medium."""
    envs = list(m.environments)
    out = []
    for i, env in enumerate(envs):
        last = i == len(envs) - 1
        title = f"{env.name} {'ready' if last else 'live'}"
        desc = (f"{m.name} runs in {env.namespace}, deployed by {m.gitops} from deploy/{env.name}"
                + (", with its SLOs measured, backups, security scans and policies in place." if last else "."))
        out.append(MilestoneSpec(title, desc, "high" if i == 0 else "medium"))
    out.append(MilestoneSpec(ONCALL_MILESTONE, f"{m.team} takes the pager for {m.name}: every alert routed, with a "
                                               "rehearsed runbook.", "medium"))
    return out


def milestone_of(m: ServiceModel, role: str, env: Any = None) -> MilestoneSpec:
    ms = milestones(m)
    envs = list(m.environments)
    if role == "env" and env is not None:
        return ms[[e.name for e in envs].index(env.name)]
    index = {"first": 0, "prelive": max(len(envs) - 2, 0), "prod": len(envs) - 1, "oncall": len(envs)}.get(role)
    if index is None:
        raise ValueError(f"unknown milestone role {role!r}; expected one of {', '.join(MILESTONE_ROLES)}")
    return ms[index]


# -- artifacts and units --------------------------------------------------------------
def artifacts(root: Path) -> list[str]:
    """Every file in the package, relative and sorted, minus answers and backlog: the
    files git tracks or would track (`git ls-files --cached --others
    --exclude-standard`), so ignored build outputs never count and a `.git` file
    (worktree, submodule) is never one. Only files a unit claims get a task."""
    root = Path(root)
    listed = git_files(root)
    if listed is None:
        listed = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    out = []
    for rel in listed:
        if ".git" in PurePosixPath(rel).parts or rel.endswith(KEPT_SUFFIX):
            continue
        if not ((root / rel).is_file() or (root / rel).is_symlink()):
            continue  # in the index but deleted in the working tree
        if not any(fnmatch.fnmatchcase(rel, pat) for pat in EXCLUDED):
            out.append(rel)
    return sorted(set(out))


def git_files(root: Path) -> list[str] | None:
    """What git tracks or would track under ``root``. Outside a repository, an
    empty scratch git dir over ``root`` gives the same answer from the tree's own
    .gitignore files; None when git itself is unavailable."""
    import os
    import subprocess
    import tempfile

    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        inside = subprocess.run(["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"], capture_output=True,
                                text=True, env=env, timeout=60)
        if inside.returncode == 0 and inside.stdout.strip() == "true":
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env, timeout=120)
        else:
            with tempfile.TemporaryDirectory(prefix="scaffold-ls-") as tmp:
                subprocess.run(["git", "init", "-q", "--bare", tmp], capture_output=True, env=env, timeout=60, check=True)
                proc = subprocess.run(["git", f"--git-dir={tmp}", f"--work-tree={root}", *args], cwd=root,
                                      capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return [f for f in proc.stdout.split("\0") if f]


def _placeholder_values(m: ServiceModel) -> dict[str, list[str]]:
    from . import dashboards, terraform

    return {"env": [e.name for e in m.environments], "module": list(terraform.modules(m)),
            "dashboard": [m.dashboard_uid(k) for k in dashboards.KINDS]}


def _fields(pattern: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name]


def _expansions(unit: Unit, m: ServiceModel, values: dict[str, list[str]]) -> list[dict[str, str]]:
    names = sorted({n for p in unit.paths for n in _fields(p)} - {"svc", "prev"})
    combos: list[dict[str, str]] = [{}]
    for name in names:
        combos = [{**c, name: v} for c in combos for v in values.get(name, [])]
    out = []
    for c in combos:
        env = next((e for e in m.environments if e.name == c.get("env")), None)
        prev = env.previous if env is not None else None
        out.append({**c, "svc": m.name, **({"prev": prev} if prev else {})})
    return out


def units(m: ServiceModel, files: Iterable[str]) -> list[Inst]:
    """The units present in the package, in table order. Each file belongs to the
    first unit that claims it; a file no unit claims is the team's own."""
    files = sorted(set(files))
    present = set(files)
    values = _placeholder_values(m)
    alert_books = {runbook_path(a.name) for a in alerts.alerts(m)}
    claimed: set[str] = set(alert_books)
    out: list[Inst] = []
    for unit in UNITS:
        for var in _expansions(unit, m, values):
            try:
                paths = [p.format(**var) for p in unit.paths]
            except KeyError:
                continue  # {prev} of the first environment
            members: list[str] = []
            for p in paths:
                if p.endswith("/"):
                    members += [f for f in files if f.startswith(p) and f not in claimed and f not in members]
                elif p in present and p not in claimed:
                    members.append(p)
            if not members:
                continue
            key = _k(paths[0]) if paths[0].endswith("/") or paths[0] in members else members[0]
            claimed.update(members)
            env = next((e for e in m.environments if e.name == var.get("env")), None)
            out.append(Inst(unit, key, tuple(members), var, env))
    return out


def owner_of(m: ServiceModel, files: Iterable[str]) -> dict[str, str]:
    """file -> the key of the unit it belongs to."""
    return {f: u.key for u in units(m, files) for f in u.files}


def unclaimed(m: ServiceModel, files: Iterable[str]) -> list[str]:
    """Files no unit claims (and that are no alert's runbook): the team's own."""
    files = list(files)
    owned = owner_of(m, files)
    books = {runbook_path(a.name) for a in alerts.alerts(m)}
    return [f for f in files if f not in owned and f not in books]


# -- task specs ---------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSpec:
    key: str  # the task's identity across re-runs (an artifact path, or PARENT_REF + parent key)
    title: str
    area: str  # the parent's key
    labels: tuple[str, ...]
    priority: str  # high | medium | low
    description: str
    criteria: tuple[str, ...]
    needs: tuple[str, ...] = ()  # keys of tasks this one depends on
    parent: str | None = None  # the parent task's key
    milestone: str | None = None  # the milestone's title


def parent_key(key: str) -> str:
    return PARENT_REF + key


def runbook_path(alert_name: str) -> str:
    return f"runbooks/{alert_name}.md"


def _unit_needs(u: Inst, by_key: dict[str, Inst]) -> tuple[str, ...]:
    out: list[str] = []
    for need in u.unit.needs:
        names = _fields(need)
        if "prev" in names and "prev" not in u.vars:
            continue
        pattern = _k(need.format(**{n: u.vars.get(n, "*") for n in names}))
        for key, other in by_key.items():
            if other is not u and key not in out and (fnmatch.fnmatchcase(key, pattern) or
                                                      any(fnmatch.fnmatchcase(f, pattern) for f in other.files)):
                out.append(key)
    return tuple(out)


def _unit_spec(m: ServiceModel, u: Inst, needs: tuple[str, ...]) -> TaskSpec:
    ms = milestone_of(m, u.unit.milestone, u.env)
    title = u.unit.title.format(**u.vars)
    listing = "" if u.files == (u.key,) else "\n\nFiles: " + ", ".join(f"`{f}`" for f in u.files)
    what = title if title[1:2].isupper() else title[0].lower() + title[1:]  # "CI workflow", "the overlay"
    desc = (f"Bring the {what} into service for {m.name} ({m.blueprint}, team {m.team}).\n\n"
            f"Artifact: `{u.key}`{listing}\n\n"
            "Generated by the scaffold template; check it with `scaffold validate .`.")
    return TaskSpec(key=u.key, title=f"{title} ({u.key})" if u.key not in title else title, area=u.unit.parent,
                    labels=(u.unit.parent, GENERATED_LABEL), priority=ms.priority, description=desc,
                    criteria=tuple(u.unit.criteria(m, u)), needs=needs, parent=parent_key(u.unit.parent),
                    milestone=ms.title)


def _runbook_spec(m: ServiceModel, alert: Any, needs: tuple[str, ...]) -> TaskSpec:
    path = runbook_path(alert.name)
    page = getattr(alert, "tier", "") == "page"
    slo = getattr(alert, "slo", None)
    criteria = [
        f"Triage steps in {path} confirm or rule out {alert.name} within 5 minutes, starting from "
        f"{m.dashboard_url('slo' if slo else 'golden')}",
        f"Common causes of {alert.name} are listed, each with the signal that identifies it",
        f"{alert.name} {'pages' if page else 'opens a ticket for'} {m.team}; {path} says when to escalate and to whom",
    ]
    criteria += [c for c in getattr(alert, "backlog_criteria", ()) or () if c not in criteria]
    desc = (f"Write and rehearse the response to the `{alert.name}` alert "
            f"(severity {alert.severity}, tier {alert.tier}{f', SLO {slo}' if slo else ''}).\n\n"
            f"Artifact: `{path}`\n\nRunbook URL in the alert: {m.runbook_url(alert.name)}\n\n"
            "The alert, its runbook draft and its promtool cases come from the scaffold template's alert catalog.")
    ms = milestone_of(m, "oncall")
    labels = ("oncall", GENERATED_LABEL, alert.tier) if getattr(alert, "tier", None) else ("oncall", GENERATED_LABEL)
    return TaskSpec(key=path, title=f"Runbook: {alert.name} response", area="oncall", labels=labels,
                    priority=ms.priority if page else "low", description=desc, criteria=tuple(criteria),
                    needs=needs, parent=parent_key("oncall"), milestone=ms.title)


@dataclass(frozen=True)
class TeamAlert:
    name: str
    file: str
    severity: str | None


def team_alerts(m: ServiceModel, root: Path | None, files: Iterable[str]) -> list[TeamAlert]:
    """Alerts the team added to the package's rule files (not in the alert catalog)."""
    if root is None:
        return []
    from .. import yamlio

    known = {a.name for a in alerts.alerts(m)}
    found: dict[str, TeamAlert] = {}
    for rel in files:
        if not fnmatch.fnmatchcase(rel, "observability/prometheus/*.rules.yaml"):
            continue
        try:
            doc = yamlio.load((Path(root) / rel).read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - a broken rule file is promtool's finding, not the backlog's
            continue
        for group in (doc or {}).get("groups", []) if isinstance(doc, dict) else []:
            for rule in (group or {}).get("rules", []) if isinstance(group, dict) else []:
                name = rule.get("alert") if isinstance(rule, dict) else None
                if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in known:
                    sev = (rule.get("labels") or {}).get("severity") if isinstance(rule.get("labels"), dict) else None
                    found.setdefault(name, TeamAlert(name, rel, str(sev) if sev else None))
    return [found[k] for k in sorted(found)]


def _team_runbook_spec(m: ServiceModel, alert: TeamAlert, needs: tuple[str, ...]) -> TaskSpec:
    path = runbook_path(alert.name)
    criteria = (
        f"{path} has the five sections (Meaning, Impact, Diagnosis, Mitigation, Escalation) and "
        f"`scaffold validate .` reports nothing for {alert.name}",
        f"A promtool test in observability/prometheus covers {alert.name} firing and staying silent",
        f"Triage steps in {path} confirm or rule out {alert.name} within 5 minutes",
        f"{alert.name} reaches the receiver {m.team} expects (amtool config routes test)",
    )
    desc = (f"`{alert.name}` is {m.team}'s own alert{f' (severity {alert.severity})' if alert.severity else ''}, "
            f"defined in `{alert.file}`. Write and rehearse its response.\n\nArtifact: `{path}`")
    ms = milestone_of(m, "oncall")
    return TaskSpec(key=path, title=f"Runbook: {alert.name} response", area="oncall", labels=("oncall", "team-alert"),
                    priority=ms.priority, description=desc, criteria=criteria, needs=needs,
                    parent=parent_key("oncall"), milestone=ms.title)


def _parent_spec(m: ServiceModel, parent: Parent, children: list[TaskSpec], present: set[str]) -> TaskSpec:
    ms_titles = [s.title for s in milestones(m)]
    due = max((ms_titles.index(c.milestone) for c in children if c.milestone in ms_titles), default=0)
    desc = (f"{parent.outcome(m)}\n\nDone when every subtask is done; due by the \"{ms_titles[due]}\" milestone. "
            f"One subtask per reviewable unit (a workflow, a manifest, an overlay, a Terraform root...).")
    return TaskSpec(key=parent_key(parent.key), title=parent.title(m), area=parent.key,
                    labels=(parent.key, GENERATED_LABEL), priority=milestones(m)[due].priority, description=desc,
                    criteria=tuple(parent.criteria(m)),
                    needs=tuple(parent_key(n) for n in parent.needs if parent_key(n) in present),
                    milestone=ms_titles[due])


def plan(m: ServiceModel, files: list[str], root: Path | None = None) -> list[TaskSpec]:
    """The full task list for this model and artifact list, in filing order: each
    parent (in :data:`PARENTS` order) followed by its subtasks, by milestone, then
    table order; the runbook subtasks in catalog order, then the team's alerts."""
    found = units(m, files)
    by_key = {u.key: u for u in found}
    rules = tuple(k for k, u in by_key.items() if u.unit.paths[0] == "observability/prometheus/")
    routing = tuple(k for k, u in by_key.items() if u.unit.paths[0] == "observability/alertmanager/")
    order = {id(u): i for i, u in enumerate(UNITS)}
    ms_titles = [s.title for s in milestones(m)]
    children: dict[str, list[tuple[tuple, TaskSpec]]] = {p.key: [] for p in PARENTS}
    for u in found:
        spec = _unit_spec(m, u, _unit_needs(u, by_key))
        assert spec.milestone is not None  # every unit's task sits in a milestone (_unit_spec)
        children.setdefault(u.unit.parent, []).append(((ms_titles.index(spec.milestone), order[id(u.unit)], u.key), spec))
    n = len(UNITS)
    for i, alert in enumerate(alerts.alerts(m)):
        children["oncall"].append(((len(ms_titles), n + i, ""), _runbook_spec(m, alert, rules + routing)))
    for i, team_alert in enumerate(team_alerts(m, root, files)):
        children["oncall"].append(((len(ms_titles), n + len(alerts.alerts(m)) + i, team_alert.name),
                                   _team_runbook_spec(m, team_alert, rules + routing)))
    present = {parent_key(p.key) for p in PARENTS if children.get(p.key)}
    specs: list[TaskSpec] = []
    for parent in PARENTS:
        kids = [s for _, s in sorted(children.get(parent.key, []), key=lambda x: x[0])]
        if kids:
            specs.append(_parent_spec(m, parent, kids, present))
            specs += kids
    unknown = set(children) - {p.key for p in PARENTS}
    if unknown:
        raise ValueError(f"UNITS name unknown parents: {', '.join(sorted(unknown))}")
    return specs


def live_keys(m: ServiceModel, files: list[str], root: Path | None = None) -> set[str]:
    """Keys whose task is current: every unit, parent and runbook of the plan, and any
    file still in the package (a task from an older, per-file plan stays unmarked)."""
    return set(files) | {s.key for s in plan(m, files, root)}


def task_key(references: Iterable[str]) -> str | None:
    """The artifact a task names: its first reference that is a relative path."""
    for ref in references:
        if ref and not re.match(r"^[a-z]+://", ref) and not ref.startswith("/"):
            return ref
    return None


def all_criteria(specs: Iterable[TaskSpec]) -> list[str]:
    return [c for s in specs for c in s.criteria]


def teststages_rules() -> str:
    from .teststages import DAST_RULES

    return DAST_RULES


def _load_thresholds(m: ServiceModel) -> str:
    from . import teststages

    return f"{teststages.latency_threshold(m)} ms and {teststages.error_threshold(m)}"


def _tracing_criteria(m: ServiceModel) -> list[str]:
    """Issue 17: what shows the skeleton's traces and logs join up (traced stacks only)."""
    from . import tracing

    if not tracing.traced(m):
        return []
    return ["A request sent with a `traceparent` to staging shows up in the trace backend as a child of the "
            "caller's span, with service.name, service.namespace and service.version set",
            "Its log line carries the same trace_id, span_id and request_id; an error line carries the exception"]


def _sampling_criteria(m: ServiceModel) -> list[str]:
    from . import tracing

    if not tracing.traced(m):
        return []
    return [f"Trace sampling per environment is as answered ({tracing.sampling_summary(m)}; "
            "OTEL_TRACES_SAMPLER=parentbased_traceidratio)"]
