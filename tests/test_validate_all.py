"""Issue-6 acceptance: `scaffold validate --all` (checkov included) passes with 0
failures for every cloud, gitops and delivery choice (a covering set, not the product)."""

from __future__ import annotations

import json

import pytest
from tests.helpers import require_tool, shared_crds
from typer.testing import CliRunner

from scaffold import tools
from scaffold.cli import app
from scaffold.validate import terraform_cli as tfcli

COVER = [
    {},  # aws, argocd, canary
    {"cloud": "gcp", "gitops": "flux", "delivery": "rolling"},
    {"cloud": "azure", "gitops": "argocd", "delivery": "rolling", "ingress": "ingress"},
    {"cloud": "none", "gitops": "flux", "delivery": "canary", "stack": "node"},
]


@pytest.mark.slow
@pytest.mark.parametrize("answers", COVER, ids=lambda a: "-".join(a.values()) or "defaults")
def test_validate_all_passes(answers, render):
    require_tool("checkov")
    pkg = render(**answers)
    # Chaos Mesh's CRD manifests from ../shared/crds: every custom resource is then validated.
    result = CliRunner().invoke(app, ["validate", str(pkg), "--all", "--format", "json",
                                      "--crd-dir", str(shared_crds())])
    report = json.loads(result.stdout)
    statuses = {r["checker"]: r["status"] for r in report["results"]}
    details = {r["checker"]: r["detail"] for r in report["results"]}
    failures = [(r["checker"], f["file"], f["message"][:200]) for r in report["results"] for f in r["findings"]]
    assert result.exit_code == 0 and report["ok"], failures[:15]
    assert statuses["checkov"] == "pass"
    assert statuses["terraform"] == "pass"  # python-hcl2 and the structural checks, every cloud
    assert "fail" not in statuses.values()
    assert statuses["crds"] == "pass" and "NOT validated" not in details["crds"], details["crds"]
    assert "PodChaos (chaos-mesh.org)" in details["crds"]
    # The real terraform: a pass where this machine has the provider, else a listed skip.
    cloud = answers.get("cloud", "aws")
    if tools.find("terraform") is None:
        assert statuses["terraform-cli"] == "skip" and "terraform not on this machine" in details["terraform-cli"]
    elif cloud in ("gcp", "azure"):
        provider = {"gcp": "hashicorp/google", "azure": "hashicorp/azurerm"}[cloud]
        assert statuses["terraform-cli"] == "skip" and report["skipped"] == ["terraform-cli"]
        assert f"terraform validate: not run (provider {provider} not available)" in details["terraform-cli"]
    elif cloud == "none" or tfcli.discover_mirror():
        assert statuses["terraform-cli"] == "pass", details["terraform-cli"]
