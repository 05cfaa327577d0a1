"""Unresolved merge conflicts: the first checker, one line per conflicted file.

``copier update --conflict inline`` (and ``git merge``) leave ``<<<<<<<`` /
``=======`` / ``>>>>>>>`` blocks in the files they could not merge. Every other
checker would then trip over files that no longer parse; this one runs first
and names each conflicted file, so the report starts with what to fix. The
checkers that read YAML report such a file as a parse finding (its path and
line), never a crash (``run_one``).
"""

from __future__ import annotations

from ..model.package import Package
from . import Finding, checker, conflict_hunks

# Folders that are never the package's own text: dependencies, caches, tool state.
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".terraform", "bin", "obj"})
MAX_BYTES = 2 * 1024 * 1024


def conflicted_files(pkg: Package) -> list[Finding]:
    findings = []
    for path in sorted(pkg.root.rglob("*")):
        rel = path.relative_to(pkg.root)
        if not path.is_file() or SKIP_DIRS.intersection(rel.parts[:-1]) or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"<<<<<<<" not in data or b"\0" in data:
            continue
        hunks = conflict_hunks(data.decode("utf-8", errors="replace"))
        if hunks:
            n = len(hunks)
            findings.append(Finding(rel.as_posix(), f"unresolved merge conflict ({n} block{'s' if n > 1 else ''} of "
                                    "<<<<<<< / ======= / >>>>>>> markers, e.g. from `copier update --conflict "
                                    "inline`): keep the right side, delete the markers, run validate again",
                                    hunks[0]))
    return findings


@checker
class ConflictMarkers:
    name = "conflict-markers"
    tool = "scaffold"
    slow = False
    first = True  # runs before every other checker (load_checkers)

    def applies(self, pkg: Package) -> bool:
        return True

    def run(self, pkg: Package) -> list[Finding]:
        return conflicted_files(pkg)
