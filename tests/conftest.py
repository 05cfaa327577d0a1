"""Shared fixtures: a git-tagged temporary clone of the working tree, and
session-cached renders of it, the way Copier's own tests do it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

# Backlog tasks are dated the minute they are filed (scaffold.backlog.sync.created_date): two
# renders a test compares must not straddle a minute boundary on a loaded machine, so the
# suite files on one fixed minute. Tests of the filing date set their own, through plumbum's
# environment as Copier's tasks see it (tests/test_backlog.py).
os.environ.setdefault("SOURCE_DATE_EPOCH", "1780000000")

from scaffold import tools

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "scaffold-tests",
    "GIT_AUTHOR_EMAIL": "tests@scaffold.invalid",
    "GIT_COMMITTER_NAME": "scaffold-tests",
    "GIT_COMMITTER_EMAIL": "tests@scaffold.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return proc.stdout


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


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = snapshot_template(tmp_path_factory.mktemp("template") / "scaffold")
    trust_source(repo)
    return repo


Render = Callable[..., Path]


@pytest.fixture(scope="session")
def render(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """render(name=..., **answers) -> a generated package, cached per answer set.

    Returned trees are shared across tests: treat them as read-only, copy to mutate.
    """
    import copier

    cache: dict[str, Path] = {}

    def _render(name: str = "payments-api", *, skip_tasks: bool = False, **answers: Any) -> Path:
        key = json.dumps([name, skip_tasks, answers], sort_keys=True)
        if key not in cache:
            dest = tmp_path_factory.mktemp("pkg") / name
            copier.run_copy(str(template_repo), str(dest), data=answers, defaults=True,
                            unsafe=True, quiet=True, vcs_ref="v1.0.0", skip_tasks=skip_tasks)
            cache[key] = dest
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default_package(render: Render) -> Path:
    return render()


@pytest.fixture(scope="session")
def node_runtime_modules(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The node skeleton's runtime dependencies (OpenTelemetry), installed once per run from
    its own package-lock.json (`npm ci --omit=dev`, as its Dockerfile does); tests put this
    folder on NODE_PATH so the shared rendered packages stay untouched."""
    import shutil
    import subprocess

    npm = require_tool("npm")
    dest = tmp_path_factory.mktemp("node-runtime")
    app = render(stack="node") / "app"
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, dest / name)
    res = subprocess.run([npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=dest,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return dest / "node_modules"
