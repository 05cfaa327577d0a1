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
    """The post-generation task: ``[--after-update [--backlog=BOOL]] DEST [TEMPLATE [COMMIT]]``.
    Files the backlog tasks with this tag's task policy; ``--after-update`` is the
    pass that runs once ``copier update`` is done (see ``backlog.run_after_update``).
    Unknown flags are ignored, so a newer launcher never breaks an older tag."""
    from pathlib import Path

    from .backlog import backlog

    flags = [a for a in argv if a.startswith("--")]
    args = [a for a in argv if not a.startswith("--")]
    dest = Path(args[0] if args else ".")
    template = args[1] if len(args) > 1 else None
    commit = args[2] if len(args) > 2 else None
    if "--after-update" in flags:
        with_backlog = not any(f.lower() in ("--backlog=false", "--backlog=0", "--backlog=") for f in flags)
        return backlog.run_after_update(dest, template=template, commit=commit, backlog=with_backlog)
    return backlog.run_hook(dest, template=template, commit=commit)
