"""Issue-6 acceptance: `scaffold validate --all` (checkov included) passes with 0
failures for every cloud, gitops and delivery choice (a covering set, not the product)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import require_tool
from scaffold.cli import app

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
    result = CliRunner().invoke(app, ["validate", str(pkg), "--all", "--format", "json"])
    report = json.loads(result.stdout)
    statuses = {r["checker"]: r["status"] for r in report["results"]}
    failures = [(r["checker"], f["file"], f["message"][:200]) for r in report["results"] for f in r["findings"]]
    assert result.exit_code == 0 and report["ok"], failures[:15]
    assert statuses["checkov"] == "pass"
    assert "fail" not in statuses.values()
