"""Backlog policy: which generated artifact becomes which task, with what
acceptance criteria and dependencies. Pure functions of the model and the
artifact list, so every render files the same tasks in the same order.

One task per artifact (the artifact path is its identity, kept in
``references``), plus one "Runbook: <Alert> response" task per catalog alert,
which also covers that alert's runbooks/<Alert>.md.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from .model import env_namespace

AREAS = ("cicd", "kubernetes", "observability", "runbook", "terraform", "security", "dr", "docs")
AREA_TITLE = {"cicd": "CI/CD", "kubernetes": "Kubernetes", "observability": "Observability", "runbook": "Runbook",
              "terraform": "Terraform", "security": "Security", "dr": "DR", "docs": "Docs"}
GENERATED_LABEL = "scaffold"  # marks tasks the hook owns (vanished-artifact detection)
REMOVED_LABEL = "artifact-removed"
# Not artifacts: Copier's own bookkeeping and the backlog itself.
EXCLUDED = (".copier-answers.yml", "backlog/*", ".git/*")


@dataclass(frozen=True)
class TaskSpec:
    key: str  # the artifact path: the task's identity across re-runs
    title: str
    area: str
    labels: tuple[str, ...]
    priority: str  # high | medium | low
    description: str
    criteria: tuple[str, ...]
    needs: tuple[str, ...] = ()  # keys of tasks this one depends on


KEPT_SUFFIX = ".scaffold-kept"  # the team's version of a file an update deleted (scaffold.keep)


def artifacts(root: Path) -> list[str]:
    """Every generated file, relative and sorted, minus answers and backlog: the
    files git tracks or would track (`git ls-files --cached --others
    --exclude-standard`), so ignored build outputs never become tasks and a
    `.git` file (worktree, submodule) is never an artifact."""
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


# -- per-artifact rules: (glob, area, what it is, criteria(m, path) -> list) ---------
Crit = Callable[[Any, str], list[str]]


def _envs(m: Any) -> str:
    return ", ".join(e.name for e in m.environments)


def _prod(m: Any) -> Any:
    return m.environments[-1]


RULES: list[tuple[str, str, str, str, Crit]] = [
    # glob, area, priority, summary, criteria
    (".github/workflows/ci.yml", "cicd", "high", "the CI pipeline (lint, test, build, scan)", lambda m, p: [
        f"A pull request runs {p} green end to end: lint, unit tests, image build for {m.image}",
        "Every `uses:` stays pinned to a 40-hex commit SHA (actionlint and `zizmor --offline` report 0 findings)",
        "Branch protection on the default branch requires this workflow's checks",
    ]),
    (".github/workflows/cd.yml", "cicd", "high", "the CD pipeline (build once, promote by digest)", lambda m, p: [
        f"A merge to main builds {m.image} once and promotes the same digest through {_envs(m)}",
        f"Promotion to {_prod(m).name} waits for the GitHub environment approval",
        "The overlays' image digest is committed by CD (`kustomize edit set image`), never a mutable tag",
    ]),
    (".github/workflows/security.yml", "security", "high", "the security scanning workflow", lambda m, p: [
        f"A scheduled run of {p} completes and uploads its findings to code scanning",
        "A seeded vulnerable dependency in a test branch is reported by the scan",
    ]),
    (".github/workflows/blueprint-update.yml", "cicd", "medium", "the template update workflow", lambda m, p: [
        "A new template tag produces a pull request with `copier update` applied and the backlog hook re-run",
        "Conflicts from the update are visible in the pull request, never merged silently",
    ]),
    (".github/zizmor.yml", "security", "medium", "zizmor's workflow audit configuration", lambda m, p: [
        "`zizmor --offline .github/workflows` reports 0 findings with this configuration",
        "Every ignored rule in the file names its reason",
    ]),
    (".github/renovate.json", "cicd", "medium", "the Renovate config (copier manager)", lambda m, p: [
        "Renovate's onboarding or dependency dashboard lists the scaffold template as a `copier` dependency",
        "A new template tag opens one labelled pull request with `copier update` applied (admin `allowScripts` on)",
    ]),
    (".github/*", "cicd", "medium", "a GitHub workflow file", lambda m, p: [
        f"actionlint and `zizmor --offline` report 0 findings for {p}",
    ]),
    (".checkov.yaml", "security", "medium", "checkov's skip list with reasons", lambda m, p: [
        "`checkov -d . --config-file .checkov.yaml` passes",
        "Every skipped check has a written reason the security reviewer accepted",
    ]),
    ("Dockerfile", "cicd", "high", "the container image build", lambda m, p: [
        f"`docker build` produces {m.image} running as a non-root user with a read-only root filesystem",
        "hadolint reports no findings; the base image is pinned by digest",
        f"The image serves /metrics on port {m.port}" if m.blueprint != "cronjob"
        else "The image runs the job once and exits; it opens no port (kube-state-metrics reports the Job status)",
    ]),
    (".dockerignore", "cicd", "low", "the Docker build context filter", lambda m, p: [
        "The build context excludes .git, backlog/ and local secrets (checked with `docker build` context size)",
    ]),
    ("app/*", "cicd", "medium", "application skeleton code", lambda m, p: [
        f"{p} builds and its tests pass in CI ({m.stack})",
        "Exposes the metrics the SLO rules query (/metrics scraped in staging shows them)"
        if m.blueprint != "cronjob" else "Exits non-zero on failure so the job status reflects it",
    ]),
    ("k8s/base/hpa.yaml", "kubernetes", "medium", "the HorizontalPodAutoscaler", lambda m, p: [
        f"A load test in staging shows scale-out before p95 latency passes the SLO threshold ({m.slo_latency_ms} ms)",
        f"Scales between {_prod(m).replicas_min} and {_prod(m).replicas_max} replicas in {_prod(m).name}; "
        "scale-in does not flap (stabilization window observed)",
    ]),
    ("k8s/base/pdb.yaml", "kubernetes", "medium", "the PodDisruptionBudget", lambda m, p: [
        f"`kubectl drain` of a node in staging never takes {m.name} below its PDB minimum",
        "A rolling node upgrade completes without an availability SLO burn alert",
    ]),
    ("k8s/base/deployment.yaml", "kubernetes", "high", "the workload Deployment", lambda m, p: [
        f"Pods of {m.name} become Ready in every environment ({_envs(m)}) with the probes as generated",
        f"Requests {m.resources.cpu_request} CPU / {m.resources.memory_request} memory reviewed against observed usage",
        "SIGTERM drains in-flight work within terminationGracePeriodSeconds (no errors during a rollout)",
    ]),
    ("k8s/base/rollout.yaml", "kubernetes", "high", "the Argo Rollouts canary", lambda m, p: [
        "A canary release in staging shifts traffic step by step and promotes only after analysis passes",
        "A deliberately failing canary (fault switch on) is aborted and rolled back automatically",
    ]),
    ("k8s/base/analysistemplate.yaml", "kubernetes", "high", "the canary analysis (SLO-based)", lambda m, p: [
        f"The analysis queries the SLO recording rules and fails the canary when availability drops below "
        f"{m.slo_availability}% or latency above {m.slo_latency_ms} ms",
        "A canary with injected errors fails analysis within the first step",
    ]),
    ("k8s/base/cronjob.yaml", "kubernetes", "high", "the CronJob", lambda m, p: [
        f"The job runs on schedule `{m.schedule}` in staging and its last run succeeded",
        "concurrencyPolicy and history limits reviewed: a slow run never overlaps the next",
    ]),
    ("k8s/base/service.yaml", "kubernetes", "medium", "the Service", lambda m, p: [
        f"Endpoints list every Ready pod on port {m.port}; `kubectl port-forward` reaches /metrics",
    ]),
    ("k8s/base/httproute.yaml", "kubernetes", "high", "the Gateway API HTTPRoute", lambda m, p: [
        f"https://{m.hostname} routes to the service through the shared Gateway (attached: Accepted=True)",
        "TLS certificate for the hostname is valid and auto-renewed",
    ]),
    ("k8s/base/ingress.yaml", "kubernetes", "high", "the Ingress", lambda m, p: [
        f"https://{m.hostname} reaches the service through the cluster's ingress controller",
        "TLS certificate for the hostname is valid and auto-renewed",
    ]),
    ("k8s/base/networkpolicy.yaml", "security", "high", "the NetworkPolicy (default deny)", lambda m, p: [
        f"From a debug pod in another namespace, {m.name} is unreachable except from the allowed sources",
        "Prometheus still scrapes /metrics with the policy applied (target up)",
    ]),
    ("k8s/base/rbac.yaml", "security", "high", "RBAC for the workload", lambda m, p: [
        f"`kubectl auth can-i --list --as=system:serviceaccount:<ns>:{m.name}` shows only what the app needs",
    ]),
    ("k8s/base/serviceaccount.yaml", "security", "medium", "the ServiceAccount", lambda m, p: [
        "Token automount is off unless the app calls the API; cloud identity binding verified"
        + (f" on {m.cloud}" if m.cloud != "none" else ""),
    ]),
    ("k8s/base/externalsecret.yaml", "security", "high", "the ExternalSecret", lambda m, p: [
        f"The secret store path exists in every environment ({_envs(m)}) and the ExternalSecret reports Ready",
        "Rotating the secret upstream reaches the pods within the refresh interval",
    ]),
    ("k8s/base/namespace.yaml", "kubernetes", "medium", "the Namespace", lambda m, p: [
        "Pod Security admission level `restricted` enforced; the workload admits cleanly",
    ]),
    ("k8s/base/configmap.yaml", "kubernetes", "low", "the ConfigMap", lambda m, p: [
        "Every key is read by the app (no dead config); a change rolls the pods",
    ]),
    ("k8s/base/servicemonitor.yaml", "observability", "high", "the ServiceMonitor", lambda m, p: [
        f"The cluster's Prometheus shows the {m.name} target up in every environment ({_envs(m)})",
    ]),
    ("k8s/base/podmonitor.yaml", "observability", "high", "the PodMonitor", lambda m, p: [
        f"The cluster's Prometheus shows the {m.name} pods as targets, up, in every environment ({_envs(m)})",
    ]),
    ("k8s/base/prometheusrule.yaml", "observability", "high", "the PrometheusRule (alerts and SLO rules)", lambda m, p: [
        "The Prometheus Operator loads the rule group (rules visible in /rules, no evaluation errors)",
        f"The {len(m.alerts)} alerts appear in Alertmanager's view with the labels severity, tier, team, service",
    ]),
    ("k8s/base/grafana-dashboards.yaml", "observability", "medium", "the dashboard ConfigMaps", lambda m, p: [
        f"The Grafana sidecar imports both dashboards ({m.dashboard_url('golden')}, {m.dashboard_url('slo')})",
    ]),
    ("k8s/base/kustomization.yaml", "kubernetes", "medium", "the base kustomization", lambda m, p: [
        "`kubectl kustomize k8s/base` builds, and kubernetes-validate --strict passes for "
        f"{m.k8s_version}",
    ]),
    ("k8s/overlays/*/prometheusrule.patch.yaml", "observability", "high", "an environment's PrometheusRule", lambda m, p: [
        f"`kubectl kustomize {PurePosixPath(p).parent}` renders a PrometheusRule whose rules select namespace "
        + env_namespace(m.name, PurePosixPath(p).parent.name) + " only, and the cluster's Prometheus loads it",
    ]),
    ("k8s/overlays/*/dashboard-*.patch.yaml", "observability", "low", "an environment's dashboard", lambda m, p: [
        f"The Grafana sidecar imports the {PurePosixPath(p).parent.name} dashboard under its own uid",
    ]),
    ("k8s/overlays/*/kustomization.yaml", "kubernetes", "high", "an environment overlay", lambda m, p: [
        f"`kubectl kustomize {PurePosixPath(p).parent}` builds and applies cleanly to namespace "
        + env_namespace(m.name, PurePosixPath(p).parent.name),
        "The image is pinned by digest; CD replaces the placeholder digest on first promotion",
    ]),
    ("k8s/base/otel-collector.yaml", "observability", "high", "the OpenTelemetry Collector gateway", lambda m, p: [
        f"The collector in every environment ({_envs(m)}) is Ready and its health_check answers; "
        "`scaffold validate --only otel-collector-config` passes",
        "A request's trace reaches the traces backend and its log lines the logs backend, with the same trace_id",
        "Retention and sampling in docs/observability.md are configured on the backends",
    ]),
    ("k8s/base/probe.yaml", "observability", "high", "the synthetic probe of the live URL", lambda m, p: [
        f"The cluster's Prometheus shows probe_success for {m.name} in every environment ({_envs(m)}) "
        "through the platform's blackbox exporter",
        "Breaking the route in staging fires SyntheticProbeFailing, which reaches the pager",
    ]),
    ("docs/observability.md", "docs", "medium", "the observability document (retention, sampling, verification)",
     lambda m, p: [
        f"{m.team} agreed the per-environment log and trace retention and trace sampling in {p}",
        "Prometheus' retention covers the SLO window plus the margin stated there",
    ]),
    ("k8s/*", "kubernetes", "medium", "a Kubernetes manifest", lambda m, p: [
        f"{p} passes kubernetes-validate --strict for {m.k8s_version} and applies in staging",
    ]),
    ("gitops/application-*.yaml", "cicd", "high", "a GitOps application", lambda m, p: [
        f"The {m.gitops} controller syncs {p} to Healthy/Synced",
        "Drift (a manual `kubectl edit`) is detected and reverted",
    ]),
    ("gitops/*", "cicd", "medium", "GitOps controller configuration", lambda m, p: [
        f"The {m.gitops} controller accepts {p} (applied with `kubectl apply --dry-run=server`)",
    ]),
    ("observability/prometheus/*.rules.yaml", "observability", "high", "the Prometheus alert and SLO rules", lambda m, p: [
        f"`promtool check rules {p}` passes and the rules load in the cluster's Prometheus",
        f"SLO recording rules report {m.slo_availability}% availability and {m.slo_latency_target}% under "
        f"{m.slo_latency_ms} ms over {m.slo_window_days} days against real traffic in staging",
    ]),
    ("observability/prometheus/scenarios/*.test.yaml", "observability", "medium", "the detection scenarios", lambda m, p: [
        f"`promtool test rules {PurePosixPath(p).name}` passes in {PurePosixPath(p).parent} (checker prometheus-scenarios), "
        "and docs/slo.md's detection table was reviewed by the team",
    ]),
    ("observability/prometheus/*.test.yaml", "observability", "medium", "the promtool rule tests", lambda m, p: [
        f"`promtool test rules {p}` passes in CI; every alert has a firing and a silent case",
    ]),
    ("observability/alertmanager/alertmanager.yaml", "observability", "high", "the Alertmanager routing", lambda m, p: [
        f"`amtool check-config {p}` passes",
        f"A test page (severity=critical, team={m.team}) reaches the on-call pager; a ticket alert reaches the "
        "ticket queue, not the pager",
    ]),
    ("observability/alertmanager/*", "observability", "medium", "Alertmanager route tests", lambda m, p: [
        f"Every route case in {p} passes with `amtool config routes test`",
    ]),
    ("observability/grafana/dashboards/*.json", "observability", "medium", "a Grafana dashboard", lambda m, p: [
        f"Dashboard {PurePosixPath(p).stem} loads in Grafana with data in every panel for {_prod(m).name}",
    ]),
    ("observability/slo.yaml", "observability", "high", "the SLO specification", lambda m, p: [
        f"{m.team} signed off the objectives: availability {m.slo_availability}%, {m.slo_latency_target}% "
        f"under {m.slo_latency_ms} ms, {m.slo_window_days}-day window",
    ]),
    ("observability/*", "observability", "medium", "observability configuration", lambda m, p: [
        f"{p} is loaded by its tool without errors in staging",
    ]),
    ("runbooks/*", "runbook", "medium", "a runbook", lambda m, p: [
        f"{p} reviewed by {m.team}: every command runs against {_prod(m).namespace}",
    ]),
    ("terraform/modules/*", "terraform", "medium", "a Terraform module file", lambda m, p: [
        f"`terraform validate` passes for {PurePosixPath(p).parent} and checkov reports no unaccepted findings",
        "Inputs and outputs are documented in the module README",
    ]),
    ("terraform/environments/*", "terraform", "high", "a Terraform environment root", lambda m, p: [
        f"`terraform plan` for {PurePosixPath(p).parent} runs against the remote state backend "
        "with no unexpected changes",
        "The state backend has locking and versioning enabled",
    ]),
    ("terraform/*", "terraform", "low", "Terraform documentation", lambda m, p: [
        f"{p} matches the modules and environments as generated",
    ]),
    ("resilience/velero-*", "dr", "high", "Velero backup schedules", lambda m, p: [
        f"A scheduled Velero backup of the {m.name} namespaces completes",
        "A restore into a scratch namespace brings the service back Ready within the RTO in docs/disaster-recovery.md",
    ]),
    ("resilience/chaos-*", "dr", "medium", "Chaos Mesh experiments", lambda m, p: [
        "Each experiment runs in staging; the SLO burn alerts stay silent or page as the runbooks predict",
    ]),
    ("resilience/kyverno-*", "security", "high", "Kyverno policies", lambda m, p: [
        "The policies enforce in staging; the generated manifests pass and a privileged pod is refused",
    ]),
    ("resilience/*", "dr", "low", "resilience documentation", lambda m, p: [
        f"{p} names the owner and the schedule of every resilience exercise",
    ]),
    ("docs/disaster-recovery.md", "dr", "high", "the disaster-recovery plan", lambda m, p: [
        "A restore drill following the document meets its stated RTO and RPO; results recorded",
    ]),
    ("docs/slo.md", "docs", "high", "the SLO document and error-budget policy", lambda m, p: [
        f"{m.team} and the product owner agreed the error-budget policy for the {m.slo_availability}% objective",
    ]),
    ("docs/incident-response.md", "docs", "high", "the incident-response process", lambda m, p: [
        f"The on-call rotation for {m.team} and the escalation contacts named in the document are real and current",
    ]),
    ("docs/postmortem-template.md", "docs", "low", "the postmortem template", lambda m, p: [
        "The template is used for the first incident or game day and linked from docs/incident-response.md",
    ]),
    ("catalog-info.yaml", "docs", "medium", "the Backstage catalog entity", lambda m, p: [
        f"Backstage ingests the entity with owner {m.team}; its links (runbooks, dashboards) resolve",
    ]),
    ("README.md", "docs", "low", "the package README", lambda m, p: [
        "A new team member follows the README to validate and deploy to the first environment",
    ]),
    ("*", "docs", "low", "a generated file", lambda m, p: [
        f"{p} reviewed by {m.team} and kept in line with the template (`copier update`)",
    ]),
]

# (dependent glob, dependency glob): "deploy needs CI", "canary analysis needs the SLO rules", ...
NEEDS: list[tuple[str, str]] = [
    (".github/workflows/cd.yml", ".github/workflows/ci.yml"),
    ("gitops/application-*.yaml", ".github/workflows/cd.yml"),
    ("k8s/base/rollout.yaml", "k8s/base/analysistemplate.yaml"),
    ("k8s/base/analysistemplate.yaml", "observability/prometheus/*.rules.yaml"),
    ("k8s/base/hpa.yaml", "k8s/base/deployment.yaml"),
    ("k8s/base/pdb.yaml", "k8s/base/deployment.yaml"),
    ("k8s/base/prometheusrule.yaml", "observability/prometheus/*.rules.yaml"),
    ("observability/prometheus/*.test.yaml", "observability/prometheus/*.rules.yaml"),
    ("observability/alertmanager/routes*", "observability/alertmanager/alertmanager.yaml"),
    ("observability/grafana/dashboards/*", "observability/prometheus/*.rules.yaml"),
    ("observability/prometheus/*.rules.yaml", "observability/slo.yaml"),
    ("docs/slo.md", "observability/slo.yaml"),
    ("runbooks/*", "observability/prometheus/*.rules.yaml"),
    ("terraform/environments/*/main.tf", "terraform/modules/*/main.tf"),
    ("resilience/chaos-*", "observability/prometheus/*.rules.yaml"),
    ("k8s/base/probe.yaml", "observability/prometheus/*.rules.yaml"),
]


def _rule(path: str) -> tuple[str, str, str, Crit]:
    for pattern, area, priority, summary, crit in RULES:
        if fnmatch.fnmatchcase(path, pattern):
            return area, priority, summary, crit
    raise AssertionError("the catch-all rule matches everything")


def _needs(path: str, present: Iterable[str]) -> tuple[str, ...]:
    present = list(present)
    out: list[str] = []
    for dependent, dependency in NEEDS:
        if fnmatch.fnmatchcase(path, dependent):
            out += [p for p in present if fnmatch.fnmatchcase(p, dependency) and p != path and p not in out]
    return tuple(out)


def runbook_path(alert_name: str) -> str:
    return f"runbooks/{alert_name}.md"


def _rollback(m: Any) -> str:
    overlay = f"deploy/{m.environments[-1].name}"  # the deploy branch GitOps follows
    if m.canary:
        return f"`kubectl argo rollouts abort {m.name}`, then {overlay} reset to its previous tip"
    if m.blueprint == "cronjob":
        return f"suspend the CronJob, then {overlay} reset to its previous tip"
    return f"`kubectl rollout undo deployment/{m.name}`, then {overlay} reset to its previous tip"


def _runbook_task(m: Any, alert: Any, rules_files: list[str]) -> TaskSpec:
    path = runbook_path(alert.name)
    page = getattr(alert, "tier", "") == "page"
    slo = getattr(alert, "slo", None)
    prod_ns = f"{m.name}-{m.environments[-1].name}"
    criteria = [
        f"Triage steps in {path} confirm or rule out {alert.name} within 5 minutes, using the dashboard "
        f"{m.dashboard_url('slo' if slo else 'golden')} and commands that run against {prod_ns}",
        f"Common causes of {alert.name} are listed, each with the signal that identifies it",
        f"The rollback procedure ({_rollback(m)}) was rehearsed in staging and is written step by step",
        f"The escalation path names who is {'paged' if page else 'ticketed'} ({m.team}), when to escalate and to whom",
    ]
    criteria += [c for c in getattr(alert, "backlog_criteria", ()) or () if c not in criteria]
    desc = (f"Write and rehearse the response to the `{alert.name}` alert "
            f"(severity {alert.severity}, tier {alert.tier}{f', SLO {slo}' if slo else ''}).\n\n"
            f"Artifact: `{path}`\n\nRunbook URL in the alert: {m.runbook_url(alert.name)}")
    labels = ("runbook", GENERATED_LABEL, alert.tier) if getattr(alert, "tier", None) else ("runbook", GENERATED_LABEL)
    return TaskSpec(key=path, title=f"Runbook: {alert.name} response", area="runbook", labels=labels,
                    priority="high" if page else "medium", description=desc, criteria=tuple(criteria),
                    needs=tuple(rules_files))


def plan(m: Any, files: list[str]) -> list[TaskSpec]:
    """The full task list for this model and artifact list, in filing order:
    by area, then path; the alert runbook tasks in catalog order within runbook."""
    specs: list[TaskSpec] = []
    alert_paths = {runbook_path(a.name) for a in m.alerts}
    rules_files = [p for p in files if fnmatch.fnmatchcase(p, "observability/prometheus/*.rules.yaml")]
    for path in files:
        if path in alert_paths:
            continue
        area, priority, summary, crit = _rule(path)
        criteria = tuple(crit(m, path))
        desc = (f"Bring {summary} into service for {m.name} ({m.blueprint}, team {m.team}).\n\n"
                f"Artifact: `{path}`\n\nGenerated by the scaffold template; check it with `scaffold validate .`.")
        specs.append(TaskSpec(key=path, title=f"{AREA_TITLE[area]}: {path}", area=area,
                              labels=(area, GENERATED_LABEL), priority=priority, description=desc,
                              criteria=criteria, needs=_needs(path, files)))
    specs += [_runbook_task(m, a, rules_files) for a in m.alerts]
    order = {a: i for i, a in enumerate(AREAS)}
    alert_order = {runbook_path(a.name): i for i, a in enumerate(m.alerts)}
    return sorted(specs, key=lambda s: (order[s.area], alert_order.get(s.key, -1), s.key))


def live_keys(m: Any, files: list[str]) -> set[str]:
    return set(files) | {runbook_path(a.name) for a in m.alerts}


def task_key(references: Iterable[str]) -> str | None:
    """The artifact a task names: its first reference that is a relative path."""
    for ref in references:
        if ref and not re.match(r"^[a-z]+://", ref) and not ref.startswith("/"):
            return ref
    return None
