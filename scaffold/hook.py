"""Copier ``_tasks`` entry point: ``python -m scaffold.hook DEST``.

Files the Backlog.md tasks for the generated package (see scaffold.backlog).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from scaffold import backlog

    dest = Path(argv[0] if argv else ".")
    return backlog.run_hook(dest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
