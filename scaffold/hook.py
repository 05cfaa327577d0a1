"""Copier ``_tasks`` entry point: ``python -m scaffold.hook DEST [TEMPLATE [COMMIT]]``.

Files the Backlog.md tasks for the generated package (see scaffold.backlog).
TEMPLATE/COMMIT (Copier's local template clone and commit) only date the tasks.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from . import backlog

    dest = Path(argv[0] if argv else ".")
    template = argv[1] if len(argv) > 1 else None
    commit = argv[2] if len(argv) > 2 else None
    return backlog.run_hook(dest, template=template, commit=commit)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
