"""One owner per in-cluster object: for every cloud and every environment, the
Namespace, ResourceQuota and LimitRange are declared exactly once across the
package's GitOps side (the `kubectl kustomize` build of the overlay, plus an
Argo CD Application that would create the namespace) and its Terraform side
(every resource the environment root reaches through its local module calls).

Two owners either fail with "already exists" or fight over labels and sizing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate import terraform as tfcheck
from tests.helpers import require_tool

CLOUDS = ("aws", "gcp", "azure", "none")
KINDS = ("Namespace", "ResourceQuota", "LimitRange")
# Terraform resource types that create those kinds (kubernetes provider, both generations).
TF_KINDS = {
    "kubernetes_namespace": "Namespace",
    "kubernetes_namespace_v1": "Namespace",
    "kubernetes_resource_quota": "ResourceQuota",
    "kubernetes_resource_quota_v1": "ResourceQuota",
    "kubernetes_limit_range": "LimitRange",
    "kubernetes_limit_range_v1": "LimitRange",
}


def terraform_kinds(root: Path, seen: frozenset[Path] = frozenset()) -> Counter[str]:
    """Kinds of in-cluster objects a Terraform module declares, following local module calls."""
    root = root.resolve()
    if root in seen:
        return Counter()
    found: Counter[str] = Counter()
    for tf in sorted(root.glob("*.tf")):
        doc = tfcheck.parse(tf)
        for rtype, _name, body in _resources(doc):
            if rtype in TF_KINDS:
                found[TF_KINDS[rtype]] += 1
            elif rtype == "kubernetes_manifest":
                kind = (body.get("manifest") or {}).get("kind")
                if kind in KINDS:
                    found[kind] += 1
        for _name, call in tfcheck.blocks(doc, "module"):
            source = str(call.get("source", ""))
            if source.startswith(("./", "../")):
                found += terraform_kinds(root / source, seen | {root})
    return found


def _resources(doc: dict[str, Any]):
    for entry in doc.get("resource", []):
        for rtype, named in entry.items():
            for name, body in named.items():
                yield rtype, name, body


def gitops_kinds(pkg: Package, env) -> Counter[str]:
    """What the GitOps controller applies for one environment: the overlay build, plus a
    Namespace if its Argo CD Application is allowed to create one."""
    res = pkg.overlay_build(pkg.root / "k8s" / "overlays" / env.name)
    assert res.returncode == 0, res.output
    found: Counter[str] = Counter()
    for obj in yamlio.load_all(res.stdout):
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        # a Namespace is named after the environment's namespace; the others live in it
        where = meta.get("name") if kind == "Namespace" else meta.get("namespace")
        if kind in KINDS and where == env.namespace:
            found[kind] += 1
    for _path, doc in pkg.yaml_documents("gitops/*.yaml"):
        if not isinstance(doc, dict) or doc.get("kind") != "Application":
            continue
        spec = doc.get("spec") or {}
        options = (spec.get("syncPolicy") or {}).get("syncOptions") or []
        if (spec.get("destination") or {}).get("namespace") == env.namespace and "CreateNamespace=true" in options:
            found["Namespace"] += 1
    return found


@pytest.fixture(scope="module", params=CLOUDS)
def cloud_pkg(request, render) -> Package:
    require_tool("kubectl")
    return Package.load(render(cloud=request.param, skip_tasks=True))


def test_each_in_cluster_object_has_exactly_one_owner(cloud_pkg):
    pkg = cloud_pkg
    for env in pkg.model.environments:
        gitops = gitops_kinds(pkg, env)
        terraform = terraform_kinds(pkg.root / "terraform" / "environments" / env.name)
        for kind in KINDS:
            owners = {"gitops": gitops[kind], "terraform": terraform[kind]}
            assert sum(owners.values()) == 1, f"{env.name}: {kind} declared {owners}"
        # GitOps is the owner; Terraform only reads the name.
        assert not terraform, f"{env.name}: Terraform declares in-cluster objects {dict(terraform)}"


def test_terraform_names_the_overlay_namespace(cloud_pkg):
    """The identity side (IRSA / workload identity) binds the namespace the overlay deploys into."""
    pkg = cloud_pkg
    for env in pkg.model.environments:
        overlay = yamlio.load_file(pkg.root / "k8s" / "overlays" / env.name / "kustomization.yaml")
        tfvars = tfcheck.parse(pkg.root / "terraform" / "environments" / env.name / "terraform.tfvars")
        assert tfvars["namespace"] == overlay["namespace"] == env.namespace


def test_a_new_service_ships_no_migration_removed_blocks(cloud_pkg):
    """`removed` blocks for module.namespace belong only to roots whose state held it: a
    new service has none (issue 22). Migrated roots get removed.tf from `copier update`
    (tests/test_delivery_blueprint.py::test_update_from_the_old_layout)."""
    pkg = cloud_pkg
    for env in pkg.model.environments:
        root = pkg.root / "terraform" / "environments" / env.name
        assert not (root / "removed.tf").exists()
        assert [b for tf in sorted(root.glob("*.tf")) for b in tfcheck.parse(tf).get("removed", [])] == []
        assert "module.namespace" not in (pkg.root / "terraform" / "README.md").read_text()
