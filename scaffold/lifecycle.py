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

from . import gitsafe, yamlio
from .package import ANSWERS_FILE, PackageError

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

    @property
    def clean(self) -> bool:
        return not self.drift and not (self.update and self.update.update_available)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "update": asdict(self.update) if self.update else None,
            "update_error": self.update_error,
            "drift": [asdict(d) for d in self.drift],
            "clean": self.clean,
        }


def read_answers(root: Path) -> dict[str, Any]:
    path = Path(root) / ANSWERS_FILE
    if not path.is_file():
        raise PackageError(f"{root} is not a generated package: {ANSWERS_FILE} is missing")
    data = yamlio.load_file(path)
    if not isinstance(data, dict) or "_src_path" not in data or "_commit" not in data:
        raise PackageError(f"{path}: needs _src_path and _commit to compare against the template")
    if gitsafe.revision(data["_commit"]) is None:
        raise PackageError(f"{path}: _commit must be a git tag or commit id (letters, digits, '.', '_', '/', '-', "
                           f"not starting with '-'); got {str(data['_commit'])[:60]!r}")
    return data


def check_update(root: Path) -> UpdateInfo:
    from copier._main import get_update_data

    read_answers(root)  # a hostile _commit never reaches Copier's git calls

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        available, current, latest = get_update_data(dst_path=Path(root))
    return UpdateInfo(bool(available), str(current), str(latest))


def render_recorded(root: Path, dest: Path, *, with_tasks: bool) -> Path:
    """The package as the recorded template version and answers would make it today."""
    import copier

    answers = read_answers(root)
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(answers["_src_path"]), str(dest), data=data, vcs_ref=str(answers["_commit"]),
                        defaults=True, unsafe=True, quiet=True, skip_tasks=not with_tasks)
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


def check(root: Path, *, include_backlog: bool = False) -> CheckReport:
    root = Path(root).resolve()
    read_answers(root)
    try:
        update, error = check_update(root), None
    except Exception as exc:  # noqa: BLE001 - reported, never fatal: drift still matters
        update, error = None, f"{exc.__class__.__name__}: {exc}"
    return CheckReport(str(root), update, error, drift(root, include_backlog=include_backlog))


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
