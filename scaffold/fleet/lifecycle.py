"""Lifecycle of a generated package: is there an update, and how far has it drifted.

Drift works like ``cruft diff``: render the recorded template version with the
recorded answers into a temporary folder and compare the project against it.
"""

from __future__ import annotations

import difflib
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..artifacts.tasks import KEPT_SUFFIX
from ..model.package import ANSWERS_FILE, PackageError, load_answers, parse_answers
from . import gitsafe

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
    # Answers edited by hand since the last render: plain `copier update` would undo them.
    edited_answers: dict[str, Any] = field(default_factory=dict)

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
            "edited_answers": {k: list(v) for k, v in self.edited_answers.items()},
            "clean": self.clean,
        }


def read_answers(root: Path) -> dict[str, Any]:
    path = Path(root) / ANSWERS_FILE
    if not path.is_file():
        raise PackageError(f"{root} is not a generated package: {ANSWERS_FILE} is missing")
    data = load_answers(path)
    if "_src_path" not in data or "_commit" not in data:
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


def template_source(root: Path, answers: dict[str, Any]) -> str:
    """The recorded ``_src_path``, usable from anywhere: a relative local path is
    taken relative to the package (as ``copier update`` run there would)."""
    src = str(answers["_src_path"])
    if "://" in src or src.startswith(("gh:", "gl:", "git@")):
        return src
    path = Path(os.path.expanduser(src))
    if not path.is_absolute():
        path = Path(root) / path
        if not path.is_dir():
            raise PackageError(f"_src_path {src!r} is a relative path that does not resolve from {root}: record "
                               f"the template's URL (copier update --trust --vcs-ref {answers['_commit']} after "
                               f"setting _src_path to it)")
    return str(path.resolve())


def trusted_template(root: Path, answers: dict[str, Any], trusted: tuple[str, ...] = ()) -> tuple[str, str]:
    """(source, ref) of the recorded template, refused unless the source is trusted
    and the ref is a plain revision name."""
    from . import trust

    src = template_source(root, answers)
    try:
        trust.require(src, extra=trusted, base=Path(root))
        return src, trust.safe_ref(answers["_commit"])
    except trust.TrustError as exc:
        raise PackageError(str(exc)) from None


def render_recorded(root: Path, dest: Path, *, with_tasks: bool, trusted: tuple[str, ...] = ()) -> Path:
    """The package as the recorded template version and answers would make it today.
    The recorded source must be trusted (``scaffold.trust``): rendering runs its code."""
    answers = read_answers(root)
    src, ref = trusted_template(root, answers, trusted)
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    return render_version(src, ref, data, dest, with_tasks=with_tasks)


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


def drift(root: Path, *, include_backlog: bool = False, context: int = 3,
          trusted: tuple[str, ...] = ()) -> list[DriftEntry]:
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix="scaffold-drift-") as tmp:
        fresh = render_recorded(root, Path(tmp) / root.name, with_tasks=include_backlog, trusted=trusted)
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
    from ..answers import rules

    data = {k: v for k, v in answers.items() if not str(k).startswith("_") and k in rules.RULES}
    try:
        typed = {k: rules.coerce(k, v) for k, v in data.items()}
        for key, value in typed.items():
            if message := rules.check(key, value, typed):
                return message
    except rules.AnswerError as exc:
        return str(exc)
    return None


def check(root: Path, *, include_backlog: bool = False, trusted: tuple[str, ...] = ()) -> CheckReport:
    root = Path(root).resolve()
    answers = read_answers(root)
    trusted_template(root, answers, trusted)  # before anything reads the source
    problem = answers_problem(answers)
    if problem:
        raise PackageError(f"{ANSWERS_FILE}: {problem}")
    try:
        update, error = check_update(root), None
    except Exception as exc:  # noqa: BLE001 - reported, never fatal: drift still matters
        update, error = None, f"{exc.__class__.__name__}: {exc}"
    from . import keep

    return CheckReport(str(root), update, error, drift(root, include_backlog=include_backlog, trusted=trusted),
                       keep.kept_files(root), hand_edited(root))


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


# -- answers edited by hand ------------------------------------------------------
# The answers file ends with a digest of the answers it was rendered with. Copier's
# own update renders the old version with whatever the file says now, so a hand edit
# replays as a local change and is undone; the last file whose digest still matches
# its content tells the answers the tree was really rendered with.
DIGEST_LINE = re.compile(r"^# scaffold-rendered: ([0-9a-f]{16})\s*$", re.M)
_MISSING = object()


def answers_digest(answers: Any) -> str:
    """Of the answers alone: ``_commit``/``_src_path`` are Copier's, and would make the
    line change with every template commit."""
    data = {str(k): v for k, v in dict(answers).items() if not str(k).startswith("_")}
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _matching(text: str) -> dict[str, Any] | None:
    """The answers of one answers file, if its digest line says it was rendered with them."""
    m = DIGEST_LINE.search(text)
    try:
        data = parse_answers(text)  # as Copier reads it; _commit stays text
    except Exception:  # noqa: BLE001 - a broken old version is simply not a match
        return None
    if m and isinstance(data, dict) and answers_digest(data) == m.group(1):
        return data
    return None


def rendered_answers(root: Path) -> dict[str, Any] | None:
    """The answers the package was last rendered with: the answers file itself when
    untouched, else its newest committed version whose digest matches. None when
    unknown (a package from before the digest line)."""
    root = Path(root)
    path = root / ANSWERS_FILE
    current = _matching(path.read_text(encoding="utf-8")) if path.is_file() else None
    if current is not None:
        return current
    log = subprocess.run(["git", "-C", str(root), "log", "--format=%H", "--", ANSWERS_FILE], capture_output=True,
                         text=True)
    for sha in log.stdout.split() if log.returncode == 0 else ():
        shown = subprocess.run(["git", "-C", str(root), "show", f"{sha}:./{ANSWERS_FILE}"], capture_output=True,
                               text=True)
        found = _matching(shown.stdout) if shown.returncode == 0 else None
        if found is not None:
            return found
    return None


def hand_edited(root: Path) -> dict[str, tuple[Any, Any]]:
    """Answers changed by hand since the last render: {name: (rendered, now)}."""
    now = read_answers(root)
    rendered = rendered_answers(root)
    if rendered is None:
        return {}
    keys = [k for k in now if not str(k).startswith("_")] + [k for k in rendered if k not in now and not str(k).startswith("_")]
    return {k: (rendered.get(k), now.get(k)) for k in keys if rendered.get(k, _MISSING) != now.get(k, _MISSING)}


def update(root: Path, *, vcs_ref: str | None = None, data: dict[str, Any] | None = None,
           conflict: str = "inline") -> dict[str, tuple[Any, Any]]:
    """`copier update` that honours hand-edited answers: the old version is rendered
    with the answers it was really rendered with, and the edited ones are passed as
    new data, so the edit shows up as a change of answers, not as a local edit to
    undo. Returns the hand-edited answers it applied."""
    from copier._main import Worker

    root = Path(root)
    edited = hand_edited(root)
    rendered = rendered_answers(root) if edited else None
    new_data = {k: now for k, (_, now) in edited.items() if now is not None}
    new_data.update(data or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Worker(dst_path=root, data=new_data, defaults=True, overwrite=True, unsafe=True, quiet=True,
                    # the CLI passes the user's --conflict string; Copier itself rejects other values
                    conflict=conflict, vcs_ref=vcs_ref, skip_answered=True) as worker:  # type: ignore[arg-type]
            if rendered is not None:
                worker.subproject.last_answers = {k: v for k, v in rendered.items()
                                                  if k in ("_src_path", "_commit") or not str(k).startswith("_")}
            worker.run_update()
    return edited
