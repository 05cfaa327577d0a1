"""Shared test helpers (plain functions; the fixtures live in tests/conftest.py).

Import them one way only: ``from tests.helpers import ...`` (the repo root is on
``pythonpath``, see pyproject.toml). This module must not import conftest: conftest
imports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "scaffold-tests",
    "GIT_AUTHOR_EMAIL": "tests@scaffold.invalid",
    "GIT_COMMITTER_NAME": "scaffold-tests",
    "GIT_COMMITTER_EMAIL": "tests@scaffold.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}

# Fixtures that render a package, clone the template or start tools: a test marked
# ``fast`` must use none of them (enforced by conftest's collection hook).
SLOW_FIXTURES = frozenset({
    "template_repo", "render", "default_package", "node_runtime_modules",
})
# True while a @pytest.mark.fast test runs (set by conftest): require_tool() then fails.
FAST_TEST = False


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return proc.stdout


def mutable_copy(rendered: Path, tmp_path: Path, name: str = "pkg", *, ignore: Iterable[str] = ()) -> Path:
    """A private copy of a shared (session-cached, read-only) rendered package, to mutate.

    ``tmp_path / name``; symlinks stay symlinks; ``ignore`` names glob patterns left out
    (e.g. ``("app", "backlog")`` when a test only needs the manifests)."""
    dest = tmp_path / name
    patterns = tuple(ignore)
    shutil.copytree(rendered, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(*patterns) if patterns else None)
    return dest


def build_file_tree(root: Path, spec: Mapping[str, str | bytes]) -> Path:
    """Copier-style tiny-tree builder: ``{"a/b.yaml": "text", ...}`` written under ``root``."""
    for rel, content in spec.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def generate_project(template: Path, dest: Path, **data: Any) -> Path:
    """A service copied from the template's v1.0.0 tag and committed, as a team
    would have it before `copier update`."""
    import warnings

    import copier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(template), str(dest), data=data, defaults=True, unsafe=True, quiet=True,
                        vcs_ref="v1.0.0")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "generated")
    return dest


def working_tree_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: what a commit would hold."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted(f for f in listed.split("\0") if f and ((ROOT / f).exists() or (ROOT / f).is_symlink()))


def snapshot_template(dest: Path, tag: str = "v1.0.0") -> Path:
    """Copy the working tree into ``dest``, commit and tag it."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in working_tree_files():
        src = ROOT / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), target)
        elif src.is_file():
            shutil.copy2(src, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "template snapshot")
    git(dest, "tag", tag)
    return dest


def require_tool(name: str) -> str:
    """The tool's path; a missing tool skips locally and fails under CI."""
    from scaffold import tools

    if FAST_TEST:
        pytest.fail(f"require_tool({name!r}) in a @pytest.mark.fast test: a test that runs an external "
                    "tool is not a unit test (drop the marker)")
    path = tools.find(name)
    if path is None:
        msg = f"{name} not installed ({tools.HINTS.get(name, 'make setup')})"
        if tools.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def shared_crds() -> Path:
    """``shared/crds`` beside the checkout: CI clones the repository with shared/ next to it
    (``../shared/crds``); a worktree deeper down finds it further up. Never copied in here."""
    from scaffold import tools

    for parent in ROOT.parents:
        candidate = parent / "shared" / "crds"
        if candidate.is_dir():
            return candidate
    msg = "shared/crds (Chaos Mesh CRD manifests) is not beside the checkout"
    if tools.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def trust_source(path: Path) -> None:
    """Let scaffold's own tools (check, fleet) run this template: see scaffold.fleet.trust."""
    from scaffold.fleet import trust

    sources = os.environ.get(trust.ENV, "").split()
    os.environ[trust.ENV] = " ".join([*sources, str(path)])
