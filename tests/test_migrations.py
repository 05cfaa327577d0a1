"""Migrations: a file move in a new major version carries the file, and any local
edits, to the new path.

scaffold has shipped no breaking change yet, so copier.yml's `_migrations`
holds only the after-update pass (scaffold.hook --after-update). This proves the mechanism every future one will use: a v2
template moves docs/postmortem-template.md, and its `_migrations` entry moves
the project's copy first, so the team's edit arrives at the new path.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import copier
import pytest

from tests.helpers import git
from scaffold import migrate, yamlio

OLD, NEW = "docs/postmortem-template.md", "docs/incidents/postmortem-template.md"
LOCAL_LINE = "Local: attach the Grafana snapshot to every postmortem.\n"


@pytest.fixture(scope="module")
def template_v2_moved(template_repo: Path, tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("template-mig") / "scaffold"
    subprocess.run(["git", "clone", "-q", str(template_repo), str(repo)], check=True)
    docs = repo / "blueprints" / "package" / "docs"
    (docs / "incidents").mkdir()
    (docs / "postmortem-template.md.jinja").rename(docs / "incidents" / "postmortem-template.md.jinja")
    conf = (repo / "copier.yml").read_text()
    assert conf.count("\n_migrations:\n") == 1  # the after-update pass is already listed
    conf = conf.replace(
        "\n_migrations:\n",
        "\n_migrations:\n"
        "  - version: v2.0.0\n"
        f"    command: [\"{{{{ _copier_python }}}}\", \"-m\", \"scaffold.migrate\", \"move\", \"{OLD}\", \"{NEW}\"]\n"
        "    when: \"{{ _stage == 'before' }}\"\n", 1)
    (repo / "copier.yml").write_text(conf)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2: postmortem template moves under docs/incidents")
    git(repo, "tag", "v2.0.0")
    return repo


def _copy_v1_and_update(template: Path, dest: Path, local_line: str | None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(template), str(dest), defaults=True, unsafe=True, quiet=True, vcs_ref="v1.0.0")
        git(dest, "init", "-q", "-b", "main")
        if local_line:
            with (dest / OLD).open("a") as f:
                f.write(local_line)
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", "generated")
        copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True, conflict="inline",
                          vcs_ref="v2.0.0", skip_answered=True)
    return dest


def test_unedited_file_moves_cleanly(template_v2_moved, tmp_path):
    dest = _copy_v1_and_update(template_v2_moved, tmp_path / "payments-api", None)
    assert not (dest / OLD).exists()
    text = (dest / NEW).read_text()
    assert text.startswith("# Post-mortem") and "<<<<<<<" not in text
    assert yamlio.load_file(dest / ".copier-answers.yml")["_commit"] == "v2.0.0"


def test_edited_file_moves_with_its_edit_kept_for_review(template_v2_moved, tmp_path):
    """The migration carries the edit to the new path. Copier then sees the file as
    added on both sides (against an empty base), so the team's lines arrive marked
    inline for a one-time review: kept, never silently dropped."""
    dest = _copy_v1_and_update(template_v2_moved, tmp_path / "payments-api", LOCAL_LINE)
    assert not (dest / OLD).exists()
    text = (dest / NEW).read_text()
    assert text.startswith("# Post-mortem")
    assert LOCAL_LINE in text
    assert "<<<<<<< before updating" in text


@pytest.mark.fast
def test_rename_answer_keeps_order_and_comments(tmp_path):
    (tmp_path / ".copier-answers.yml").write_text("# keep me\n_commit: v1\nteam: payments\nport: 8080\n")
    assert migrate.rename_answer("team", "owner_team", tmp_path)
    assert (tmp_path / ".copier-answers.yml").read_text() == "# keep me\n_commit: v1\nowner_team: payments\nport: 8080\n"
    assert not migrate.rename_answer("team", "owner_team", tmp_path)  # idempotent


def test_move_outside_git_and_missing_source(tmp_path):
    (tmp_path / "a.md").write_text("x")
    assert migrate.move("a.md", "sub/b.md", tmp_path)
    assert (tmp_path / "sub/b.md").read_text() == "x"
    assert not migrate.move("a.md", "sub/c.md", tmp_path)
