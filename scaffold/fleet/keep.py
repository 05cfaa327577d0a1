"""No silent loss on removal: when `copier update` (a new version, or changed
answers) deletes a file the team had edited, the team's committed version is
kept beside it as ``<path>.scaffold-kept``, in the spirit of Copier's ``.rej``.

Copier deletes every file the old render had and the new one lacks, edited or
not (``_remove_old_files``). This runs after that, as a ``_migrations`` entry
(stage after, see scaffold.hook): the files the update deleted are the ones git
still has in the index but the working tree lacks (a file moved by
``scaffold.migrate move`` is ``git mv``'d, so it is not among them). A deleted
file whose committed content differs from the recorded version's render had
local edits; an unedited one is let go, as the template intends. If the old
version cannot be rendered, every deleted file is kept: never guess "unedited".
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .. import yamlio
from ..artifacts.tasks import KEPT_SUFFIX, git_files

ANSWERS = ".copier-answers.yml"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                          env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}, timeout=120)


def deleted_by_update(root: Path) -> list[str]:
    """Files the last commit has that the working tree no longer has and that
    were not removed from the index (so not a `git rm`/`git mv` of ours)."""
    proc = _git(root, "ls-files", "-z", "--deleted")
    if proc.returncode != 0:
        return []
    out = []
    for rel in sorted(set(proc.stdout.decode().split("\0")) - {""}):
        if _git(root, "cat-file", "-e", f"HEAD:./{rel}").returncode == 0 and not (Path(root) / rel).exists():
            out.append(rel)
    return out


def committed(root: Path, rel: str) -> bytes | None:
    proc = _git(root, "show", f"HEAD:./{rel}")
    return proc.stdout if proc.returncode == 0 else None


def _render_previous(root: Path, dest: Path, template: str | None) -> Path | None:
    """The recorded (pre-update) version with the recorded answers, from the
    last commit's answers file; None when it cannot be rendered."""
    from . import lifecycle

    text = committed(root, ANSWERS)
    if text is None:
        return None
    answers = yamlio.load(text.decode("utf-8"))
    if not isinstance(answers, dict) or "_commit" not in answers:
        return None
    data = {k: v for k, v in answers.items() if not str(k).startswith("_")}
    sources = [s for s in (template, answers.get("_src_path")) if s]
    for src in sources:
        try:
            return lifecycle.render_version(str(src), str(answers["_commit"]), data, dest)
        except Exception:  # noqa: BLE001 - try the next source; none means "keep everything"
            continue
    return None


def keep_deleted_edits(root: Path, template: str | None = None) -> list[str]:
    """Keep the team's version of every edited file the update deleted; one
    line per kept file (empty when nothing was lost)."""
    root = Path(root)
    deleted = deleted_by_update(root)
    if not deleted:
        return []
    lines = []
    with tempfile.TemporaryDirectory(prefix="scaffold-keep-") as tmp:
        previous = _render_previous(root, Path(tmp) / root.name, template)
        for rel in deleted:
            ours = committed(root, rel)
            if ours is None:
                continue
            if previous is not None and (previous / rel).is_file() and (previous / rel).read_bytes() == ours:
                continue  # unedited: the template's own file, let it go
            target = root / (rel + KEPT_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(ours)
            why = "has local edits" if previous is not None else "may have local edits (the previous version could not be rendered to compare)"
            lines.append(f"kept {rel}{KEPT_SUFFIX}: the update deleted {rel}, which {why}; "
                         "carry over what still applies, then delete the kept file")
    return lines


def kept_files(root: Path) -> list[str]:
    """Every kept file still in the package (tracked or not yet committed)."""
    listed = git_files(Path(root))
    if listed is None:
        listed = [p.relative_to(root).as_posix() for p in Path(root).rglob(f"*{KEPT_SUFFIX}")]
    return sorted(f for f in listed if f.endswith(KEPT_SUFFIX) and (Path(root) / f).is_file())


def update_report(root: Path, base: str = "HEAD") -> dict[str, list[str]]:
    """What a reviewer of an update must look at: files changed since ``base``
    (committed, staged, unstaged or new) that carry Copier's inline conflict
    markers, and every kept file. For a pull request body."""
    from . import lifecycle

    root = Path(root)
    changed: set[str] = set()
    for args in (["diff", "--name-only", "-z", base], ["ls-files", "-z", "--others", "--exclude-standard"]):
        proc = _git(root, *args)
        if proc.returncode == 0:
            changed |= set(proc.stdout.decode().split("\0")) - {""}
    return {"conflicts": lifecycle.has_conflict_markers(root, sorted(changed)), "kept": kept_files(root)}


def report_markdown(report: dict[str, list[str]]) -> str:
    lines = []
    if report["conflicts"]:
        lines += ["### Conflicts to resolve", ""] + [f"- `{c}`" for c in report["conflicts"]] + [""]
    if report["kept"]:
        lines += ["### Edited files this update deleted (the team's version is kept)", ""]
        lines += [f"- `{k}`: merge what still applies into the new layout, then delete it" for k in report["kept"]]
        lines += [""]
    return "\n".join(lines) if lines else "No conflicts, and no edited file was deleted.\n"
