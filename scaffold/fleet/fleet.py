"""Fleet roll-out: status and update over many service repositories, in parallel.

Each repository is handled in its own process and is either updated and
committed on its own branch, or left exactly as it was: never half-updated.
A dirty repository is never touched; one failure never stops the others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import gitsafe

STATUSES = ("updated", "up-to-date", "update-available", "conflict", "in-review", "dirty", "failed")
BRANCH_PREFIX = "scaffold/update-"
# Our commits carry the tree they committed: a commit is ours only while its tree is
# still that one, so an amended conflict resolution counts as a human commit.
TRAILER = "Scaffold-Fleet-Tree"
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
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the team's versions of edited files the update deleted
    warnings: list[str] = field(default_factory=list)  # e.g. a recorded answer the rules now refuse
    push: str = ""  # for URL entries: "pushed", or the command to push

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
        raise FleetError(f"git {' '.join(args)}: {_last_line(proc.stderr) or _last_line(proc.stdout)}")
    return proc.stdout.strip()


class FleetError(RuntimeError):
    """One repository's failure, already one line."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def cause(stderr: str, fallback: str = "") -> str:
    """The real cause of a failed update, in one line: a line our own tools wrote
    (scaffold..., error: ...), else the last line of the traceback."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    ours = [line for line in lines if re.match(r"^(scaffold[.:\w]*: |error: |fatal: )", line)
            and "deferred to the after-update pass" not in line and not line.startswith("scaffold: kept ")]
    tail = [line for line in lines if not line.startswith(("File ", "Traceback", "^", "~"))]
    pick = ours[-1] if ours else (tail[-1] if tail else fallback)
    return pick[:300]


def _checkout(entry: str, workdir: Path) -> Path:
    """A path entry as it is; a URL entry cloned into ``workdir`` once, then
    fetched on every run and fast-forwarded to the remote default branch, so
    status and update never work on a stale clone."""
    if not _is_url(entry):
        return Path(entry).resolve()
    name = re.sub(r"\.git$", "", entry.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    dest = workdir / name
    if not dest.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        if gitsafe.url_or_path(entry) is None:
            raise ValueError(f"not a repository URL: {entry[:80]!r}")
        proc = subprocess.run(["git", "clone", "-q", "--", entry, str(dest)], capture_output=True, text=True)
        if proc.returncode:
            raise FleetError(f"git clone {entry}: {_last_line(proc.stderr)}")
        return dest
    _git(dest, "fetch", "-q", "--prune", "origin")
    default = _git(dest, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD", check=False) or "origin/main"
    local = default.split("/", 1)[1]
    if _git(dest, "status", "--porcelain"):
        return dest  # dirty: reported as such, never touched
    _git(dest, "checkout", "-q", local)
    try:
        _git(dest, "merge", "-q", "--ff-only", default)
    except FleetError:
        ahead = _git(dest, "rev-list", "--count", f"{default}..HEAD")
        raise FleetError(f"the clone's {local} has {ahead} commit(s) not on {default}: push or drop them") from None
    return dest


def _recorded(repo: Path) -> tuple[str, list[str]]:
    """The recorded template version and any recorded answer the rules now refuse."""
    from . import lifecycle

    try:
        answers = lifecycle.read_answers(repo)
    except Exception as exc:  # noqa: BLE001
        return "", [str(exc)]
    problem = lifecycle.answers_problem(answers)
    return str(answers.get("_commit", "")).lstrip("v"), [f"answers: {problem}"] if problem else []


# -- versions, resolved once per run --------------------------------------------
# Copier's get_update_data clones the template twice per repository (the recorded
# version and the latest tag) only to read two version numbers. Within one fleet run
# those are the same for every repository on the same source and commit, so each is
# read once per run and process, by Copier's own Template (its latest-tag and PEP 440
# rules, unchanged). None outside run(): a lone call reads afresh.
_RUN_VERSIONS: dict | None = None


def _fresh_versions() -> None:
    """A new per-run cache (run() and each pool worker start with one)."""
    global _RUN_VERSIONS
    _RUN_VERSIONS = {}


def _template_version(url: str, ref: str | None):
    """Copier's version of the template ``url`` at ``ref`` (None: its latest tag), as
    get_update_data reads it; None when Copier would refuse to check (not git, no version)."""
    from copier._template import Template

    key = (url, ref, os.getcwd())  # a relative _src_path is read from the working folder, as Copier does
    cache = _RUN_VERSIONS
    if cache is not None and key in cache:
        return cache[key]
    template = Template(url=url, ref=ref)
    try:
        version = template.version if template.commit is not None else None
    finally:
        template._cleanup()
    if cache is not None:
        cache[key] = version
    return version


def check_update(repo: Path):
    """lifecycle.check_update with the template's versions read once per run."""
    from . import lifecycle

    if _RUN_VERSIONS is None:
        return lifecycle.check_update(repo)
    answers = lifecycle.read_answers(repo)  # a hostile _commit never reaches Copier's git calls
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        url, ref = str(answers["_src_path"]), str(answers["_commit"])
        current = _template_version(url, ref)
        latest = _template_version(url, None)
    if current is None or latest is None:  # Copier's own refusal, word for word
        return lifecycle.check_update(repo)
    return lifecycle.UpdateInfo(bool(latest > current), str(current), str(latest))


def status_repo(entry: str, workdir: str = ".scaffold-fleet") -> RepoResult:
    try:
        repo = _checkout(entry, Path(workdir))
        current, warns = _recorded(repo)
        if _git(repo, "status", "--porcelain"):
            latest = ""
            try:
                latest = check_update(repo).latest_version
            except Exception:  # noqa: BLE001 - the version on disk still says where it stands
                pass
            return RepoResult(entry, "dirty", current, latest, detail="uncommitted changes", warnings=warns)
        info = check_update(repo)
        return RepoResult(entry, "update-available" if info.update_available else "up-to-date",
                          info.current_version, info.latest_version, warnings=warns,
                          detail="; ".join(warns))
    except Exception as exc:  # noqa: BLE001 - one repo's failure is its own result
        return RepoResult(entry, "failed", detail=_one_line(exc))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FleetError):
        return str(exc)[:500]
    text = _last_line(str(exc))
    return f"{exc.__class__.__name__}: {text}"[:500] if text else exc.__class__.__name__


_UPDATE = (
    "import importlib, sys, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "repo, ref, package = sys.argv[1], sys.argv[2] or None, sys.argv[3]\n"
    "try:\n"
    "    lifecycle = importlib.import_module(package + '.lifecycle')\n"
    "except ImportError:  # loaded under a private name: plain copier\n"
    "    import copier\n"
    "    copier.run_update(repo, defaults=True, overwrite=True, unsafe=True, quiet=True,\n"
    "                      conflict='inline', vcs_ref=ref, skip_answered=True)\n"
    "else:\n"
    "    for key, (old, new) in lifecycle.update(repo, vcs_ref=ref).items():\n"
    "        sys.stderr.write(f'scaffold: answer {key}: {old!r} -> {new!r} (edited by hand)\\n')\n"
)


def _copier_update(repo: Path, vcs_ref: str | None) -> tuple[int, str]:
    """copier update (honouring hand-edited answers, scaffold.lifecycle.update) in
    its own process, so its tasks' stderr (the real cause of a failure, and the
    kept-file lines) is ours to read."""
    proc = subprocess.run([sys.executable, "-c", _UPDATE, str(repo), vcs_ref or "", __package__ or "scaffold"],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_IDENTITY})
    return proc.returncode, proc.stderr


_IN_WORKER = False  # set in the fleet's own pool processes (see _worker_start)
_CLONES: Path | None = None  # this run's template checkouts, shared by its pool processes


def _worker_start(clones: str | None = None) -> None:
    """Initializer of the fleet's pool processes: they are ours alone, one repository
    at a time, so an update may run inside them (see _update_here)."""
    global _IN_WORKER, _CLONES
    _IN_WORKER = True
    _CLONES = Path(clones) if clones else None
    _fresh_versions()


@contextmanager
def _shared_clones():
    """Copier clones the template afresh for each of an update's renders (five clones
    of the same one or two commits per repository). Inside a pool process, each
    (source, ref) is cloned once per run, by Copier's own clone, and every render gets
    a hard-linked copy of that checkout (Copier only reads it, and git replaces files
    by rename, never in place). A local ``HEAD`` (which may carry dirty changes) is
    always cloned afresh."""
    import copier._template as copier_template

    real = copier_template.clone
    clones = _CLONES

    def clone(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        if clones is None or location is None or not ref or ref == "HEAD":
            return real(url, ref, location)
        import hashlib
        import shutil
        import tempfile

        where = url if _is_url(url) or url.startswith(("gh:", "gl:")) else os.path.realpath(url)
        pristine = clones / hashlib.sha256(f"{where}\0{ref}".encode()).hexdigest()[:32]
        if not pristine.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=clones))
            real(url, ref, str(staging / "checkout"))
            try:
                os.rename(staging / "checkout", pristine)
            except OSError:  # another process published it first
                if not pristine.is_dir():
                    raise
            shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(pristine, location, symlinks=True, copy_function=os.link, dirs_exist_ok=True)
        return location

    copier_template.clone = clone
    try:
        yield
    finally:
        copier_template.clone = real


def _update_here(repo: Path, vcs_ref: str | None) -> tuple[int, str]:
    """What _copier_update does, inside this pool process: no Python start-up and
    imports per repository, and the template's generator code (loaded once per code
    digest) and its caches stay warm from one repository to the next. The process
    is the fleet's own and handles one repository at a time, so its working folder,
    git identity and file descriptor 2 are ours to set for the update, and are put
    back after it. Tasks (the hook) write to descriptor 2, as they would in a child
    process; an exception adds its traceback, as the child's exit would."""
    import tempfile
    import traceback
    import warnings

    from . import lifecycle

    saved_env = {k: os.environ.get(k) for k in GIT_IDENTITY}
    saved_cwd = os.getcwd()
    saved_stderr, saved_stdout = sys.stderr, sys.stdout
    with tempfile.TemporaryFile() as err:
        sys.stderr.flush()
        sys.stdout.flush()
        saved_fd, saved_out = os.dup(2), os.dup(1)
        rc = 0
        try:
            os.dup2(err.fileno(), 2)
            null = os.open(os.devnull, os.O_WRONLY)  # the child's stdout was captured and dropped
            os.dup2(null, 1)
            os.close(null)
            sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in finally
            sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
            os.environ.update(GIT_IDENTITY)
            os.chdir(repo)
            with warnings.catch_warnings(), _shared_clones():
                warnings.simplefilter("ignore")
                for key, (old, new) in lifecycle.update(repo, vcs_ref=vcs_ref).items():
                    sys.stderr.write(f"scaffold: answer {key}: {old!r} -> {new!r} (edited by hand)\n")
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # noqa: BLE001 - the child process would have printed it and exited 1
            rc = 1
            traceback.print_exc(file=sys.stderr)
        finally:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stdout.close()
            sys.stderr, sys.stdout = saved_stderr, saved_stdout
            os.dup2(saved_fd, 2)
            os.dup2(saved_out, 1)
            os.close(saved_fd)
            os.close(saved_out)
            os.chdir(saved_cwd)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        err.seek(0)
        return rc, err.read().decode("utf-8", "replace")


def _foreign_commits(repo: Path, base: str, branch: str) -> list[str]:
    """Commits on ``branch`` since ``base`` that are not ours, unchanged."""
    foreign = []
    for sha in _git(repo, "rev-list", f"{base}..{branch}").split():
        body = _git(repo, "show", "-s", "--format=%B", sha)
        m = re.search(rf"^{TRAILER}: ([0-9a-f]+)$", body, re.M)
        if not (m and _git(repo, "rev-parse", f"{sha}^{{tree}}") == m.group(1)):
            foreign.append(sha)
    return foreign


def _existing_branch(repo: Path, branch: str) -> dict[str, str]:
    """The update branch as it is here and on origin (a reviewer may have pushed): {ref: sha}."""
    found = {}
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        sha = _git(repo, "rev-parse", "-q", "--verify", ref, check=False)
        if sha:
            found[ref] = sha
    return found


def pin_target(src: str, target: str) -> str:
    """The commit the target tag names now (``2.0.0`` may be tagged ``v2.0.0``),
    resolved once: every render of this update then runs the same code."""
    from . import trust

    last: Exception | None = None
    for ref in (target, f"v{target}") if not target.startswith("v") else (target,):
        try:
            return trust.pin(src, ref)
        except trust.TrustError as exc:
            last = exc
    raise FleetError(str(last))


def update_repo(entry: str, workdir: str = ".scaffold-fleet", vcs_ref: str | None = None,
                push: bool = False, trusted: tuple[str, ...] = ()) -> RepoResult:
    """Update one repo on a new branch; on any failure restore it exactly. An
    update branch that already holds commits not made by the fleet (a conflict
    resolution, a review fix) is never reset: it is left as it is and reported."""
    from . import keep, lifecycle

    try:
        repo = _checkout(entry, Path(workdir))
    except Exception as exc:  # noqa: BLE001
        return RepoResult(entry, "failed", detail=f"checkout: {_one_line(exc)}")
    start_ref = start_branch = ""
    branch = ""
    if vcs_ref is not None and gitsafe.revision(vcs_ref) is None:
        return RepoResult(entry, "failed", detail=f"--vcs-ref must be a git tag or commit id; got {vcs_ref[:60]!r}")
    created = False
    existing: dict[str, str] = {}
    try:
        current, warns = _recorded(repo)
        if _git(repo, "status", "--porcelain"):
            return RepoResult(entry, "dirty", current, detail="uncommitted changes: skipped", warnings=warns)
        # Updating runs the template's code: only a trusted source (scaffold.trust), before anything reads it.
        src, _ = lifecycle.trusted_template(repo, lifecycle.read_answers(repo), trusted)
        info = check_update(repo)
        if not info.update_available and vcs_ref is None:
            return RepoResult(entry, "up-to-date", info.current_version, info.latest_version, warnings=warns)
        target = vcs_ref or info.latest_version
        pinned = pin_target(src, target)
        start_ref = _git(repo, "rev-parse", "HEAD")
        start_branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        branch = f"{BRANCH_PREFIX}{target}"
        existing = _existing_branch(repo, branch)
        for ref in existing:
            foreign = _foreign_commits(repo, start_ref, ref)
            if foreign:
                return RepoResult(entry, "in-review", info.current_version, target, branch,
                                  f"{branch} has {len(foreign)} commit(s) not made by scaffold fleet: left as it is",
                                  warnings=warns)
        _git(repo, "checkout", "-q", "-B", branch, start_ref)
        created = True
        rc, stderr = (_update_here if _IN_WORKER else _copier_update)(repo, pinned)
        if rc:
            raise FleetError(f"copier update: {cause(stderr, f'exit status {rc}')}")
        changed = [line[3:] for line in _git(repo, "status", "--porcelain", "-uall").splitlines() if line]
        conflicts = lifecycle.has_conflict_markers(repo, changed)
        kept = keep.kept_files(repo)
        _git(repo, "add", "-A")
        tree = _git(repo, "write-tree")
        message = f"chore: update scaffold blueprint {info.current_version} -> {target}"
        if conflicts:
            message += "\n\nConflicts to resolve:\n" + "\n".join(f"- {c}" for c in conflicts)
        if kept:
            message += ("\n\nEdited files the update deleted, kept for review:\n"
                        + "\n".join(f"- {k}" for k in kept))
        message += f"\n\nScaffold-Template-Commit: {pinned}\n{TRAILER}: {tree}"
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
        _git(repo, "checkout", "-q", start_branch if start_branch != "HEAD" else start_ref)
        status = "conflict" if conflicts else "updated"
        detail = f"{len(changed)} files changed"
        if conflicts:
            detail += f"; conflicts in {', '.join(conflicts[:5])}"
        if kept:
            detail += f"; kept {', '.join(kept[:5])}"
        result = RepoResult(entry, status, info.current_version, target, branch, detail, conflicts, kept, warns)
        if _is_url(entry):
            command = f"git -C {repo} push origin {branch}"
            if push:
                # Replacing a remote branch that holds only our own earlier commit is safe; lease on it.
                remote = existing.get(f"refs/remotes/origin/{branch}")
                lease = [f"--force-with-lease={branch}:{remote}"] if remote else []
                _git(repo, "push", "-q", *lease, "origin", f"{branch}:{branch}")
                result.push = "pushed"
            else:
                result.push = command
        return result
    except Exception as exc:  # noqa: BLE001 - roll back, then report
        if start_ref:
            _git(repo, "reset", "-q", "--hard", start_ref, check=False)
            _git(repo, "clean", "-qfd", check=False)
            _git(repo, "checkout", "-q", start_branch if start_branch != "HEAD" else start_ref, check=False)
            if branch and created:
                before = existing.get(f"refs/heads/{branch}")
                if before:  # our own earlier commit: put it back
                    _git(repo, "branch", "-q", "-f", branch, before, check=False)
                else:
                    _git(repo, "branch", "-q", "-D", branch, check=False)
        return RepoResult(entry, "failed", detail=_one_line(exc))


def run(entries: Iterable[str], action: str, *, jobs: int | None = None, workdir: str = ".scaffold-fleet",
        vcs_ref: str | None = None, progress: Callable[[RepoResult], None] | None = None,
        push: bool = False, trusted: tuple[str, ...] = ()) -> list[RepoResult]:
    """Run ``status`` or ``update`` over every entry in a process pool."""
    global _RUN_VERSIONS
    entries = list(entries)
    jobs = max(1, jobs or os.cpu_count() or 1)
    results: list[RepoResult] = []
    if jobs == 1:
        _fresh_versions()
        try:
            for entry in entries:
                r = status_repo(entry, workdir) if action == "status" else update_repo(entry, workdir, vcs_ref, push, tuple(trusted))
                results.append(r)
                if progress:
                    progress(r)
        finally:
            _RUN_VERSIONS = None
    else:
        import tempfile

        clones = tempfile.mkdtemp(prefix="scaffold-fleet-clones-")
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_start, initargs=(clones,))
        with _removing(clones), pool:
            futures = {
                (pool.submit(status_repo, e, workdir) if action == "status" else pool.submit(update_repo, e, workdir, vcs_ref, push, tuple(trusted))): e
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


@contextmanager
def _removing(folder: str):
    try:
        yield
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def summary(results: list[RepoResult]) -> dict:
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    return {"total": len(results), "counts": counts, "repos": [r.as_dict() for r in results]}
