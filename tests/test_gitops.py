"""GitOps: one Application / Kustomization per environment, pointing at an
overlay that exists in the package and that kustomize builds into the env's namespace."""

from __future__ import annotations

import subprocess

import pytest

from scaffold import yamlio
from scaffold.model.package import Package
from tests.helpers import require_tool


def _docs(pkg_root):
    out = []
    for f in sorted((pkg_root / "gitops").glob("*.yaml")):
        if f.name != "kustomization.yaml":
            out += [d for d in yamlio.iter_documents(f)]
    return out


def _build(kubectl, path) -> list[dict]:
    proc = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return yamlio.load_all(proc.stdout)


@pytest.mark.parametrize("gitops,blueprint", [("argocd", "service"), ("flux", "service"), ("flux", "worker"),
                                              ("argocd", "cronjob")])
def test_one_object_per_environment_and_paths_build(render, gitops, blueprint):
    kubectl = require_tool("kubectl")
    pkg_root = render(gitops=gitops, blueprint=blueprint, environments=["dev", "qa", "staging", "prod"],
                      skip_tasks=True)
    model = Package.load(pkg_root).model
    docs = _docs(pkg_root)
    kind = "Application" if gitops == "argocd" else "Kustomization"
    per_env = [d for d in docs if d["kind"] == kind and "scaffold.dev/environment" in d["metadata"]["labels"]]
    assert len(per_env) == len(model.environments) == 4
    by_env = {d["metadata"]["labels"]["scaffold.dev/environment"]: d for d in per_env}
    assert sorted(by_env) == sorted(e.name for e in model.environments)
    for env in model.environments:
        doc = by_env[env.name]
        spec = doc["spec"]
        if gitops == "argocd":
            path, namespace = spec["source"]["path"], spec["destination"]["namespace"]
            sync = spec["syncPolicy"]
            assert sync["automated"]["prune"] and sync["automated"]["selfHeal"]
            assert sync["retry"]["limit"] > 0 and sync["retry"]["backoff"]["factor"] > 1
            assert "CreateNamespace=false" in sync["syncOptions"]
            assert spec["project"] == model.name
            assert spec["source"]["targetRevision"] == f"deploy/{env.name}"  # CD's deploy branch, not main
        else:
            path, namespace = spec["path"].removeprefix("./"), spec["targetNamespace"]
            assert spec["prune"] is True and spec["sourceRef"]["name"] == f"{model.name}-{env.name}"
            # defect 8: no chain; a broken dev must not freeze prod's reconciles
            assert "dependsOn" not in spec
        assert path == f"k8s/overlays/{env.name}" and (pkg_root / path / "kustomization.yaml").is_file()
        assert namespace == env.namespace
        built = _build(kubectl, pkg_root / path)
        namespaced = [o for o in built if o["kind"] != "Namespace"]
        assert namespaced and {o["metadata"].get("namespace") for o in namespaced} == {env.namespace}
    # the bootstrap kustomization lists every file and builds
    objs = _build(kubectl, pkg_root / "gitops")
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objs) == sorted(
        (d["kind"], d["metadata"]["name"]) for d in docs)


def test_argocd_project_fences_repo_and_namespaces(render):
    pkg_root = render(skip_tasks=True)
    model = Package.load(pkg_root).model
    (project,) = [d for d in _docs(pkg_root) if d["kind"] == "AppProject" and d["metadata"]["name"] == model.name]
    assert project["spec"]["sourceRepos"] == [f"https://github.com/{model.github_repo}.git"]
    assert sorted(d["namespace"] for d in project["spec"]["destinations"]) == sorted(
        e.namespace for e in model.environments)
    # the only cluster-scoped kind the base ships, and only the service's own namespaces (issue 16)
    assert project["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": e.namespace} for e in model.environments]


def test_flux_source_points_at_repo(render):
    pkg_root = render(gitops="flux", skip_tasks=True)
    model = Package.load(pkg_root).model
    repos = {d["metadata"]["name"]: d for d in _docs(pkg_root) if d["kind"] == "GitRepository"}
    for env in model.environments:
        repo = repos[f"{model.name}-{env.name}"]
        assert repo["spec"]["url"] == f"https://github.com/{model.github_repo}.git"
        assert repo["spec"]["ref"] == {"branch": f"deploy/{env.name}"}
    assert repos[f"{model.name}-resilience"]["spec"]["ref"] == {"branch": "main"}
    assert not (pkg_root / "gitops" / "appproject.yaml").exists()


def test_catalog_info_links(render):
    pkg_root = render(skip_tasks=True)
    model = Package.load(pkg_root).model
    entity = yamlio.load_file(pkg_root / "catalog-info.yaml")
    ann = entity["metadata"]["annotations"]
    assert entity["kind"] == "Component" and entity["spec"]["owner"] == f"group:{model.team}"
    assert entity["spec"]["lifecycle"] == "experimental" and "system" not in entity["spec"]  # no dangling System
    assert ann["github.com/project-slug"] == model.github_repo
    apps = [d["metadata"]["name"] for d in _docs(pkg_root) if d["kind"] == "Application"]
    assert ann["argocd/app-name"] in apps
    urls = [l["url"] for l in entity["metadata"]["links"]]
    assert model.dashboard_url("golden") in urls and model.dashboard_url("slo") in urls
    assert model.runbook_base_url in urls
