"""`copier update` from tag v1.0.0 to v2.0.0 keeps local edits and brings the
blueprint's changes, the way a service team lives with it.

v2 of the template (made from the v1 snapshot) changes a file nobody edits
(README), adds one artifact (ONCALL.md, with its backlog UNITS entry), adds an answer with a default, and
prepends a line to the base kustomization that the service also edited.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import copier
import pytest
from typer.testing import CliRunner

from tests.helpers import generate_project, git, mutable_copy, trust_source
from scaffold.fleet import lifecycle
from scaffold import yamlio
from scaffold.cli import app

V2_README_LINE = "Blueprint v2: see CHANGELOG for what changed."
V2_KUSTOMIZATION_LINE = "# blueprint v2: resources are listed by scaffold.artifacts.k8s.base_resources"
LOCAL_KUSTOMIZATION_LINE = "# local: reviewed by the payments team"


@pytest.fixture(scope="module")
def template_v2(template_repo: Path, tmp_path_factory) -> Path:
    """A clone of the v1 template with a v2 tag on top."""
    repo = tmp_path_factory.mktemp("template-v2") / "scaffold"
    subprocess.run(["git", "clone", "-q", str(template_repo), str(repo)], check=True)
    trust_source(repo)
    tree = repo / "blueprints" / "package"
    readme = tree / "README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{V2_README_LINE}\n")
    (tree / "ONCALL.md.jinja").write_text(
        "# On-call for {{ service_name }}\n\nPage the {{ team }} rotation; see runbooks/.\n")
    kustomization = tree / "k8s" / "base" / "kustomization.yaml.jinja"
    kustomization.write_text(f"{V2_KUSTOMIZATION_LINE}\n" + kustomization.read_text())
    with (repo / "scaffold" / "artifacts" / "tasks.py").open("a") as f:  # a new artifact is one UNITS entry
        f.write('\nUNITS.append(Unit(("ONCALL.md",), "oncall", "On-call page", "oncall", lambda m, u: [\n'
                '    f"ONCALL.md names the {m.team} rotation that takes the pager"]))\n')
    with (repo / "copier.yml").open("a") as f:
        f.write("\noncall_rotation:\n  type: str\n  help: Pager rotation name\n  default: primary\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")
    git(repo, "tag", "v2.0.0")
    return repo


def _update(dest: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True,
                          conflict="inline", vcs_ref="v2.0.0", skip_answered=True)


def _tasks(dest: Path) -> list[Path]:
    return sorted((dest / "backlog" / "tasks").glob("*.md"))


@pytest.fixture(scope="module")
def updated(template_v2: Path, tmp_path_factory) -> dict:
    """A project with local edits, committed, then updated to v2 (no conflicts)."""
    dest = generate_project(template_v2, tmp_path_factory.mktemp("svc") / "payments-api")
    runbook = sorted((dest / "runbooks").glob("*.md"))[0]
    edits = {
        "k8s/base/deployment.yaml": "# local: pinned node pool reviewed 2026-11\n",
        runbook.relative_to(dest).as_posix(): "\n## Local notes\nCall the payments DBA first.\n",
        ".github/workflows/ci.yml": "# local: extra approval gate documented in CODEOWNERS\n",
    }
    for rel, text in edits.items():
        with (dest / rel).open("a") as f:
            f.write(text)
    # a file nothing links to: a deleted doc leaves mkdocs.yml's nav and other docs' links
    # broken, which the techdocs checker rightly reports
    deleted = ".dockerignore"
    (dest / deleted).unlink()
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "local edits")
    before = len(_tasks(dest))
    _update(dest)
    return {"dest": dest, "edits": edits, "deleted": deleted, "tasks_before": before}


def test_local_edits_to_manifest_runbook_and_workflow_survive(updated):
    for rel, text in updated["edits"].items():
        assert (updated["dest"] / rel).read_text().endswith(text), rel


def test_blueprint_change_to_an_unedited_file_arrives(updated):
    assert V2_README_LINE in (updated["dest"] / "README.md").read_text()
    assert (updated["dest"] / "ONCALL.md").read_text().startswith("# On-call for payments-api")


def test_kustomization_change_arrives_when_not_edited_locally(updated):
    assert (updated["dest"] / "k8s/base/kustomization.yaml").read_text().startswith(V2_KUSTOMIZATION_LINE)


def test_deleted_file_stays_deleted(updated):
    assert not (updated["dest"] / updated["deleted"]).exists()


def test_new_answer_gets_its_default_and_commit_is_recorded(updated, template_v2):
    answers = yamlio.load_file(updated["dest"] / ".copier-answers.yml")
    assert answers["oncall_rotation"] == "primary"
    assert answers["_commit"] == "v2.0.0"
    assert git(template_v2, "rev-parse", "v2.0.0^{commit}")  # the tag is real


def test_backlog_gains_a_task_only_for_the_new_artifact(updated):
    tasks = _tasks(updated["dest"])
    assert len(tasks) == updated["tasks_before"] + 1
    assert sum("ONCALL.md" in t.read_text() for t in tasks) == 1


def test_validate_still_passes_after_update(updated):
    result = CliRunner().invoke(app, ["validate", str(updated["dest"]), "--format", "json"])
    assert result.exit_code == 0, result.stdout[-3000:]


@pytest.fixture(scope="module")
def conflicted(template_v2, tmp_path_factory) -> Path:
    """A project whose local edit conflicts with v2, updated with inline markers (read-only: copy to mutate)."""
    dest = generate_project(template_v2, tmp_path_factory.mktemp("conflicted") / "payments-api")
    kust = dest / "k8s/base/kustomization.yaml"
    kust.write_text(f"{LOCAL_KUSTOMIZATION_LINE}\n" + kust.read_text())
    git(dest, "commit", "-qam", "local header")
    _update(dest)
    return dest


def test_real_conflict_is_marked_inline(conflicted):
    dest = conflicted
    kust = dest / "k8s/base/kustomization.yaml"
    text = kust.read_text()
    assert LOCAL_KUSTOMIZATION_LINE in text and V2_KUSTOMIZATION_LINE in text
    assert "<<<<<<< " in text and ">>>>>>> " in text
    assert lifecycle.has_conflict_markers(dest, ["k8s/base/kustomization.yaml"])


def test_check_reports_clean_after_copy_and_drift_after_edit(template_v2, tmp_path):
    dest = generate_project(template_v2, tmp_path / "payments-api")
    report = lifecycle.check(dest)
    assert report.drift == []
    assert report.update and report.update.update_available  # v1 project, v2 exists
    (dest / "k8s/base/service.yaml").write_text((dest / "k8s/base/service.yaml").read_text() + "# hand edit\n")
    (dest / "docs/incident-response.md").unlink()
    (dest / "NOTES.md").write_text("mine\n")
    drift = {d.path: d for d in lifecycle.drift(dest)}
    assert drift["k8s/base/service.yaml"].status == "modified"
    assert "+# hand edit" in drift["k8s/base/service.yaml"].diff
    assert drift["docs/incident-response.md"].status == "removed"
    assert drift["NOTES.md"].status == "added"
    assert len(drift) == 3
    result = CliRunner().invoke(app, ["check", str(dest), "--exit-code", "--format", "json"])
    assert result.exit_code == 1


def test_check_is_clean_right_after_update_to_latest(template_v2, tmp_path):
    dest = generate_project(template_v2, tmp_path / "payments-api")
    _update(dest)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "update")
    result = CliRunner().invoke(app, ["check", str(dest), "--exit-code"])
    assert result.exit_code == 0, result.stdout
    assert "up to date" in result.stdout and "drift: none" in result.stdout


def test_recopy_keeps_the_same_tree(template_v2, tmp_path):
    dest = generate_project(template_v2, tmp_path / "payments-api")
    files_before = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if ".git" not in p.parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_recopy(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v1.0.0",
                          skip_answered=True)
    files_after = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if ".git" not in p.parts)
    assert files_after == files_before
    assert git(dest, "status", "--porcelain") == ""
    shutil.rmtree(dest)


def _mark_conflict(path: Path, line_no: int) -> None:
    """Insert a conflict block where ``copier update --conflict inline`` would."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line_no:line_no] = ["<<<<<<< before updating\n", "mine: 1\n", "=======\n", "theirs: 2\n",
                              ">>>>>>> after updating\n"]
    path.write_text("".join(lines), encoding="utf-8")


def test_validate_names_each_conflicted_file_and_never_crashes(conflicted, tmp_path):
    """Issue #22 defect 4: validate on what a conflicted update leaves used to crash with
    a ruamel traceback (or report 'checker crashed' with no file). Now the first checker
    names each conflicted file on one line, and every YAML reader reports file:line."""
    dest = mutable_copy(conflicted, tmp_path, "payments-api")  # a real conflict in k8s/base/kustomization.yaml
    extra = ["k8s/base/configmap.yaml", "observability/prometheus/payments-api.rules.yaml",
             ".github/workflows/ci.yml", "observability/alertmanager/routes.test.yaml"]
    for rel in extra:
        _mark_conflict(dest / rel, 12)
    conflicted = sorted(["k8s/base/kustomization.yaml", *extra])
    proc = subprocess.run([sys.executable, "-m", "scaffold", "validate", str(dest)],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "Traceback" not in out and "checker crashed" not in out, out[-4000:]
    marker_lines = [ln for ln in proc.stdout.splitlines() if ": conflict-markers: " in ln]
    assert sorted(ln.split(":", 1)[0] for ln in marker_lines) == conflicted, marker_lines
    # conflict-markers runs first (its progress line leads stderr)
    assert proc.stderr.lstrip().startswith("conflict-markers"), proc.stderr[:300]
    # Every other finding about a conflicted YAML file names the file and its line.
    for ln in proc.stdout.splitlines():
        if "does not parse as YAML" in ln:
            assert re.match(r"^[\w./-]+:\d+: [\w-]+: does not parse as YAML", ln), ln
    assert any("prometheus-rules: does not parse as YAML" in ln for ln in proc.stdout.splitlines()), proc.stdout
