"""Copier ``_tasks`` entry point: ``python -m scaffold.hook DEST [TEMPLATE [COMMIT]]``.

The installed launcher of the post-generation task. TEMPLATE is Copier's local
checkout of the template being rendered; the tasks are decided by *that*
checkout's code (``scaffold.loader``), so a tag files what its own task policy
says. COMMIT only dates the tasks.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from . import loader

    template = argv[1] if len(argv) > 1 else None
    try:
        ent = loader.entry(template)
    except loader.LoaderError as exc:
        sys.stderr.write(f"scaffold.hook: error: {exc}\n")
        return 1
    return int(ent.run_hook(list(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
