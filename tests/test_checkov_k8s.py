"""checkov (kubernetes + kustomize frameworks) over k8s/: 0 failed checks for every
blueprint, every skip written with its reason, and a real failure when a manifest breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold.artifacts import checkov_policy
from scaffold import yamlio
from scaffold.validate import run_all
from scaffold.validate.checkov import skips_with_reasons
from tests.helpers import mutable_copy, require_tool

pytestmark = pytest.mark.slow

# The default answers (service, canary) are not a case here: tests/test_validate_all.py runs
# `scaffold validate --all` on them, whose checkov pass covers k8s/ with the same config.
CASES = {
    "service-rolling-ingress": dict(delivery="rolling", ingress="ingress"),
    "worker": dict(blueprint="worker", delivery="rolling"),
    "cronjob": dict(blueprint="cronjob"),
}


def checkov(root: Path):
    require_tool("checkov")
    require_tool("kubectl")  # checkov's kustomize framework builds the overlays with it
    (result,) = run_all(root, only=["checkov"])
    return result


def k8s_only(root: Path, dest: Path) -> Path:
    """A copy whose .checkov.yaml scans k8s/ only: other areas' directories have their own tests."""
    dest = mutable_copy(root, dest.parent, dest.name)
    cfg = dest / ".checkov.yaml"
    text = cfg.read_text()
    cfg_data = yamlio.load(text)
    dirs = "".join(f"  - {d}\n" for d in cfg_data["directory"])
    cfg.write_text(text.replace("directory:\n" + dirs, "directory:\n  - k8s\n"))
    return dest


@pytest.mark.parametrize("case", sorted(CASES))
def test_checkov_k8s_has_no_failed_checks(render, tmp_path, case):
    root = k8s_only(render(name="payments-api", skip_tasks=True, **CASES[case]), tmp_path / "pkg")
    result = checkov(root)
    assert result.status == "pass", [f"{f.file}: {f.message}" for f in result.findings]


def test_the_default_package_is_checked_by_validate_all():
    from tests.test_validate_all import COVER

    assert {} in COVER  # the service-canary k8s/ this file leaves to validate --all


def test_every_skip_has_a_reason_in_the_generated_config(render):
    text = (render(name="payments-api", skip_tasks=True) / ".checkov.yaml").read_text()
    skips = skips_with_reasons(text)
    assert sorted(skips) == sorted(checkov_policy.skip_ids())
    assert all(len(reason) > 20 for reason in skips.values()), skips
    cfg = yamlio.load(text)
    assert {"kubernetes", "kustomize"} <= set(cfg["framework"]) and "k8s" in cfg["directory"]


def test_checkov_reports_a_privileged_container_and_an_unexplained_skip(render, tmp_path):
    root = k8s_only(render(name="payments-api", skip_tasks=True, blueprint="worker", delivery="rolling"),
                    tmp_path / "pkg")
    dep = root / "k8s/base/deployment.yaml"
    dep.write_text(dep.read_text().replace("privileged: false", "privileged: true"))
    cfg = root / ".checkov.yaml"
    cfg.write_text(cfg.read_text().replace("skip-check:\n", "skip-check:\n  - CKV_K8S_16\n", 1))
    result = checkov(root)
    messages = [f"{f.file}: {f.message}" for f in result.findings]
    assert result.status == "fail"
    assert any("CKV_K8S_16 has no written reason" in m for m in messages), messages
    cfg.write_text(cfg.read_text().replace("  - CKV_K8S_16\n", ""))
    messages = [f"{f.file}: {f.message}" for f in checkov(root).findings]
    assert any(m.startswith("k8s/base/deployment.yaml:") and "CKV_K8S_16" in m for m in messages), messages
    assert any(m.startswith("k8s/overlays/prod/kustomization.yaml:") and "CKV_K8S_16" in m for m in messages)
