"""The CLI's create lock (proper-lockfile's directory lock), so a sync and a `backlog task
create` never pick the same task number.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .format import BACKLOG_DIR, BacklogError, Config, _rel

LOCK_TIMEOUT_S = 30.0  # the CLI's create-lock timeout
LOCK_STALE_S = 10.0  # proper-lockfile's stale age the CLI uses
# -- the create lock ------------------------------------------------------------
def lock_path(root: Path, config: Config) -> Path:
    """Where the CLI takes its create lock: in the git common dir when git is
    used, else backlog/.locks/create (proper-lockfile: a mkdir'd directory)."""
    if not config.filesystem_only:
        try:
            proc = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=root, capture_output=True,
                                  text=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}, timeout=30)
            common = proc.stdout.strip()
            if proc.returncode == 0 and common:
                return (Path(root) / common).resolve() / "backlog.md" / "locks" / "create"
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(root) / BACKLOG_DIR / ".locks" / "create"


@contextmanager
def create_lock(root: Path, config: Config, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    path = lock_path(root, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            try:
                stale = time.time() - path.stat().st_mtime > LOCK_STALE_S
            except FileNotFoundError:
                continue
            if stale:
                _rmdir(path)
                continue
            if time.monotonic() > deadline:
                raise BacklogError(f"the backlog is locked by another task create ({_rel(path)}); retry later") from None
            time.sleep(0.1)
    try:
        yield path
    finally:
        _rmdir(path)
        if path.parent.name == ".locks":
            _rmdir(path.parent)  # leave no empty folder behind in the package


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


@contextmanager
def _nolock() -> Iterator[None]:
    yield None
