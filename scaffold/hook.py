"""Copier task entry points.

``python -m scaffold.hook DEST [TEMPLATE [COMMIT]]`` (``_tasks``) files the
Backlog.md tasks for the generated package (see scaffold.backlog).
TEMPLATE/COMMIT (Copier's local template clone and commit) only date the tasks.

``python -m scaffold.hook --after-update [--backlog=BOOL] DEST [TEMPLATE [COMMIT]]``
(a ``_migrations`` entry, stage after) runs once ``copier update`` has replayed
the project's edits and deleted obsolete files: it keeps the team's version of
every edited file the update deleted, then files and marks tasks against the
final tree.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from . import backlog

    flags = [a for a in argv if a.startswith("--")]
    args = [a for a in argv if not a.startswith("--")]
    dest = Path(args[0] if args else ".")
    template = args[1] if len(args) > 1 else None
    commit = args[2] if len(args) > 2 else None
    if "--after-update" in flags:
        with_backlog = not any(f.lower() in ("--backlog=false", "--backlog=0", "--backlog=") for f in flags)
        return backlog.run_after_update(dest, template=template, commit=commit, backlog=with_backlog)
    return backlog.run_hook(dest, template=template, commit=commit)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
