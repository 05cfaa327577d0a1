"""Backlog.md project files, read and written byte-for-byte as the backlog CLI (1.52)
does (tests/test_backlog_format.py compares with the real CLI): the config, task and
milestone files and their js-yaml frontmatter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BACKLOG_DIR = "backlog"
# `backlog init --defaults --integration-mode none --no-git` writes exactly this.
# Filesystem-only: the generated package need not be a git repository yet.
CONFIG_TEMPLATE = """\
project_name: {name}
default_status: "To Do"
statuses: ["To Do", "In Progress", "Done"]
labels: []
date_format: yyyy-mm-dd
max_column_width: 20
auto_open_browser: true
default_port: 6420
remote_operations: false
auto_commit: false
filesystem_only: true
bypass_git_hooks: false
check_active_branches: false
active_branch_days: 30
task_prefix: "task"
"""
INIT_DIRS = ("tasks", "drafts", "completed", "archive/tasks", "archive/drafts", "archive/milestones",
             "milestones", "docs", "decisions")
# Where task ids live; the CLI allocates over tasks/ + completed/, we add archive/ too
# so an archived id is never reused.
TASK_DIRS = ("tasks", "completed", "archive/tasks")
# The creation date of a Task built without one (tests); the hook dates with created_date().
FALLBACK_DATE = "2000-01-01 00:00"

FIELD_ORDER = ("id", "title", "status", "assignee", "reporter", "created_date", "updated_date", "due_date",
               "labels", "milestone", "dependencies", "references", "documentation", "modified_files",
               "parent_task_id", "subtasks", "priority", "type", "project", "ordinal", "onStatusChange")
DESC = ("<!-- SECTION:DESCRIPTION:BEGIN -->", "<!-- SECTION:DESCRIPTION:END -->")
NOTES = ("<!-- SECTION:NOTES:BEGIN -->", "<!-- SECTION:NOTES:END -->")
AC = ("<!-- AC:BEGIN -->", "<!-- AC:END -->")
AC_ITEM = re.compile(r"^- \[([ xX])\] #(\d+) (.*)$")


class BacklogError(RuntimeError):
    """A backlog the hook cannot read or write safely; the message is one line."""


# -- config ---------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    prefix: str = "task"
    zero_padded_ids: int = 0
    statuses: tuple[str, ...] = ("To Do", "In Progress", "Done")
    default_status: str = "To Do"
    filesystem_only: bool = True

    def format_id(self, number: int) -> str:
        digits = str(number).zfill(self.zero_padded_ids) if self.zero_padded_ids > 0 else str(number)
        return f"{self.prefix.upper()}-{digits}"

    def number(self, task_id: str) -> int | None:
        """The top-level number of an id of this prefix (subtasks ``X-1.2`` give None)."""
        m = re.fullmatch(rf"{re.escape(self.prefix)}-(\d+)", str(task_id).strip(), re.I)
        return int(m.group(1)) if m else None


def load_config(root: Path) -> Config | None:
    path = Path(root) / BACKLOG_DIR / "config.yml"
    if not path.exists():
        return None
    data = _load_yaml(path, "config")
    if not isinstance(data, dict):
        raise BacklogError(f"{BACKLOG_DIR}/config.yml: expected a mapping of settings")
    prefix = str(data.get("task_prefix") or "task")
    if not re.fullmatch(r"[A-Za-z]+", prefix):
        raise BacklogError(f"{BACKLOG_DIR}/config.yml: task_prefix {prefix!r} must be letters only")
    statuses = data.get("statuses") or ["To Do", "In Progress", "Done"]
    if not isinstance(statuses, list) or not all(isinstance(s, str) and s.strip() for s in statuses):
        raise BacklogError(f"{BACKLOG_DIR}/config.yml: statuses must be a list of names")
    default = data.get("default_status")
    default = default if isinstance(default, str) and default in statuses else statuses[0]
    try:
        pad = int(data.get("zero_padded_ids") or 0)
    except (TypeError, ValueError):
        raise BacklogError(f"{BACKLOG_DIR}/config.yml: zero_padded_ids must be a number") from None
    return Config(prefix=prefix.lower(), zero_padded_ids=pad, statuses=tuple(statuses),
                  default_status=default, filesystem_only=bool(data.get("filesystem_only", False)))


def init_project(root: Path, project_name: str) -> Config:
    """What `backlog init` writes: config.yml and the standard folders."""
    base = Path(root) / BACKLOG_DIR
    for sub in INIT_DIRS:
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "config.yml").write_text(CONFIG_TEMPLATE.format(name=_dq(project_name)), encoding="utf-8")
    return Config()


# -- task files -----------------------------------------------------------------
@dataclass
class Task:
    id: str
    title: str
    status: str
    assignee: list[str] = field(default_factory=list)
    created_date: str = FALLBACK_DATE
    labels: list[str] = field(default_factory=list)
    milestone: str | None = None  # a milestone id (m-0), as `task create --milestone` writes it
    dependencies: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    modified_files: list[str] = field(default_factory=list)
    parent_task_id: str | None = None  # as `task create --parent` writes it; the id is then <parent>.<n>
    priority: str | None = None
    ordinal: int | None = None
    description: str = ""
    criteria: list[tuple[bool, str]] = field(default_factory=list)
    notes: str | None = None
    # Read side only: every frontmatter key as found, the body, where it lives.
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    path: Path | None = None

    @property
    def folder(self) -> str:
        """tasks, completed, archive/tasks or drafts: the path below backlog/."""
        if self.path is None:
            return "tasks"
        parts = self.path.parent.parts
        if BACKLOG_DIR in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(BACKLOG_DIR):]) or "tasks"
        return self.path.parent.name

    def file_name(self) -> str:
        return f"{self.id.lower()} - {sanitize_filename(self.title)}.md"


def sanitize_filename(title: str) -> str:
    """The CLI's FileSystem.sanitizeFilename."""
    s = re.sub(r'[<>:"/\\|?*]', "-", title)
    s = re.sub(r"['(),!@#$%^&+=\[\]{};]", "", s)
    s = re.sub(r"\s+", "-", s)
    s = re.sub(r"-+", "-", s)
    return re.sub(r"^-|-$", "", s) or "untitled"


def render(task: Task) -> str:
    meta: dict[str, Any] = {
        "id": task.id, "title": task.title, "status": task.status, "assignee": list(task.assignee),
        "created_date": task.created_date, "labels": list(task.labels), "dependencies": list(task.dependencies),
    }
    if task.milestone:
        meta["milestone"] = task.milestone
    if task.references:
        meta["references"] = list(task.references)
    if task.modified_files:
        meta["modified_files"] = list(task.modified_files)
    if task.parent_task_id:
        meta["parent_task_id"] = task.parent_task_id
    if task.priority:
        meta["priority"] = task.priority
    if task.ordinal is not None:
        meta["ordinal"] = task.ordinal
    body = ""
    if task.description.strip():
        body += f"## Description\n\n{DESC[0]}\n{task.description.strip()}\n{DESC[1]}\n"
    if task.criteria:
        items = "".join(f"- [{'x' if done else ' '}] #{i} {text}\n" for i, (done, text) in enumerate(task.criteria, 1))
        body += ("\n" if body else "") + f"## Acceptance Criteria\n{AC[0]}\n{items}{AC[1]}\n"
    if task.notes is not None:
        body += ("\n" if body else "") + f"## Implementation Notes\n\n{NOTES[0]}\n{task.notes.strip()}\n{NOTES[1]}\n"
    return f"---\n{dump_frontmatter(meta)}---\n\n{body or chr(10)}"  # the CLI: one blank line for no body


def parse(text: str, path: Path | None = None) -> Task:
    where = _rel(path)
    m = re.match(r"^---\r?\n(.*?)\r?\n---\r?\n?(.*)$", text, re.S)
    if not m:
        raise BacklogError(f"{where}: not a Backlog.md task (no YAML frontmatter)")
    meta = _load_yaml_text(m.group(1), where)
    if not isinstance(meta, dict) or not meta.get("id") or not meta.get("title"):
        raise BacklogError(f"{where}: frontmatter needs at least id and title")
    meta = {str(k): _plain(v) for k, v in meta.items()}
    body = m.group(2)
    criteria = []
    for line in _between(body, AC).splitlines():
        item = AC_ITEM.match(line.strip())
        if item:
            criteria.append((item.group(1) != " ", item.group(3)))
    notes = _between(body, NOTES) if NOTES[0] in body else None
    ordinal = meta.get("ordinal")
    return Task(
        id=str(meta["id"]), title=str(meta["title"]), status=str(meta.get("status") or ""),
        assignee=_strs(meta.get("assignee")), created_date=str(meta.get("created_date") or ""),
        labels=_strs(meta.get("labels")), dependencies=_strs(meta.get("dependencies")),
        references=_strs(meta.get("references")), modified_files=_strs(meta.get("modified_files")),
        milestone=str(meta["milestone"]) if meta.get("milestone") else None,
        parent_task_id=str(meta["parent_task_id"]) if meta.get("parent_task_id") else None,
        priority=meta.get("priority"), ordinal=ordinal if isinstance(ordinal, int) else None,
        description=_between(body, DESC), criteria=criteria, notes=notes, meta=meta, body=body, path=path,
    )


def amend(task: Task, *, add_labels: tuple[str, ...] = (), drop_labels: tuple[str, ...] = (),
          append_note: str | None = None) -> str:
    """The task's file with labels changed and a note appended; every other key,
    criterion and word the user wrote stays as it was."""
    meta = dict(task.meta)
    labels = [lbl for lbl in _strs(meta.get("labels")) if lbl not in drop_labels]
    labels += [lbl for lbl in add_labels if lbl not in labels]
    meta["labels"] = labels
    body = task.body
    if append_note:
        if NOTES[0] in body and NOTES[1] in body:
            head, rest = body.split(NOTES[1], 1)
            body = head.rstrip("\n") + f"\n\n{append_note}\n{NOTES[1]}" + rest
        else:
            body = body.rstrip("\n") + f"\n\n## Implementation Notes\n\n{NOTES[0]}\n{append_note}\n{NOTES[1]}\n"
    return f"---\n{dump_frontmatter(meta)}---\n{body if body.startswith(chr(10)) else chr(10) + body}"


def load_tasks(root: Path, config: Config, problems: list[Unreadable] | None = None) -> list[Task]:
    """Every task of the project's prefix in tasks/, completed/ and archive/tasks/.
    An unreadable file is an error, never silently skipped: skipping it could
    reuse its id or file a duplicate. With ``problems``, it is recorded there
    instead (its id number and any references it names still count) and the
    others are read."""
    base = Path(root) / BACKLOG_DIR
    found = []
    for folder in TASK_DIRS:
        d = base / folder
        if not d.is_dir():
            continue
        for path in sorted(d.glob(f"{config.prefix}-*.md")):
            try:
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise BacklogError(f"{_rel(path)}: unreadable ({exc.__class__.__name__})") from None
                found.append(parse(text, path))
            except BacklogError as exc:
                if problems is None:
                    raise
                problems.append(Unreadable(path, str(exc), _file_number(path, config.prefix), _raw_references(path)))
    return found


@dataclass(frozen=True)
class Unreadable:
    """A task file the hook could not parse: reported and left alone."""

    path: Path
    message: str
    number: int | None
    references: tuple[str, ...]


def _file_number(path: Path, prefix: str) -> int | None:
    m = re.match(rf"^{re.escape(prefix)}-(\d+)\b", path.name, re.I)
    return int(m.group(1)) if m else None


def _raw_references(path: Path) -> tuple[str, ...]:
    """The `references:` items of a task whose YAML does not parse, read line by
    line, so a broken generated task still keeps its artifact from being filed twice."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    refs, inside = [], False
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if re.match(r"^(references|modified_files):\s*$", line):
            inside = True
        elif inside and re.match(r"^\s+-\s+", line):
            refs.append(re.sub(r"^\s+-\s+", "", line).strip().strip("'\""))
        else:
            inside = False
    return tuple(refs)


DRAFT_PREFIX = "draft"


def load_drafts(root: Path, problems: list[Unreadable] | None = None) -> list[Task]:
    """Tasks `backlog task demote` moved to drafts/ (their id becomes DRAFT-n):
    still the team's record of an artifact, so the hook files no duplicate."""
    d = Path(root) / BACKLOG_DIR / "drafts"
    found = []
    for path in sorted(d.glob(f"{DRAFT_PREFIX}-*.md")) if d.is_dir() else ():
        try:
            found.append(parse(path.read_text(encoding="utf-8"), path))
        except (BacklogError, OSError, UnicodeDecodeError) as exc:
            if problems is not None:
                message = str(exc) if isinstance(exc, BacklogError) else f"{_rel(path)}: unreadable"
                problems.append(Unreadable(path, message, None, _raw_references(path)))
    return found


def next_number(tasks: list[Task], config: Config) -> int:
    numbers = [config.number(t.id) for t in tasks]
    return max((n for n in numbers if n is not None), default=0) + 1


# -- YAML the way the CLI (js-yaml) writes it ---------------------------------
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./()<=~$^+\\;][^\n]*$")
_YAML11_SPECIAL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN"
    r"|[-+]?[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
    r"|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
    r"|\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d(?::\d\d(?:\.\d*)?)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?)$")


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if any(ord(c) < 32 and c != "\t" for c in text):
        import json

        return json.dumps(text)
    plain = (_PLAIN_SAFE.match(text) and not _YAML11_SPECIAL.match(text) and ":" not in text
             and " #" not in text and not text.endswith((":", " ")) and "'" not in text[:1])
    return text if plain else "'" + text.replace("'", "''") + "'"


def dump_frontmatter(meta: dict[str, Any]) -> str:
    keys = [k for k in FIELD_ORDER if k in meta] + [k for k in meta if k not in FIELD_ORDER]
    out = []
    for key in keys:
        value = meta[key]
        if isinstance(value, (list, tuple)):
            if not value:
                out.append(f"{key}: []")
            elif all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                out.append(f"{key}:")
                out.extend(f"  - {scalar(v)}" for v in value)
            else:
                out.append(_ruamel_block(key, value))
        elif isinstance(value, dict):
            out.append(_ruamel_block(key, value))
        elif value is None:
            out.append(f"{key}: null")
        else:
            out.append(f"{key}: {scalar(value)}")
    return "\n".join(out) + "\n"


def _ruamel_block(key: str, value: Any) -> str:
    from .. import yamlio

    return yamlio.dump({key: value}).rstrip("\n")


def _dq(text: str) -> str:
    import json

    return json.dumps(text)


def _load_yaml(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BacklogError(f"{_rel(path)}: unreadable {what} ({exc.__class__.__name__})") from None
    return _load_yaml_text(text, _rel(path))


def _load_yaml_text(text: str, where: str) -> Any:
    from .. import yamlio

    try:
        return yamlio.load(text)
    except Exception as exc:  # noqa: BLE001 - any YAML error means a corrupt file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BacklogError(f"{where}: corrupt YAML ({first})") from None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _strs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _between(body: str, markers: tuple[str, str]) -> str:
    start, end = markers
    if start not in body:
        return ""
    return body.split(start, 1)[1].split(end, 1)[0].strip("\n")


def _rel(path: Path | None) -> str:
    if path is None:
        return "<task>"
    parts = Path(path).parts
    if BACKLOG_DIR in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index(BACKLOG_DIR):])
    return Path(path).name


def utc_minute(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M")


# -- milestones -------------------------------------------------------------------
MILESTONE_DIRS = ("milestones", "archive/milestones")


@dataclass(frozen=True)
class Milestone:
    id: str
    title: str
    path: Path | None = None


def milestone_file_name(milestone_id: str, title: str) -> str:
    """`backlog milestone add`'s file name: ``m-<n> - <lowercased title, blanks as ->.md``."""
    slug = re.sub(r"-+", "-", re.sub(r"[\s/]+", "-", title.strip().lower()))
    return f"{milestone_id} - {slug}.md"


def render_milestone(milestone: Milestone, description: str) -> str:
    """What `backlog milestone add <title> -d <description>` writes."""
    return f"---\nid: {milestone.id}\ntitle: {_dq(milestone.title)}\n---\n\n## Description\n\n{description.strip()}\n"


def load_milestones(root: Path) -> list[Milestone]:
    """Every milestone file, active and archived; unreadable ones are skipped (their
    id still counts, so it is never reused)."""
    found = []
    base = Path(root) / BACKLOG_DIR
    for folder in MILESTONE_DIRS:
        d = base / folder
        for path in sorted(d.glob("m-*.md")) if d.is_dir() else ():
            try:
                m = re.match(r"^---\r?\n(.*?)\r?\n---", path.read_text(encoding="utf-8"), re.S)
                meta = _load_yaml_text(m.group(1), _rel(path)) if m else None
            except (BacklogError, OSError, UnicodeDecodeError):
                meta = None
            if isinstance(meta, dict) and meta.get("id") and meta.get("title"):
                found.append(Milestone(str(meta["id"]), str(meta["title"]), path))
            else:
                number = re.match(r"^(m-\d+)\b", path.name)
                found.append(Milestone(number.group(1) if number else path.stem, "", path))
    return found


def ensure_milestones(root: Path, wanted: list[tuple[str, str]], dry_run: bool = False) -> dict[str, str]:
    """Title -> milestone id for every wanted (title, description): an existing
    milestone of that title (case-insensitive, archived ones too) is reused, a
    missing one is written as `backlog milestone add` would (next free m-<n>)."""
    existing = load_milestones(root)
    by_title = {ms.title.strip().lower(): ms.id for ms in existing if ms.title}
    numbers = [int(x.group(1)) for ms in existing if (x := re.fullmatch(r"m-(\d+)", ms.id))]
    nxt = max(numbers, default=-1) + 1
    out = {}
    for title, description in wanted:
        if title.lower() in by_title:
            out[title] = by_title[title.lower()]
            continue
        ms = Milestone(f"m-{nxt}", title)
        nxt += 1
        by_title[title.lower()] = out[title] = ms.id
        if not dry_run:
            path = Path(root) / BACKLOG_DIR / "milestones" / milestone_file_name(ms.id, title)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(render_milestone(ms, description))
    return out
