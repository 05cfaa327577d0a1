"""The sync (file what is missing, mark what vanished, touch nothing else) and the Copier
hook's passes that run it: after a copy, and after `copier update`. What a task says
is policy: :mod:`scaffold.artifacts.tasks`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import tasks as policy
from .format import (
    BACKLOG_DIR,
    BacklogError,
    Config,
    Task,
    Unreadable,
    amend,
    ensure_milestones,
    init_project,
    load_config,
    load_drafts,
    load_tasks,
    next_number,
    render,
    sanitize_filename,
    utc_minute,
)
from .lock import _nolock, create_lock


# -- the sync: file what is missing, mark what vanished, touch nothing else ----
@dataclass
class SyncReport:
    initialized: bool = False
    created: list[Task] = field(default_factory=list)
    marked_removed: list[Task] = field(default_factory=list)
    unmarked: list[Task] = field(default_factory=list)
    existing: int = 0
    skipped: list[Unreadable] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"filed {len(self.created)} task(s)", f"{self.existing} already filed"]
        if self.marked_removed:
            parts.append(f"{len(self.marked_removed)} marked {policy.REMOVED_LABEL}")
        if self.unmarked:
            parts.append(f"{len(self.unmarked)} artifact(s) back")
        if self.skipped:
            parts.append(f"{len(self.skipped)} unreadable task file(s) left alone")
        return ", ".join(parts) + (" (new Backlog.md project)" if self.initialized else "")


def removed_note(key: str, kept: str | None = None) -> str:
    note = (f"scaffold: `{key}` is no longer in the package (the template stopped generating it after an "
            "answer or version change, or the team deleted it). Close or archive this task if its work no "
            "longer applies.")
    if kept:
        note += f" The team's edited version is kept in `{kept}`."
    return note


def back_note(key: str) -> str:
    return f"scaffold: `{key}` is generated again; the {policy.REMOVED_LABEL} label was removed."


# -- dates --------------------------------------------------------------------------
def now_minute() -> str:
    """The current UTC minute, or SOURCE_DATE_EPOCH's (reproducible builds; tests fake a day with it)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return utc_minute(int(epoch) if epoch.isdigit() else time.time())


def created_date(root: Path, template: str | None = None, commit: str | None = None,
                 existing: list[Task] | None = None) -> str:
    """The creation date of the tasks this sync files: the day they are filed.
    The first sync (a new package) files the whole plan with the package's first
    generation date; a later sync (after `copier update`) files only what is new,
    on the day it is new. Existing task files are never re-dated, and the hook never
    runs in Copier's update scratch renders, so no render ever differs by a date.
    (``template`` and ``commit`` are accepted for older callers and not used: the
    template commit's date made a new package's tasks look days old.)"""
    return now_minute()


def _sub_number(parent_id: str, taken: list[str]) -> int:
    prefix = parent_id.upper() + "."
    subs = [int(x) for t in taken if t.upper().startswith(prefix) and (x := t[len(prefix):]).isdigit()]
    return max(subs, default=0) + 1


def sync(root: Path, *, dry_run: bool = False, template: str | None = None, commit: str | None = None) -> SyncReport:
    """File a task for every unit, parent and alert that has none. Existing task
    files are never rewritten, except to label and note a vanished artifact."""
    from ..model.package import Package

    root = Path(root)
    model = Package.load(root).model
    files = policy.artifacts(root)
    specs = policy.plan(model, files, root)
    owner = policy.owner_of(model, files)
    config = load_config(root)
    report = SyncReport(initialized=config is None)
    if config is None:
        config = Config() if dry_run else init_project(root, model.name)
    with (_nolock() if dry_run else create_lock(root, config)):
        problems: list[Unreadable] = []
        existing = load_tasks(root, config, problems)
        drafts = load_drafts(root, problems)
        report.existing = len(existing) + len(drafts)
        report.skipped = problems
        ids: dict[str, str] = {}
        for t in existing + drafts:
            for ref in t.references + t.modified_files:
                ids.setdefault(ref, t.id)
        for t in existing + drafts:  # a task of an older, per-file plan covers its file's unit
            for ref in t.references + t.modified_files:
                if ref in owner:
                    ids.setdefault(owner[ref], t.id)
        by_name = {sanitize_filename(spec.title): spec.key for spec in specs}
        for bad in problems:  # what an unreadable task covered: its references, else its file name
            named = re.match(r"^[A-Za-z]+-[\d.]+ - (.*)\.md$", bad.path.name)
            for ref in bad.references + ((by_name[named.group(1)],) if named and named.group(1) in by_name else ()):
                ids.setdefault(ref, bad.path.name)
                if ref in owner:
                    ids.setdefault(owner[ref], bad.path.name)
        number = max([next_number(existing, config)] + [b.number + 1 for b in problems if b.number is not None])
        ordinal = max((t.ordinal for t in existing if t.ordinal is not None), default=0)
        date = created_date(root, template, commit, existing)
        taken = [t.id for t in existing + drafts] + [re.sub(r" - .*$", "", b.path.name) for b in problems]
        fresh: list[tuple[policy.TaskSpec, str, str | None]] = []
        for spec in specs:
            if spec.key in ids:
                continue
            parent = ids.get(spec.parent) if spec.parent else None
            if parent is not None and config.number(parent) is not None:
                task_id = f"{parent}.{_sub_number(parent, taken)}"
            else:
                parent, task_id = None, config.format_id(number)
                number += 1
            ids[spec.key] = task_id
            taken.append(task_id)
            fresh.append((spec, task_id, parent))
        # Filing anything completes the plan's milestones, in plan order (ids are allocated in that order).
        wanted = [(ms.title, ms.description) for ms in policy.milestones(model)]
        milestone_ids = ensure_milestones(root, wanted, dry_run) if fresh else {}
        assignee = [model.backlog_assignee] if model.backlog_assignee else []
        for spec, task_id, parent in fresh:
            ordinal += 1000
            task = Task(id=task_id, title=spec.title, status=config.default_status, assignee=list(assignee),
                        created_date=date, labels=list(spec.labels), milestone=milestone_ids.get(spec.milestone) if spec.milestone else None,
                        dependencies=[ids[k] for k in spec.needs if k in ids], references=[spec.key],
                        parent_task_id=parent, priority=spec.priority, ordinal=ordinal,
                        description=spec.description, criteria=[(False, c) for c in spec.criteria])
            task.path = root / BACKLOG_DIR / "tasks" / task.file_name()
            report.created.append(task)
            if not dry_run:
                task.path.parent.mkdir(parents=True, exist_ok=True)
                with open(task.path, "x", encoding="utf-8") as fh:  # never overwrite
                    fh.write(render(task))
        live = policy.live_keys(model, files, root)
        for t in existing:
            key = policy.task_key(t.references)
            if policy.GENERATED_LABEL not in t.labels or t.folder != "tasks" or key is None:
                continue
            gone, marked = key not in live, policy.REMOVED_LABEL in t.labels
            if gone and not marked:
                kept = key + policy.KEPT_SUFFIX if (root / (key + policy.KEPT_SUFFIX)).is_file() else None
                text = amend(t, add_labels=(policy.REMOVED_LABEL,), append_note=removed_note(key, kept))
                report.marked_removed.append(t)
            elif marked and not gone:
                text = amend(t, drop_labels=(policy.REMOVED_LABEL,), append_note=back_note(key))
                report.unmarked.append(t)
            else:
                continue
            if not dry_run and t.path is not None:
                t.path.write_text(text, encoding="utf-8")
    return report


# copier update renders the old and the new version into these scratch folders and
# deletes from the project every file only the old render has; filing tasks there
# would make it delete appended task files (their ids differ from a fresh render's).
_SCRATCH = re.compile(r"^copier\.(?:_?main)\.(?:old|new)_copy\.")


def in_update_scratch(dest: Path) -> bool:
    return any(_SCRATCH.match(part) for part in Path(dest).resolve().parts)


def in_copier_update() -> bool:
    """Copier's _tasks run inside `copier update` before it replays the project's
    diff and deletes obsolete files: a failing task there aborts the update half-way."""
    return os.environ.get("COPIER_OPERATION") == "update"


def run_hook(dest: Path, template: str | None = None, commit: str | None = None) -> int:
    """The Copier task: one summary line; on a problem, one clear error line.

    Inside `copier update` this pass files nothing: the tree is not final yet
    (Copier still has to replay the project's edits and delete obsolete files),
    so the after-update pass (:func:`run_after_update`, a `_migrations` entry)
    files and marks against the final tree. On a fresh copy a broken backlog
    exits 1, since nothing is half-applied then; an unreadable task file is
    reported and left alone either way."""
    from ..model.package import PackageError

    if in_update_scratch(Path(dest)):
        return 0
    updating = in_copier_update()
    if updating and has_after_update_pass(template):
        sys.stderr.write("scaffold.hook: backlog: deferred to the after-update pass\n")
        return 0
    try:
        report = sync(Path(dest), template=template, commit=commit)
    except (BacklogError, PackageError) as exc:
        if updating:  # a template without the after-update pass: still never break the update
            sys.stderr.write(f"scaffold.hook: backlog not synced: {exc} (fix it, then run `scaffold tasks`)\n")
            return 0
        sys.stderr.write(f"scaffold.hook: error: {exc}\n")
        return 1
    _report(report)
    return 0


def has_after_update_pass(template: str | None) -> bool:
    """Does the template version being rendered list the after-update pass? (A tag
    from before it did not; then this pass files as before.) Unknown counts as yes."""
    if not template or not (Path(template) / "copier.yml").is_file():
        return True
    try:
        return "--after-update" in (Path(template) / "copier.yml").read_text(encoding="utf-8")
    except OSError:
        return True


def _report(report: SyncReport) -> None:
    for bad in report.skipped:
        sys.stderr.write(f"scaffold.hook: skipped {bad.message} (the backlog CLI cannot read it either; "
                         "left as it is)\n")
    if not os.environ.get("SCAFFOLD_QUIET"):  # `scaffold new -q`: errors only
        sys.stderr.write(f"scaffold.hook: backlog: {report.summary()}\n")


def run_after_update(dest: Path, template: str | None = None, commit: str | None = None,
                     *, backlog: bool = True) -> int:
    """Copier `_migrations` (stage after), run once Copier has replayed the
    project's edits and deleted obsolete files: keep the team's version of every
    edited file the update deleted (scaffold.keep), then file and mark tasks
    against this final tree. Never fails the update: problems are one line each."""
    from ..fleet import keep
    from ..model.package import PackageError

    dest = Path(dest)
    if in_update_scratch(dest):
        return 0
    try:
        for line in keep.keep_deleted_edits(dest, template=template):
            sys.stderr.write(f"scaffold: {line}\n")
    except Exception as exc:  # noqa: BLE001 - reported, never fatal: the update itself is done
        sys.stderr.write(f"scaffold: could not check deleted files for local edits: {exc}\n")
    if not backlog:
        return 0
    try:
        report = sync(dest, template=template, commit=commit)
    except (BacklogError, PackageError) as exc:
        sys.stderr.write(f"scaffold.hook: backlog not synced: {exc} (fix it, then run `scaffold tasks`)\n")
        return 0
    _report(report)
    return 0
