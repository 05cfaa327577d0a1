"""Terraform: every .tf parses with python-hcl2, the structural checker passes
for each cloud, and mutated copies are caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold.artifacts import terraform as tfpolicy
from scaffold.model.service import ServiceModel
from scaffold.model.package import Package
from scaffold.validate import terraform as tfcheck
from tests.helpers import mutable_copy

CLOUDS = ("aws", "gcp", "azure", "none")


@pytest.fixture(scope="module", params=CLOUDS)
def cloud_pkg(request, render) -> tuple[str, Path]:
    return request.param, render(cloud=request.param, skip_tasks=True)


def test_every_file_parses_and_structure_passes(cloud_pkg):
    cloud, pkg_root = cloud_pkg
    files = sorted((pkg_root / "terraform").rglob("*.tf")) + sorted((pkg_root / "terraform").rglob("*.tfvars"))
    # three envs x 5 root files, plus two modules x 4 .tf files where there is a cloud side
    assert len(files) == 5 * 3 + (4 * 2 if cloud != "none" else 0)
    for f in files:
        assert isinstance(tfcheck.parse(f), dict), f
    pkg = Package.load(pkg_root)
    assert [str(f) for f in tfcheck.check_tree(pkg)] == []


def test_modules_per_cloud(cloud_pkg):
    cloud, pkg_root = cloud_pkg
    modules_dir = pkg_root / "terraform" / "modules"
    modules = sorted(p.name for p in modules_dir.iterdir()) if modules_dir.is_dir() else []
    assert modules == sorted(tfpolicy.CLOUD_MODULES[cloud])
    for name in modules:
        for f in tfcheck.MODULE_FILES:
            assert (pkg_root / "terraform" / "modules" / name / f).is_file()


def test_roots_have_locked_remote_backend(cloud_pkg):
    cloud, pkg_root = cloud_pkg
    model = Package.load(pkg_root).model
    expected = {"aws": "s3", "gcp": "gcs", "azure": "azurerm", "none": "kubernetes"}[cloud]
    for env in model.environments:
        doc = tfcheck.parse(pkg_root / "terraform" / "environments" / env.name / "versions.tf")
        (backend,) = doc["terraform"][0]["backend"]
        assert list(backend) == [expected]
        attrs = backend[expected]
        if cloud == "aws":
            assert attrs["use_lockfile"] is True and attrs["encrypt"] is True
        # one state per environment
        assert env.name in str(attrs.get("key", attrs.get("prefix", attrs.get("secret_suffix"))))


def test_registry_only_in_production_and_only_where_ci_pushes(render):
    """One registry, chosen by image_registry: Terraform creates ECR only when CI pushes to ECR."""
    pkg_root = render(skip_tasks=True, image_registry="111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme")
    for env in ("dev", "staging", "prod"):
        values = tfcheck.parse(pkg_root / "terraform" / "environments" / env / "terraform.tfvars")
        assert values["create_registry"] is (env == "prod")
    ghcr = render(skip_tasks=True)  # the default ghcr.io/acme: no cloud registry to create
    for env in ("dev", "staging", "prod"):
        values = tfcheck.parse(ghcr / "terraform" / "environments" / env / "terraform.tfvars")
        assert values["create_registry"] is False


def _findings(pkg_root: Path) -> list[str]:
    return [f.message for f in tfcheck.check_tree(Package.load(pkg_root))]


def test_undeclared_variable_use_fails(render, tmp_path):
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    main = pkg_root / "terraform" / "modules" / "ecr" / "main.tf"
    main.write_text(main.read_text().replace("var.max_image_count", "var.max_images"))
    found = _findings(pkg_root)
    assert "var.max_images is used but not declared" in found
    assert "variable max_image_count is declared but never used" in found


def test_missing_required_module_input_fails(render, tmp_path):
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    main = pkg_root / "terraform" / "environments" / "dev" / "main.tf"
    text = main.read_text()
    line = "  cluster_name    = var.cluster_name\n"
    assert line in text
    main.write_text(text.replace(line, "  cluster_nam = var.cluster_name\n"))
    found = _findings(pkg_root)
    assert "module workload_identity does not pass required input cluster_name" in found
    assert "module workload_identity passes cluster_nam, which ../../modules/irsa does not declare" in found


@pytest.mark.parametrize("resource", [
    'resource "kubernetes_namespace_v1" "ns" {\n  metadata {\n    name = var.namespace\n  }\n}\n',
    'resource "kubernetes_resource_quota" "q" {\n  metadata {\n    name = "q"\n  }\n}\n',
    'resource "kubernetes_manifest" "lr" {\n  manifest = {\n    kind = "LimitRange"\n  }\n}\n',
])
def test_terraform_owning_an_in_cluster_object_fails(render, tmp_path, resource):
    """GitOps owns the Namespace, ResourceQuota and LimitRange: a second owner in Terraform is a finding."""
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    (pkg_root / "terraform" / "environments" / "prod" / "extra.tf").write_text(resource)
    found = _findings(pkg_root)
    assert any("which GitOps owns (k8s/base/namespace.yaml)" in f for f in found), found


def test_unpinned_provider_undocumented_variable_and_bad_hcl_fail(render, tmp_path):
    pkg_root = mutable_copy(render(cloud="gcp", skip_tasks=True), tmp_path, "payments-api")
    mod = pkg_root / "terraform" / "modules" / "gke-workload-identity"
    (mod / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
    v = mod / "variables.tf"
    v.write_text(v.read_text().replace('  description = "Google service account id (6-30 characters)."\n', ""))
    (pkg_root / "terraform" / "environments" / "prod" / "terraform.tfvars").write_text('x = "unterminated\n')
    found = _findings(pkg_root)
    assert "provider google is not pinned (source and version in required_providers)" in found
    assert "variable account_id has no description" in found
    assert any(m.startswith("python-hcl2 cannot parse") for m in found)


def test_s3_backend_without_lockfile_fails(render, tmp_path):
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    v = pkg_root / "terraform" / "environments" / "staging" / "versions.tf"
    v.write_text(v.read_text().replace("use_lockfile = true", "use_lockfile = false"))
    assert "s3 backend must set use_lockfile = true (native state locking)" in _findings(pkg_root)


def test_readme_table_must_match_module(render, tmp_path):
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    readme = pkg_root / "terraform" / "modules" / "irsa" / "README.md"
    readme.write_text("\n".join(l for l in readme.read_text().splitlines() if "`policy_arns`" not in l))
    assert "inputs/outputs table lacks policy_arns" in _findings(pkg_root)


# -- the HCL emitter: user values can never interpolate -------------------------
@pytest.mark.fast
@pytest.mark.parametrize("value,expected", [
    ("plain", '"plain"'),
    ("${file(\"/etc/passwd\")}", '"$${file(\\"/etc/passwd\\")}"'),
    ("%{ if true }x%{ endif }", '"%%{ if true }x%%{ endif }"'),
    ("line\nbreak", '"line\\nbreak"'),
    (True, "true"),
    (25, "25"),
])
def test_hcl_scalar(value, expected):
    assert tfpolicy.hcl(value) == expected


@pytest.mark.fast
def test_hcl_roundtrip_through_parser(tmp_path):
    values = {"a": "x${y}", "labels": {"app.kubernetes.io/name": "n", "k": "v"}, "n": 3, "b": False}
    f = tmp_path / "t.tfvars"
    f.write_text(tfpolicy.assignments(values))
    parsed = tfcheck.parse(f)
    assert parsed["n"] == 3 and parsed["b"] is False
    assert parsed["labels"] == {"app.kubernetes.io/name": "n", "k": "v"}
    assert parsed["a"] == "x$${y}"  # escaped: Terraform reads it as the literal x${y}


def test_roots_declare_exactly_the_variables_they_use(cloud_pkg):
    """No leftovers of the namespace module: no quota_*, default_*, labels or kubeconfig inputs."""
    cloud, pkg_root = cloud_pkg
    model = Package.load(pkg_root).model
    cloud_side = {"service_name", "environment", "service_account", "identity_name", "create_registry",
                  "registry_name"}
    expected = {"namespace"} | (cloud_side | set(tfpolicy.cloud_values(model, model.production))
                                if cloud != "none" else set())
    if cloud == "azure":
        expected |= {"replica_location", "subscription_id"}  # defect 10: azurerm 4 needs subscription_id
    for env in model.environments:
        root = tfcheck.load_dir(pkg_root / "terraform" / "environments" / env.name, Package.load(pkg_root), [])
        assert set(root.variables) == expected
        providers = {p for d in root.docs.values() for e in d.get("provider", []) for p in e}
        assert providers == ({tfpolicy.CLOUD_PROVIDER[cloud]} if cloud != "none" else set())
        pinned = {p for t in root.terraform_blocks() for rp in t.get("required_providers", []) for p in rp}
        assert pinned == ({tfpolicy.CLOUD_PROVIDER[cloud]} if cloud != "none" else set())


@pytest.mark.fast
def test_required_version_allows_removed_blocks():
    """`removed { ... lifecycle { destroy = false } }` needs Terraform >= 1.7."""
    import re

    op, version = re.fullmatch(r"(>=|~>)\s*([0-9.]+)", tfpolicy.REQUIRED_VERSION).groups()
    assert op == ">=" and tuple(int(x) for x in version.split(".")) >= (1, 7)


@pytest.mark.fast
@pytest.mark.parametrize("name", ["a1b", "payments-api", "x" * 40, "1st-service"])
def test_identity_names_fit_cloud_limits(name):
    import re

    for env in ("dev", "environment-name-20c"):
        m = ServiceModel.from_answers({"service_name": name, "cloud": "gcp", "environments": [env, "prod"]})
        for e in m.environments:
            account = tfpolicy.identity_name(m, e)
            assert re.match(r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$", account), account
