"""The wiring checker: cross-references between a package's files. Clean on every
blueprint/stack/cloud/gitops/delivery choice; a renamed end fails naming both."""

from __future__ import annotations

import re

import pytest

from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate.wiring import Wiring
from tests.helpers import mutable_copy

VARIANTS = [
    {},
    {"gitops": "flux", "delivery": "rolling"},
    {"gitops": "flux", "cloud": "gcp", "blueprint": "worker", "stack": "go"},
    {"cloud": "azure", "ingress": "ingress", "stack": "node"},
    {"cloud": "none", "blueprint": "cronjob", "stack": "dotnet", "gitops": "flux"},
]


def _findings(root):
    return [f"{f.file}: {f.message}" for f in Wiring().run(Package.load(root))]


@pytest.mark.parametrize("answers", VARIANTS, ids=lambda a: "-".join(f"{v}" for v in a.values()) or "defaults")
def test_wiring_clean(render, answers):
    from scaffold.validate import load_checkers, run_one

    root = render(skip_tasks=True, **answers)
    assert _findings(root) == []
    # registered in `scaffold validate`, and it applies to every package
    result = run_one(load_checkers()["wiring"], Package.load(root))
    assert result.status == "pass", result


@pytest.fixture
def mutable(render, tmp_path):
    def copy(**answers):
        dest = mutable_copy(render(skip_tasks=True, **answers), tmp_path)
        return dest
    return copy


def test_renamed_gitrepository_names_both_ends(mutable):
    root = mutable(gitops="flux")
    path = root / "gitops" / "gitrepository.yaml"
    path.write_text(path.read_text().replace("name: payments-api-dev\n", "name: payments-api-dev-src\n", 1))
    found = _findings(root)
    assert any("cd.yml" in f and "gitrepository/payments-api-dev" in f for f in found), found
    assert any("gitops/kustomization-dev.yaml" in f and "GitRepository payments-api-dev" in f for f in found), found


def test_secret_not_passed_by_caller(mutable):
    root = mutable()
    ci = root / ".github" / "workflows" / "ci.yml"
    ci.write_text(re.sub(r"\n    secrets:\n      KUBECONFIG: .*\n", "\n", ci.read_text()))
    found = _findings(root)
    assert any("ci.yml jobs.deploy does not pass secret KUBECONFIG" in f and "cd.yml" in f for f in found), found


def test_short_wait_against_the_plan(mutable):
    root = mutable()
    cd = root / ".github" / "workflows" / "cd.yml"
    cd.write_text(re.sub(r"PLAN_POLLS: '\d+'", "PLAN_POLLS: '60'", cd.read_text()))
    found = _findings(root)
    assert any("jobs.deploy-dev waits 900s" in f and "rollout.yaml" in f for f in found), found


def test_slash_key_on_gcp(mutable):
    root = mutable(cloud="gcp")
    kust = root / "k8s" / "overlays" / "dev" / "kustomization.yaml"
    kust.write_text(kust.read_text().replace("platform-payments-api-dev", "platform/payments-api/dev"))
    found = _findings(root)
    assert any("platform/payments-api/dev" in f and "k8s/overlays/dev" in f for f in found), found


def test_identity_renamed_in_terraform(mutable):
    root = mutable()
    tfvars = root / "terraform" / "environments" / "dev" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace('"payments-api-dev"', '"payments-api-dev2"'))
    found = _findings(root)
    assert any("ServiceAccount payments-api (dev)" in f and "payments-api-dev2" in f and "terraform.tfvars" in f
               for f in found), found


def test_registry_mismatch(mutable):
    root = mutable(image_registry="111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme")
    assert _findings(root) == []
    tfvars = root / "terraform" / "environments" / "prod" / "terraform.tfvars"
    tfvars.write_text(re.sub(r"create_registry\s*=\s*true", "create_registry = false", tfvars.read_text()))
    found = _findings(root)
    assert any("111122223333.dkr.ecr" in f and "terraform" in f for f in found), found


def test_unreached_directory(mutable):
    root = mutable()
    (root / "gitops" / "resilience.yaml").unlink()
    found = _findings(root)
    assert any(f.startswith("resilience:") and "gitops/" in f for f in found), found


def test_readme_names_every_secret_variable_and_object(render):
    """Derived from the files: every secrets.X / vars.X any workflow reads, every
    environment a job names, the secret store the ExternalSecret reads."""
    for answers in VARIANTS[:4]:
        root = render(skip_tasks=True, **answers)
        readme = root / "README.md"
        section = readme.read_text().split("## Before the first deploy", 1)[1].split("\n## ", 1)[0]
        wanted = set()
        for wf in (root / ".github" / "workflows").glob("*.yml"):
            text = wf.read_text()
            wanted |= set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text)) - {"GITHUB_TOKEN"}
            wanted |= set(re.findall(r"vars\.([A-Za-z_][A-Za-z0-9_]*)", text))
            for job in (yamlio.load_file(wf).get("jobs") or {}).values():
                env = job.get("environment")
                if isinstance(env, dict):
                    wanted.add(env["name"])
        for es in yamlio.load_all((root / "k8s" / "base" / "externalsecret.yaml").read_text()):
            if es["kind"] == "ExternalSecret":
                wanted.add(es["spec"]["secretStoreRef"]["name"])
        missing = sorted(w for w in wanted if f"`{w}`" not in section)
        assert not missing, (answers, missing)
