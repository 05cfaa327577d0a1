"""The Backstage catalog entity (catalog-info.yaml) of the service."""

from __future__ import annotations

from typing import Any

from . import gitops
from .model import ServiceModel

LIFECYCLE = "production"
TYPE = {"service": "service", "worker": "worker", "cronjob": "job"}


def system(m: ServiceModel) -> str:
    """Services group under their team's system until the owner picks another."""
    return m.team


def component(m: ServiceModel) -> dict[str, Any]:
    annotations = {
        "github.com/project-slug": m.github_repo,
        "backstage.io/source-location": f"url:https://github.com/{m.github_repo}",
        "backstage.io/kubernetes-id": m.name,
        "backstage.io/kubernetes-label-selector": f"app.kubernetes.io/name={m.name}",
        "grafana/dashboard-selector": f"uid == '{m.dashboard_uid('golden')}' || uid == '{m.dashboard_uid('slo')}'",
        "grafana/alert-label-selector": f"service={m.name}",
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
        "spec": {"type": TYPE[m.blueprint], "lifecycle": LIFECYCLE, "owner": f"group:{m.team}",
                 "system": system(m)},
    }
