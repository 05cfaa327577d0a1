"""The Backstage catalog entity (catalog-info.yaml) of the service, and its TechDocs site.

TechDocs: ``backstage.io/techdocs-ref: dir:.`` points at the package root, whose
``mkdocs.yml`` builds docs/ and, through a small MkDocs hook, runbooks/ (MkDocs serves one
docs_dir, and runbooks/ stays where every alert's runbook_url points). Backstage's TechDocs
generator adds its ``techdocs-core`` plugin when mkdocs.yml names none, so the same file also
builds with plain ``mkdocs build --strict``.
"""

from __future__ import annotations

from typing import Any

from ..model.service import ServiceModel
from . import alerts, gitops

TYPE = {"service": "service", "worker": "worker", "cronjob": "job"}


def system(m: ServiceModel) -> str:
    """The System the component belongs to: only one the answers name (an entity that exists
    in the organisation's catalog); nothing generated here creates one."""
    return m.system


TECHDOCS_REF = "dir:."
PAGERDUTY_ANNOTATION = "pagerduty.com/service-id"
# docs/ pages in the TechDocs nav, in reading order (tests check each one is generated).
DOC_PAGES = (
    ("Home", "index.md"),
    ("SLOs and error budget", "slo.md"),
    ("Incident response", "incident-response.md"),
    ("Post-mortem template", "postmortem-template.md"),
    ("Disaster recovery", "disaster-recovery.md"),
    ("Capacity", "capacity.md"),
    ("Observability", "observability.md"),
)
RUNBOOKS_HOOK = "docs/.techdocs/runbooks.py"  # a dot folder: MkDocs never publishes it


def repo_file_url(m: ServiceModel, path: str) -> str:
    """A file outside docs/ linked from a page: the repository's copy (TechDocs publishes docs/ only)."""
    return f"https://github.com/{m.github_repo}/blob/main/{path}"


def runbook_pages(m: ServiceModel) -> list[tuple[str, str]]:
    """(alert name, docs path) of each catalog alert's runbook, as the hook serves them."""
    return [(a.name, f"runbooks/{a.name}.md") for a in alerts.alerts(m)]


def mkdocs_config(m: ServiceModel) -> dict[str, Any]:
    return {
        "site_name": m.name,
        "site_description": m.description,
        "repo_url": f"https://github.com/{m.github_repo}",
        "edit_uri": "edit/main/docs/",
        "docs_dir": "docs",
        "hooks": [RUNBOOKS_HOOK],
        "nav": [*({title: path} for title, path in DOC_PAGES),
                {"Runbooks": [{name: path} for name, path in runbook_pages(m)]}],
    }


def component(m: ServiceModel) -> dict[str, Any]:
    annotations = {
        "github.com/project-slug": m.github_repo,
        "backstage.io/source-location": f"url:https://github.com/{m.github_repo}",
        "backstage.io/kubernetes-id": m.name,
        "backstage.io/kubernetes-label-selector": f"app.kubernetes.io/name={m.name}",
        "grafana/dashboard-selector": f"uid == '{m.dashboard_uid('golden')}' || uid == '{m.dashboard_uid('slo')}'",
        "grafana/alert-label-selector": f"service={m.name}",
        "backstage.io/techdocs-ref": TECHDOCS_REF,
        # the service the pager receiver's routing key belongs to (an ID, not the key: that is a secret)
        PAGERDUTY_ANNOTATION: m.pagerduty_service_id,
    }
    if m.gitops == "argocd":
        annotations["argocd/app-name"] = gitops.app_name(m, m.production)
    else:
        annotations["flux.weave.works/kustomization"] = gitops.app_name(m, m.production)
    links = [
        {"url": m.dashboard_url("golden"), "title": "Golden signals dashboard", "icon": "dashboard"},
        {"url": m.dashboard_url("slo"), "title": "SLO dashboard", "icon": "dashboard"},
        {"url": m.runbook_base_url, "title": "Runbooks", "icon": "docs"},
        {"url": f"https://github.com/{m.github_repo}/blob/main/docs/incident-response.md",
         "title": "Incident response", "icon": "docs"},
    ]
    if m.has_route:
        links.append({"url": f"https://{m.hostname}", "title": "Production endpoint", "icon": "web"})
    spec = {"type": TYPE[m.blueprint], "lifecycle": m.lifecycle, "owner": f"group:{m.team}"}
    if system(m):
        spec["system"] = system(m)
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": m.name,
            "description": m.description,
            "annotations": annotations,
            "tags": sorted({m.stack, m.blueprint, m.cloud, m.gitops}),
            "links": links,
        },
        "spec": spec,
    }
