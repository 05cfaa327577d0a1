"""End to end: both doors produce the contract layout (DESIGN §2) for every
blueprint, `scaffold validate` passes on it, and renders are byte-identical."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import copier
import pytest
from typer.testing import CliRunner

from scaffold.cli import app

ENVS = ["dev", "staging", "prod"]
COMMON = [
    ".copier-answers.yml", "README.md", "catalog-info.yaml", ".checkov.yaml",
    ".github/workflows/ci.yml", ".github/workflows/cd.yml", ".github/workflows/security.yml",
    ".github/workflows/blueprint-update.yml",
    "k8s/base/kustomization.yaml", *[f"k8s/overlays/{e}/kustomization.yaml" for e in ENVS],
    "observability/slo.yaml", "observability/alertmanager/alertmanager.yaml",
    "docs/slo.md", "docs/incident-response.md", "docs/postmortem-template.md", "docs/disaster-recovery.md",
    "docs/index.md", "mkdocs.yml", "backlog/config.yml",
]
GLOBS = ["observability/prometheus/*.rules.yaml", "observability/prometheus/*.test.yaml",
         "observability/grafana/dashboards/*.json", "runbooks/*.md", "terraform/modules/*/main.tf",
         "terraform/modules/*/variables.tf", "terraform/modules/*/outputs.tf", "terraform/modules/*/versions.tf",
         "terraform/modules/*/README.md", *[f"terraform/environments/{e}/*.tf" for e in ENVS],
         "gitops/**/*.yaml", "resilience/**/*.yaml", "backlog/tasks/*.md"]
BLUEPRINTS = ["service", "worker", "cronjob"]
# Checkers that must really run and pass on every blueprint (a skip is not a pass).
REQUIRED_CHECKS = {
    "kubernetes", "kustomize", "crds", "prometheus-rules", "prometheus-tests", "alert-runbooks",
    "alert-test-coverage", "alertmanager-config", "alertmanager-routes", "grafana-dashboards", "terraform",
    "workflows-actionlint", "workflows-zizmor", "workflows-schema", "workflows-pins", "workflows-hygiene",
    "backlog", "app-dockerfile", "app-sources", "test-stages", "backstage-catalog", "techdocs",
    "otel-collector-config",
}


def assert_layout(pkg: Path) -> None:
    missing = [p for p in COMMON if not (pkg / p).is_file()]
    missing += [g for g in GLOBS if not any(pkg.glob(g))]
    assert not missing, f"{pkg.name} lacks {missing}"


def validate_json(pkg: Path) -> dict:
    result = CliRunner().invoke(app, ["validate", str(pkg), "--format", "json"])
    report = json.loads(result.stdout)
    failures = [(r["checker"], f) for r in report["results"] if r["status"] == "fail" for f in r["findings"]]
    assert result.exit_code == 0 and report["ok"], failures[:20]
    return report


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_copier_cli_copy_validates(blueprint, template_repo, tmp_path):
    dest = tmp_path / f"{blueprint}-svc"
    subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet",
                    "--vcs-ref", "v1.0.0", "-d", f"blueprint={blueprint}", str(template_repo), str(dest)],
                   check=True, capture_output=True, text=True)
    assert_layout(dest)
    report = validate_json(dest)
    passed = {r["checker"] for r in report["results"] if r["status"] == "pass"}
    assert REQUIRED_CHECKS <= passed, REQUIRED_CHECKS - passed


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_scaffold_new_matches_copier_copy(blueprint, render, template_repo, tmp_path):
    a = tmp_path / "a" / "payments-api"
    result = CliRunner().invoke(app, ["new", str(a), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0",
                                      "--defaults", "-q", "--blueprint", blueprint])
    assert result.exit_code == 0, result.output
    # copier.run_copy of that blueprint: the session's shared render (service is the default answer)
    b = render() if blueprint == "service" else render(blueprint=blueprint)
    assert_layout(a)
    assert _diff(a, b) == []


def _diff(a: Path, b: Path) -> list[str]:
    files_a = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    files_b = sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return sorted(set(files_a) ^ set(files_b))
    return [f for f in files_a if not filecmp.cmp(a / f, b / f, shallow=False)]


@pytest.mark.parametrize("answers", [{}, {"blueprint": "worker", "stack": "go", "cloud": "gcp", "gitops": "flux"},
                                     {"blueprint": "cronjob", "stack": "dotnet", "cloud": "azure"}])
def test_same_answers_give_byte_identical_trees(answers, render, template_repo, tmp_path):
    """The session's render of these answers (the same run_copy call, made earlier in the run and
    shared, so also never mutated by a test) and a second copy made here: byte for byte equal."""
    trees = [render(**answers)]
    dest = tmp_path / "second" / "payments-api"
    copier.run_copy(str(template_repo), str(dest), data=answers, defaults=True, unsafe=True, quiet=True,
                    vcs_ref="v1.0.0")
    trees.append(dest)
    assert trees[0].name == dest.name
    assert _diff(*trees) == []
    assert len(list(trees[0].rglob("*"))) > 20
