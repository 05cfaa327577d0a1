"""Fleet runs only trusted template sources, pinned to a commit (issue #16, defect 1)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from scaffold.fleet import fleet
from tests.helpers import generate_project, git, trust_source
from tests.test_loader import _evil_template


def test_fleet_refuses_an_untrusted_source_and_runs_nothing(template_repo: Path, tmp_path: Path) -> None:
    svc = generate_project(template_repo, tmp_path / "svc" / "payments-api")
    evil, marker = _evil_template(tmp_path, template_repo)
    answers = svc / ".copier-answers.yml"
    answers.write_text(re.sub(r"^_src_path: .*$", f"_src_path: {evil}", answers.read_text(), flags=re.M))
    git(svc, "commit", "-qam", "a one-line pull request")
    head = git(svc, "rev-parse", "HEAD")
    result = fleet.update_repo(str(svc))
    assert result.status == "failed" and "is not a trusted template source" in result.detail
    assert not marker.exists()
    assert git(svc, "rev-parse", "HEAD") == head and not git(svc, "status", "--porcelain")


def test_fleet_pins_the_tag_to_a_commit_and_records_it(template_repo: Path, tmp_path: Path) -> None:
    tpl = tmp_path / "tpl" / "scaffold"
    shutil.copytree(template_repo, tpl, symlinks=True)
    trust_source(tpl)
    svc = generate_project(tpl, tmp_path / "svc" / "payments-api")
    readme = tpl / "blueprints" / "package" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nv2 line\n")
    git(tpl, "commit", "-qam", "v2")
    git(tpl, "tag", "v2.0.0")
    sha = git(tpl, "rev-parse", "v2.0.0^{commit}").strip()
    result = fleet.update_repo(str(svc), trusted=(str(tpl),))
    assert result.status == "updated", result.detail
    body = git(svc, "log", "-1", "--format=%B", result.branch)
    assert f"Scaffold-Template-Commit: {sha}" in body
    assert "v2 line" in git(svc, "show", f"{result.branch}:README.md")
