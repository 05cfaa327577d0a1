"""Copier task entry points.

The installed launcher of the post-generation task. TEMPLATE is Copier's local
checkout of the template being rendered; the tasks are decided by *that*
checkout's code (``scaffold.loader``), so a tag files what its own task policy
says. COMMIT only dates the tasks.

``python -m scaffold.hook DEST [TEMPLATE [COMMIT]]`` (``_tasks``) files the
Backlog.md tasks; ``python -m scaffold.hook --after-update [--backlog=BOOL] DEST
[TEMPLATE [COMMIT]]`` (a ``_migrations`` entry, stage after) runs once ``copier
update`` has replayed the project's edits and deleted obsolete files. Flags are
passed through to the tag's ``entry.run_hook``.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from . import loader

    args = [a for a in argv if not a.startswith("--")]
    template = args[1] if len(args) > 1 else None
    try:
        ent = loader.entry(template)
    except loader.LoaderError as exc:
        sys.stderr.write(f"scaffold.hook: error: {exc}\n")
        return 1
    return int(ent.run_hook(list(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
