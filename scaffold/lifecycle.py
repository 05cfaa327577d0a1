"""Lifecycle of a generated package: is there an update, and how far has it drifted.

Drift works like ``cruft diff``: render the recorded template version with the
recorded answers into a temporary folder and compare the project against it.
"""

from __future__ import annotations

import difflib
import filecmp
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import yamlio
from .package import ANSWERS_FILE, PackageError
from .tasks import KEPT_SUFFIX

# Files a team is expected to change after generation: never reported as drift.
EXPECTED_TO_CHANGE = ("backlog/",)
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


@dataclass(frozen=True)
class UpdateInfo:
    update_available: bool
    current_version: str
    latest_version: str


@dataclass(frozen=True)
class DriftEntry:
    path: str
    status: str  # modified | added | removed
    diff: str = ""


@dataclass
class CheckReport:
    root: str
    update: UpdateInfo | None
    update_error: str | None
    drift: list[DriftEntry] = field(default_factory=list)
    # The team's versions of edited files an update deleted (scaffold.keep), still to merge.
    kept: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift and not self.kept and not (self.update and self.update.update_available)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "update": asdict(self.update) if self.update else None,
            "update_error": self.update_error,
            "drift": [asdict(d) for d in self.drift],
            "kept": list(self.kept),
            "clean": self.clean,
        }


def read_answers(root: Path) -> dict[str, Any]:
    path = Path(root) / ANSWERS_FILE
    if not path.is_file():
        raise PackageError(f"{root} is not a generated package: {ANSWERS_FILE} is missing")
    data = yamlio.load_file(path)
    if not isinstance(data, dict) or "_src_path" not in data or "_commit" not in data:
        raise PackageError(f"{path}: needs _src_path and _commit to compare against the template")
    return data


def check_update(root: Path) -> UpdateInfo:
    from copier._main import get_update_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        available, current, latest = get_update_data(dst_path=Path(root))
    return UpdateInfo(bool(available), str(current), str(latest))


def render_recorded(root: Path, dest: Path, *, with_tasks: bool) -> Path:
    """The package as the recorded template version and answers would make it today."""
    answers = read_answers(root)
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    return render_version(str(answers["_src_path"]), str(answers["_commit"]), data, dest, with_tasks=with_tasks)


def render_version(src: str, ref: str, data: dict[str, Any], dest: Path, *, with_tasks: bool = False) -> Path:
    """One template version rendered with these answers into ``dest``."""
    import copier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(src, str(dest), data=data, vcs_ref=ref, defaults=True, unsafe=True, quiet=True,
                        skip_tasks=not with_tasks)
    return dest


def _files(root: Path, include_backlog: bool) -> set[str]:
    out = set()
    for p in root.rglob("*"):
        if p.is_dir() or ".git" in p.relative_to(root).parts:
            continue
        rel = p.relative_to(root).as_posix()
        if not include_backlog and rel.startswith(EXPECTED_TO_CHANGE):
            continue
        out.add(rel)
    return out


def _tracked(root: Path) -> set[str] | None:
    """Files git would show; ignored build outputs are not drift."""
    if not (root / ".git").exists():
        return None
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                          capture_output=True, text=True)
    return set(proc.stdout.split("\0")) - {""} if proc.returncode == 0 else None


def drift(root: Path, *, include_backlog: bool = False, context: int = 3) -> list[DriftEntry]:
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix="scaffold-drift-") as tmp:
        fresh = render_recorded(root, Path(tmp) / root.name, with_tasks=include_backlog)
        ours, theirs = _files(root, include_backlog), _files(fresh, include_backlog)
        tracked = _tracked(root)
        if tracked is not None:
            ours &= tracked
        ours = {rel for rel in ours if not rel.endswith(KEPT_SUFFIX)}  # reported as kept, not drift
        entries: list[DriftEntry] = []
        for rel in sorted(ours | theirs):
            if rel not in ours:
                entries.append(DriftEntry(rel, "removed"))
            elif rel not in theirs:
                entries.append(DriftEntry(rel, "added"))
            elif not filecmp.cmp(root / rel, fresh / rel, shallow=False):
                entries.append(DriftEntry(rel, "modified", _diff(fresh / rel, root / rel, rel, context)))
        shutil.rmtree(fresh, ignore_errors=True)
    return entries


def _diff(old: Path, new: Path, rel: str, context: int) -> str:
    try:
        a = old.read_text(encoding="utf-8").splitlines(keepends=True)
        b = new.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return "(binary files differ)"
    return "".join(difflib.unified_diff(a, b, f"template/{rel}", f"project/{rel}", n=context))


def answers_problem(answers: dict[str, Any]) -> str | None:
    """The first recorded answer the rules refuse, as one line; None when all pass."""
    from . import answers as rules

    data = {k: v for k, v in answers.items() if not str(k).startswith("_") and k in rules.RULES}
    try:
        typed = {k: rules.coerce(k, v) for k, v in data.items()}
        for key, value in typed.items():
            if message := rules.check(key, value, typed):
                return message
    except rules.AnswerError as exc:
        return str(exc)
    return None


def check(root: Path, *, include_backlog: bool = False) -> CheckReport:
    root = Path(root).resolve()
    problem = answers_problem(read_answers(root))
    if problem:
        raise PackageError(f"{ANSWERS_FILE}: {problem}")
    try:
        update, error = check_update(root), None
    except Exception as exc:  # noqa: BLE001 - reported, never fatal: drift still matters
        update, error = None, f"{exc.__class__.__name__}: {exc}"
    from . import keep

    return CheckReport(str(root), update, error, drift(root, include_backlog=include_backlog), keep.kept_files(root))


def has_conflict_markers(root: Path, paths: list[str]) -> list[str]:
    """Files in ``paths`` that carry Copier's inline conflict markers."""
    hits = []
    for rel in paths:
        p = Path(root) / rel
        if p.is_file():
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if any(line.startswith(CONFLICT_MARKERS) for line in text.splitlines()):
                hits.append(rel)
    return hits
