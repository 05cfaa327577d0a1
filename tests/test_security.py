"""Issue 16: hostile inputs through both doors, and git calls that take data.

Each exploit runs in a temporary directory and shows that nothing ran and
nothing was written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import gitsafe, yamlio

from conftest import ROOT

PY = sys.executable
# A hang guard, not a timed assertion: a fixed exploit must return long before this.
HANG_GUARD_S = 300


def scaffold_cli(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCAFFOLD_TEMPLATE": str(ROOT)}
    return subprocess.run([PY, "-m", "scaffold", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=HANG_GUARD_S, **kw)


# -- defect 2: git option injection through _commit ---------------------------
@pytest.mark.fast
@pytest.mark.parametrize("ref", ["--output=/tmp/x", "-p", "a..b", "HEAD@{1}", "x\ny", "", " v1", "v1 --all"])
def test_gitsafe_refuses_option_like_revisions(ref):
    assert gitsafe.revision(ref) is None


@pytest.mark.fast
@pytest.mark.parametrize("ref", ["v1.0.0", "HEAD", "0123abcd" * 5, "release/2026-01", "HEAD~1", "v1.0.0^"])
def test_gitsafe_keeps_real_revisions(ref):
    assert gitsafe.revision(ref) == ref


def test_commit_option_injection_writes_nothing(render, template_repo, tmp_path):
    pkg = shutil.copytree(render(skip_tasks=True), tmp_path / "pkg", symlinks=True)
    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    answers["_src_path"] = str(template_repo)
    answers["_commit"] = f"--output={target}"
    (pkg / ".copier-answers.yml").write_text(yamlio.dump(dict(answers)))
    before = sorted(p.relative_to(pkg) for p in pkg.rglob("*"))
    proc = scaffold_cli("tasks", "--dry-run", str(pkg))
    assert target.read_text() == "keep me\n", proc.stderr
    assert sorted(p.relative_to(pkg) for p in pkg.rglob("*")) == before
    assert not list(tmp_path.glob("--output*"))


def test_check_refuses_option_like_commit(render, template_repo, tmp_path):
    pkg = shutil.copytree(render(skip_tasks=True), tmp_path / "pkg", symlinks=True)
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    answers["_commit"] = f"--output={tmp_path / 'victim'}"
    (pkg / ".copier-answers.yml").write_text(yamlio.dump(dict(answers)))
    proc = scaffold_cli("check", str(pkg))
    assert proc.returncode == 2 and "_commit must be a git tag or commit id" in proc.stderr, proc.stderr
    assert not (tmp_path / "victim").exists()


@pytest.mark.fast
def test_fleet_clone_refuses_option_like_entry(tmp_path):
    from scaffold import fleet

    evil = f"--upload-pack=touch {tmp_path / 'pwned'};://x"
    result = fleet.status_repo(evil, str(tmp_path / "work"))
    assert result.status == "failed" and "not a repository URL" in result.detail, result.detail
    assert not (tmp_path / "pwned").exists()
