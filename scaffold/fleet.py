"""Fleet roll-out: status and update over many service repositories, in parallel.

Each repository is handled in its own process and is either updated and
committed on its own branch, or left exactly as it was: never half-updated.
A dirty repository is never touched; one failure never stops the others.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import gitsafe

STATUSES = ("updated", "up-to-date", "update-available", "conflict", "dirty", "failed")
BRANCH_PREFIX = "scaffold/update-"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "scaffold fleet"),
    "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "scaffold-fleet@localhost"),
    "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "scaffold fleet"),
    "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "scaffold-fleet@localhost"),
}


@dataclass
class RepoResult:
    repo: str
    status: str
    current: str = ""
    latest: str = ""
    branch: str = ""
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def discover(source: Path) -> list[str]:
    """A folder of checkouts (each with .copier-answers.yml), or a file listing paths/URLs."""
    source = Path(source)
    if source.is_dir():
        return sorted(str(p.parent) for p in source.glob("*/.copier-answers.yml"))
    repos = []
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            repos.append(line)
    return repos


def _is_url(entry: str) -> bool:
    return "://" in entry or entry.startswith("git@")


def _git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY})
    if check and proc.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def _checkout(entry: str, workdir: Path) -> Path:
    if not _is_url(entry):
        return Path(entry).resolve()
    name = re.sub(r"\.git$", "", entry.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    dest = workdir / name
    if not dest.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        if gitsafe.url_or_path(entry) is None:
            raise ValueError(f"not a repository URL: {entry[:80]!r}")
        subprocess.run(["git", "clone", "-q", "--", entry, str(dest)], check=True, capture_output=True)
    return dest


def status_repo(entry: str, workdir: str = ".scaffold-fleet") -> RepoResult:
    from . import lifecycle

    try:
        repo = _checkout(entry, Path(workdir))
        if _git(repo, "status", "--porcelain"):
            return RepoResult(entry, "dirty", detail="uncommitted changes")
        info = lifecycle.check_update(repo)
        return RepoResult(entry, "update-available" if info.update_available else "up-to-date",
                          info.current_version, info.latest_version)
    except Exception as exc:  # noqa: BLE001 - one repo's failure is its own result
        return RepoResult(entry, "failed", detail=f"{exc.__class__.__name__}: {exc}"[:500])


def update_repo(entry: str, workdir: str = ".scaffold-fleet", vcs_ref: str | None = None) -> RepoResult:
    """Update one repo on a new branch; on any failure restore it exactly."""
    import copier

    from . import lifecycle

    try:
        repo = _checkout(entry, Path(workdir))
    except Exception as exc:  # noqa: BLE001
        return RepoResult(entry, "failed", detail=f"checkout: {exc}"[:500])
    start_ref = start_branch = ""
    branch = ""
    if vcs_ref is not None and gitsafe.revision(vcs_ref) is None:
        return RepoResult(entry, "failed", detail=f"--vcs-ref must be a git tag or commit id; got {vcs_ref[:60]!r}")
    try:
        if _git(repo, "status", "--porcelain"):
            return RepoResult(entry, "dirty", detail="uncommitted changes: skipped")
        info = lifecycle.check_update(repo)
        if not info.update_available and vcs_ref is None:
            return RepoResult(entry, "up-to-date", info.current_version, info.latest_version)
        start_ref = _git(repo, "rev-parse", "HEAD")
        start_branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        branch = f"{BRANCH_PREFIX}{vcs_ref or info.latest_version}"
        _git(repo, "checkout", "-q", "-B", branch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copier.run_update(str(repo), defaults=True, overwrite=True, unsafe=True, quiet=True,
                              conflict="inline", vcs_ref=vcs_ref, skip_answered=True)
        changed = [line[3:] for line in _git(repo, "status", "--porcelain").splitlines() if line]
        conflicts = lifecycle.has_conflict_markers(repo, changed)
        _git(repo, "add", "-A")
        message = f"chore: update scaffold blueprint {info.current_version} -> {vcs_ref or info.latest_version}"
        if conflicts:
            message += "\n\nConflicts to resolve:\n" + "\n".join(f"- {c}" for c in conflicts)
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
        _git(repo, "checkout", "-q", start_branch if start_branch != "HEAD" else start_ref)
        status = "conflict" if conflicts else "updated"
        detail = f"{len(changed)} files changed" + (f"; conflicts in {', '.join(conflicts[:5])}" if conflicts else "")
        return RepoResult(entry, status, info.current_version, vcs_ref or info.latest_version, branch, detail)
    except Exception as exc:  # noqa: BLE001 - roll back, then report
        if start_ref:
            _git(repo, "reset", "-q", "--hard", start_ref, check=False)
            _git(repo, "clean", "-qfd", check=False)
            _git(repo, "checkout", "-q", start_branch if start_branch != "HEAD" else start_ref, check=False)
            if branch:
                _git(repo, "branch", "-q", "-D", branch, check=False)
        return RepoResult(entry, "failed", detail=f"{exc.__class__.__name__}: {exc}"[:500])


def run(entries: Iterable[str], action: str, *, jobs: int | None = None, workdir: str = ".scaffold-fleet",
        vcs_ref: str | None = None, progress: Callable[[RepoResult], None] | None = None) -> list[RepoResult]:
    """Run ``status`` or ``update`` over every entry in a process pool."""
    entries = list(entries)
    jobs = max(1, jobs or os.cpu_count() or 1)
    results: list[RepoResult] = []
    if jobs == 1:
        for entry in entries:
            r = status_repo(entry, workdir) if action == "status" else update_repo(entry, workdir, vcs_ref)
            results.append(r)
            if progress:
                progress(r)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {
                (pool.submit(status_repo, e, workdir) if action == "status" else pool.submit(update_repo, e, workdir, vcs_ref)): e
                for e in entries
            }
            for fut in as_completed(futures):
                try:
                    r = fut.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker is that repo's failure
                    r = RepoResult(futures[fut], "failed", detail=f"worker: {exc}"[:500])
                results.append(r)
                if progress:
                    progress(r)
    order = {e: i for i, e in enumerate(entries)}
    return sorted(results, key=lambda r: order.get(r.repo, 0))


def summary(results: list[RepoResult]) -> dict:
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    return {"total": len(results), "counts": counts, "repos": [r.as_dict() for r in results]}
