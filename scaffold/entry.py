"""The template's half of the loader contract (``scaffold.loader``), API 1.

Every tag's ``scaffold/entry.py`` keeps this module's names and signatures: the
installed loader of any later scaffold release calls them. Everything behind
them is the tag's own business.
"""

from __future__ import annotations

from typing import Any

API = 1


def install_jinja(environment: Any) -> None:
    """Register the globals and filters that this tag's templates use."""
    from .templating import install

    install(environment)


def run_hook(argv: list[str]) -> int:
    """The post-generation task: ``DEST [TEMPLATE [COMMIT]]``. Files the backlog
    tasks with this tag's task policy."""
    from pathlib import Path

    from .backlog import run_hook as backlog_hook

    dest = Path(argv[0] if argv else ".")
    template = argv[1] if len(argv) > 1 else None
    commit = argv[2] if len(argv) > 2 else None
    return backlog_hook(dest, template=template, commit=commit)
