"""Backlog.md tasks per generated artifact. (Issue 5 fills this in.)"""

from __future__ import annotations

import sys
from pathlib import Path


def run_hook(dest: Path) -> int:
    # Visibly unfinished until issue 5 lands: warn, never pretend.
    sys.stderr.write("scaffold.hook: backlog tasks are not implemented yet; nothing filed\n")
    return 0
