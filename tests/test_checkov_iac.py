"""checkov over the generated Terraform, per cloud: 0 failed checks, and every
skip in .checkov.yaml carries a reason (slow; CI runs it)."""

from __future__ import annotations

import subprocess

import pytest

from scaffold.validate import checkov as checkov_checker
from tests.helpers import mutable_copy, require_tool

pytestmark = pytest.mark.slow


def _failed(pkg_root) -> tuple[list[str], dict]:
    checkov = require_tool("checkov")
    cfg = (pkg_root / ".checkov.yaml").read_text()
    skips = checkov_checker.skips_with_reasons(cfg)
    assert all(reason for reason in skips.values()), skips
    proc = subprocess.run(
        [checkov, "-d", "terraform", "--framework", "terraform", "--output", "json", "--quiet", "--compact",
         "--skip-download", *[a for s in skips for a in ("--skip-check", s)]],
        cwd=pkg_root, capture_output=True, text=True, env={**checkov_checker.OFFLINE_ENV, "PATH": "/usr/bin:/bin"},
        timeout=1200)
    reports = checkov_checker.reports(proc.stdout)
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}" for r in reports
              for c in r.get("results", {}).get("failed_checks", [])]
    return failed, reports[0].get("summary", reports[0])


# aws and none are not cases here: tests/test_validate_all.py runs `scaffold validate --all` on an
# aws and a none package, whose checkov pass (terraform framework, same skips) is 0 failed checks and
# 0 parsing errors; that checkov evaluates aws's resources at all is shown by the weakened-registry
# test below. gcp and azure stay for their "some check passed" (checkov knows their resources).
@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_checkov_terraform_zero_failed(render, cloud):
    failed, summary = _failed(render(cloud=cloud, skip_tasks=True))
    assert failed == []
    assert summary["parsing_errors"] == 0
    if cloud != "none":  # the cloud modules hold resources checkov has checks for
        assert summary["passed"] > 0


def test_aws_and_none_are_checked_by_validate_all():
    from tests.test_validate_all import COVER

    assert {a.get("cloud", "aws") for a in COVER} >= {"aws", "none"}


def test_checkov_catches_a_weakened_registry(render, tmp_path):
    pkg_root = mutable_copy(render(skip_tasks=True), tmp_path)
    main = pkg_root / "terraform" / "modules" / "ecr" / "main.tf"
    main.write_text(main.read_text().replace('"IMMUTABLE"', '"MUTABLE"').replace("scan_on_push = true",
                                                                               "scan_on_push = false"))
    failed, _ = _failed(pkg_root)
    ids = {f.split()[0] for f in failed}
    assert {"CKV_AWS_51", "CKV_AWS_163"} <= ids, failed
