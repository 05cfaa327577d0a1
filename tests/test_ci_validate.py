"""Issue #22 defect 2: the package checks itself in its own CI.

The generated ci.yml's ``validate`` job runs ``scaffold validate`` at the version
the answers record (scaffold cloned from the trusted template source at
``_commit``, set up by its own scripts/setup.sh), and every other root job needs
it. Here its own steps run locally (tests/gha.py) on a package generated from a
git source: it passes on the pristine package and fails on a broken rule and
on a broken overlay.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import copier
import pytest
import yaml

from tests import gha
from tests.helpers import ROOT, mutable_copy, require_tool

SETUP_STEP = "Install scaffold-blueprints and the validators' tools (scripts/setup.sh)"


@pytest.fixture(scope="module")
def from_git(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package generated from git+file:// (a source the workflow can trust and clone)."""
    dest = tmp_path_factory.mktemp("ci-validate") / "payments-api"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(f"git+file://{template_repo}", str(dest), defaults=True, unsafe=True, quiet=True,
                        vcs_ref="v1.0.0")
    return dest


def run_validate_job(pkg: Path, tmp_path: Path) -> list[gha.StepRun]:
    for tool in ("kubectl", "promtool", "amtool", "backlog"):
        require_tool(tool)
    job = yaml.safe_load((pkg / ".github/workflows/ci.yml").read_text())["jobs"]["validate"]
    steps = []
    for s in job["steps"]:
        if s.get("name") == SETUP_STEP:
            # scripts/setup.sh of the clone would install what this checkout's `make setup` already
            # did (same code: the template is a snapshot of it); link that environment instead.
            assert s["run"].strip() == 'cd "$RUNNER_TEMP/scaffold"\nscripts/setup.sh', s["run"]
            s = {**s, "run": f'cd "$RUNNER_TEMP/scaffold"\ntest -x scripts/setup.sh\n'
                             f'ln -s "{ROOT}/.venv" .venv\nrm -rf tools/node_modules\n'
                             f'ln -s "{ROOT}/tools/node_modules" tools/node_modules\n'}
        steps.append(s)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    env = gha.clean_env(PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", PIP_NO_INDEX="1",
                        PIP_DISABLE_PIP_VERSION_CHECK="1")
    return gha.run_job({**job, "steps": steps}, cwd=pkg, env=env, ctx=gha.Context(), temp=temp, timeout=600)


def report(runs: list[gha.StepRun]) -> str:
    return "\n".join(f"{r.name}: ran={r.ran} rc={r.returncode}\n{r.stdout[-2500:]}{r.stderr[-1500:]}" for r in runs)


def test_every_other_root_job_needs_validate(from_git: Path) -> None:
    jobs = yaml.safe_load((from_git / ".github/workflows/ci.yml").read_text())["jobs"]
    assert "needs" not in jobs["validate"]
    roots = [name for name, j in jobs.items() if name != "validate" and "uses" not in j]
    for name in roots:
        needs = jobs[name].get("needs") or []
        assert needs, name
    # everything reaches validate through its needs
    def reaches(name: str) -> bool:
        needs = jobs[name].get("needs") or []
        return "validate" in needs or any(reaches(n) for n in needs)
    assert all(reaches(n) for n in jobs if n != "validate")


@pytest.mark.slow
def test_validate_job_passes_on_the_pristine_package(from_git: Path, tmp_path: Path) -> None:
    runs = run_validate_job(mutable_copy(from_git, tmp_path), tmp_path)
    assert all(r.ran and r.returncode == 0 for r in runs[2:]), report(runs)
    assert "0 failed" in runs[-1].stdout, report(runs)
    clone = tmp_path / "runner-temp" / "scaffold"
    assert (clone / "pyproject.toml").is_file() and 'name = "scaffold-blueprints"' in (clone / "pyproject.toml").read_text()


@pytest.mark.slow
def test_validate_job_fails_on_a_broken_rule_and_on_a_broken_overlay(from_git: Path, tmp_path: Path) -> None:
    """One run (each full validate costs ~15 s): validate runs every checker whatever fails, so each
    break failing the job on its own shows as its own finding, named by its file and checker."""
    pkg = mutable_copy(from_git, tmp_path)
    rules = pkg / "observability/prometheus/payments-api.rules.yaml"
    text = rules.read_text()
    assert "sum by (namespace) (rate(" in text
    rules.write_text(text.replace("sum by (namespace) (rate(", "sum by (namespace) (rate((", 1))
    kust = pkg / "k8s/overlays/staging/kustomization.yaml"
    kust.write_text(kust.read_text().replace("- ../../base", "- ../../missing", 1))
    runs = run_validate_job(pkg, tmp_path)
    assert runs[-1].name == "scaffold validate" and runs[-1].ran and runs[-1].returncode == 1, report(runs)
    lines = runs[-1].stdout.splitlines()
    assert any(ln.startswith("observability/prometheus/payments-api.rules.yaml") and ": prometheus-rules: " in ln
               for ln in lines), runs[-1].stdout[-3000:]
    assert any(ln.startswith("k8s/overlays/staging: kustomize: kubectl kustomize failed") for ln in lines), lines
    failed = {ln.split(": ")[1] for ln in lines if ": " in ln and not ln.startswith(("skipped", "k8s/overlays/staging"))}
    assert "prometheus-rules" in failed


def test_readme_says_how_to_run_the_same_checks_locally(from_git: Path, template_repo: Path) -> None:
    from scaffold.artifacts import workflows

    readme = (from_git / "README.md").read_text()
    section = readme.split("## Validate", 1)[1].split("\n## ", 1)[0]
    assert f"git clone file://{template_repo} ../scaffold" in section
    assert "../scaffold/.venv/bin/scaffold validate ." in section and "make -C ../scaffold setup" in section
    assert "generated from a local path" not in section
    # the prerequisites' versions are the ones scaffold's own set-up installs
    versions = {tool: version for tool, version, _ in workflows.VALIDATE_PREREQUISITES}
    pkg_json = __import__("json").loads((ROOT / "tools/package.json").read_text())
    assert versions["backlog.md"].startswith(pkg_json["dependencies"]["backlog.md"] + " ")
    pin = next(line for line in (ROOT / "scripts/setup-kubectl.sh").read_text().splitlines() if line.startswith("PIN="))
    assert pin.split("==")[1].strip('"') in versions["kubectl"]
    for tool, version, _ in workflows.VALIDATE_PREREQUISITES:
        assert f"| {tool} | {version} |" in section
