"""Backlog.md projects on disk, read and written byte-for-byte as the backlog
CLI (1.52) does, so the hook can file hundreds of tasks without one
subprocess per task (tests/test_backlog_format.py compares with the real CLI).

Three modules: :mod:`.format` (the files: config, tasks, milestones, the
js-yaml frontmatter), :mod:`.lock` (the CLI's create lock) and :mod:`.sync`
(which tasks to file, and the Copier hook's passes that run it). This module is
what entry.py, cli.py, validate and the tests call; the policy (what a task says)
lives in :mod:`scaffold.artifacts.tasks`.
"""

from __future__ import annotations

from .format import (
    BACKLOG_DIR,
    BacklogError,
    Milestone,
    Task,
    Unreadable,
    _rel,
    amend,
    init_project,
    load_config,
    load_drafts,
    load_milestones,
    load_tasks,
    milestone_file_name,
    parse,
    render,
    render_milestone,
    sanitize_filename,
)
from .lock import LOCK_STALE_S, create_lock
from .sync import in_update_scratch, run_after_update, run_hook, sync

__all__ = [
    "BACKLOG_DIR",
    "BacklogError",
    "LOCK_STALE_S",
    "Milestone",
    "Task",
    "Unreadable",
    "_rel",
    "amend",
    "create_lock",
    "in_update_scratch",
    "init_project",
    "load_config",
    "load_drafts",
    "load_milestones",
    "load_tasks",
    "milestone_file_name",
    "parse",
    "render",
    "render_milestone",
    "run_after_update",
    "run_hook",
    "sanitize_filename",
    "sync",
]
