"""The backlog hook on generated packages: coverage, the real CLI, recopy and
update idempotency, edited tasks, vanished artifacts, corrupt backlogs, ids and the lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scaffold.backlog import backlog
from scaffold.artifacts import tasks as policy
from scaffold.model.package import Package
from scaffold.validate.backlog import BacklogTasks, listed_tasks
from tests.helpers import git, mutable_copy, require_tool
from scaffold.artifacts import alerts


def task_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "backlog").rglob("*.md"))}


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".git" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def load(root: Path) -> list[backlog.Task]:
    return backlog.load_tasks(root, backlog.load_config(root))


def hook(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaffold.hook", "."], cwd=root, capture_output=True, text=True)


def commit_all(root: Path, message: str = "state") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def test_every_unit_and_alert_has_a_task(default_package):
    tasks = load(default_package)
    named = {ref for t in tasks for ref in t.references}
    m = Package.load(default_package).model
    units = policy.units(m, policy.artifacts(default_package))
    assert {u.key for u in units} <= named
    assert policy.unclaimed(m, policy.artifacts(default_package)) == []  # every generated file is in a unit
    titles = {t.title for t in tasks}
    assert {f"Runbook: {a.name} response" for a in alerts.alerts(m)} <= titles
    assert len({t.id for t in tasks}) == len(tasks)  # no duplicate ids
    assert m.backlog_assignee == "" and all(t.assignee == [] for t in tasks)  # the default: nobody
    assert all(t.priority in ("high", "medium", "low") for t in tasks)
    assert all(t.labels[0] in {p.key for p in policy.PARENTS} and t.criteria for t in tasks)


def test_dependencies_follow_the_rules(default_package):
    by_ref = {t.references[0]: t for t in load(default_package)}
    assert by_ref[".github/workflows/ci.yml"].id in by_ref[".github/workflows/cd.yml"].dependencies
    rules = by_ref["observability/prometheus"]
    assert rules.id in by_ref["k8s/base/analysistemplate.yaml"].dependencies
    hpa = by_ref["k8s/base/hpa.yaml"]
    assert any("scale-out before p95 latency passes the SLO threshold (300 ms)" in c for _, c in hpa.criteria)


def test_runbook_task_criteria(default_package):
    m = Package.load(default_package).model
    if not alerts.alerts(m):
        pytest.skip("alert catalog is empty")
    alert = alerts.alerts(m)[0]
    task = next(t for t in load(default_package) if t.title == f"Runbook: {alert.name} response")
    text = " ".join(c for _, c in task.criteria).lower()
    for topic in ("triage", "common causes", "escalate"):
        assert topic in text
    # The rollback is rehearsed once, for every alert: a criterion of the on-call parent.
    parent = next(t for t in load(default_package) if t.id == task.parent_task_id)
    assert parent.references == [policy.parent_key("oncall")]
    assert any("rollback" in c and "rehearsed" in c for _, c in parent.criteria)
    assert task.references == [policy.runbook_path(alert.name)]
    for criterion in alert.backlog_criteria:
        assert (False, criterion) in task.criteria


def test_real_cli_lists_and_views_every_task(default_package):
    exe = require_tool("backlog")
    tasks = load(default_package)
    out = subprocess.run([exe, "task", "list", "--plain"], cwd=default_package, capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"}, check=True).stdout
    listed = listed_tasks(out)
    assert {t.id for t in tasks} == set(listed)
    assert all(listed[t.id] == (t.title, len(t.criteria)) for t in tasks)
    # view a sample of each area (viewing all ~100 costs ~0.35 s each)
    sample = {t.labels[0]: t for t in tasks}.values()
    for t in sample:
        shown = subprocess.run([exe, "task", "view", t.id, "--plain"], cwd=default_package, capture_output=True,
                               text=True, env={**os.environ, "NO_COLOR": "1"}, check=True).stdout
        assert f"Task {t.id} - {t.title}" in shown
        assert f"References: {t.references[0]}" in shown
        for i, (_, c) in enumerate(t.criteria, 1):
            assert f"- [ ] #{i} {c}" in shown
    assert BacklogTasks().run(Package.load(default_package)) == []


def test_checker_finds_missing_task_and_runbook(default_package, tmp_path):
    require_tool("backlog")
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    victims = [t for t in load(pkg) if t.references[0] in ("Dockerfile", "README.md") or t.title.startswith("Runbook:")]
    for t in victims[:3]:
        t.path.unlink()
    findings = BacklogTasks().run(Package.load(pkg))
    files = {f.file for f in findings}
    assert {t.references[0] for t in victims[:3]} <= files


def test_rerun_is_a_no_op_and_never_rewrites(default_package, tmp_path):
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    before = task_files(pkg)
    report = backlog.sync(pkg)
    assert report.created == [] and report.marked_removed == []
    assert task_files(pkg) == before


def test_edited_task_survives_and_vanished_artifact_is_marked(default_package, tmp_path):
    exe = require_tool("backlog")
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    tasks = {t.references[0]: t for t in load(pkg)}
    edited = tasks["k8s/base/hpa.yaml"]
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run([exe, "task", "edit", edited.id, "-s", "In Progress", "--check-ac", "1", "--append-notes",
                    "load test booked"], cwd=pkg, check=True, capture_output=True, env=env)
    edited_bytes = edited.path.read_bytes()
    gone = tasks["docs/postmortem-template.md"]
    (pkg / "docs/postmortem-template.md").unlink()
    others = {k: v for k, v in task_files(pkg).items() if not k.endswith(gone.path.name)}

    report = backlog.sync(pkg)
    assert report.created == [] and [t.id for t in report.marked_removed] == [gone.id]
    assert edited.path.read_bytes() == edited_bytes
    assert {k: v for k, v in task_files(pkg).items() if not k.endswith(gone.path.name)} == others
    marked = backlog.parse(gone.path.read_text(encoding="utf-8"), gone.path)
    assert policy.REMOVED_LABEL in marked.labels and "docs/postmortem-template.md" in marked.notes
    assert gone.path.exists()  # never deleted
    assert backlog.sync(pkg).marked_removed == []  # marked once

    (pkg / "docs/postmortem-template.md").write_text("back\n")
    assert [t.id for t in backlog.sync(pkg).unmarked] == [gone.id]
    assert policy.REMOVED_LABEL not in backlog.parse(gone.path.read_text(encoding="utf-8")).labels


def test_ids_continue_past_archived_and_completed(default_package, tmp_path):
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    tasks = sorted((t for t in load(pkg) if t.parent_task_id is None), key=lambda t: int(t.id.split("-")[1]))
    top = tasks[-1]
    (pkg / "backlog/archive/tasks").mkdir(parents=True, exist_ok=True)
    top.path.rename(pkg / "backlog/archive/tasks" / top.path.name)
    done = backlog.Task(id=f"TASK-{int(top.id.split('-')[1]) + 5}", title="Done elsewhere", status="Done",
                        created_date="2025-01-01 00:00")
    (pkg / "backlog/completed").mkdir(parents=True, exist_ok=True)
    (pkg / "backlog/completed" / done.file_name()).write_text(backlog.render(done))
    victim = tasks[-2]  # a parent task: filed again as a new top-level task
    victim.path.unlink()
    report = backlog.sync(pkg)
    assert [(t.id, t.references) for t in report.created] == [
        (f"TASK-{int(top.id.split('-')[1]) + 6}", victim.references)]
    assert not (pkg / "backlog/.locks").exists()


@pytest.mark.fast
def test_lock_blocks_and_stale_lock_is_taken(tmp_path):
    config = backlog.init_project(tmp_path, "p")
    with backlog.create_lock(tmp_path, config) as held:
        assert held == tmp_path / "backlog/.locks/create" and held.is_dir()
        with pytest.raises(backlog.BacklogError, match="locked"):
            with backlog.create_lock(tmp_path, config, timeout=0.3):
                pass
        old = time.time() - backlog.LOCK_STALE_S - 5
        os.utime(held, (old, old))  # a crashed holder: proper-lockfile treats it as stale
        with backlog.create_lock(tmp_path, config, timeout=0.3):
            pass
    assert not (tmp_path / "backlog/.locks").exists()


def test_existing_project_settings_are_respected(default_package, tmp_path):
    exe = require_tool("backlog")
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    shutil.rmtree(pkg / "backlog")
    subprocess.run([exe, "init", "ops", "--defaults", "--integration-mode", "none", "--no-git", "--task-prefix", "ops",
                    "--zero-padded-ids", "3"], cwd=pkg, check=True, capture_output=True)
    cfg = pkg / "backlog/config.yml"
    cfg.write_text(cfg.read_text().replace('statuses: ["To Do", "In Progress", "Done"]',
                                           'statuses: ["Triage", "To Do", "Done"]')
                   .replace('default_status: "To Do"', 'default_status: "Triage"'))
    report = backlog.sync(pkg)
    assert report.created and all(t.id.startswith("OPS-") and len(t.id.split(".")[0]) == 7 for t in report.created)
    assert all(t.status == "Triage" for t in report.created)
    assert report.created[0].path.name.startswith("ops-001 - ")
    assert BacklogTasks().run(Package.load(pkg)) == []


@pytest.mark.parametrize("damage", ["task", "config"])
def test_corrupt_backlog_is_one_clear_error_and_package_intact(default_package, tmp_path, damage):
    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    if damage == "task":
        victim = load(pkg)[0].path
        victim.write_text("---\nid: [unclosed\ntitle: x\n---\n")
        name = victim.name
    else:
        (pkg / "backlog/config.yml").write_text("statuses: {a: [\n")
        name = "config.yml"
    digest = tree_digest(pkg)
    proc = hook(pkg)
    lines = proc.stderr.strip().splitlines()
    if damage == "task":
        # One unreadable task never stops the hook: it is named, left alone, and its
        # artifact (known from its file name) is not filed twice.
        assert proc.returncode == 0, proc.stderr
        assert any("skipped" in line and name in line for line in lines), lines
        assert "filed 0 task(s)" in lines[-1]
    else:
        assert proc.returncode == 1
        assert len(lines) == 1 and "error" in lines[0] and name in lines[0]
    assert tree_digest(pkg) == digest


def test_recopy_keeps_the_task_count(default_package, tmp_path):
    import copier

    pkg = mutable_copy(default_package, tmp_path, "payments-api")
    git(pkg, "init", "-q", "-b", "main")
    commit_all(pkg)
    before = task_files(pkg)
    copier.run_recopy(str(pkg), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v1.0.0")
    assert task_files(pkg) == before


# A template version that adds an artifact adds it to the task policy with one table entry.
ONCALL_UNIT = ('\nUNITS.append(Unit(("ON-CALL.md",), "oncall", "On-call handbook", "oncall", lambda m, u: [\n'
               '    f"The on-call handbook names {m.team}\'s rotation and its hand-over checklist",\n]))\n')
DAY1, DAY5 = 1_767_268_800, 1_767_268_800 + 4 * 86_400  # 2026-01-01 12:00 UTC and four days later


def faked_day(monkeypatch, epoch: int):
    """SOURCE_DATE_EPOCH for the hook: Copier runs tasks with plumbum's copy of the environment."""
    from plumbum import local

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    return local.env(SOURCE_DATE_EPOCH=str(epoch))


def test_update_adding_one_artifact_adds_one_task(template_repo, tmp_path, monkeypatch):
    """Template v1.1.0 adds one file and its UNITS entry; copier update (four days
    after the copy) files exactly one new subtask, dated the day of the update,
    under the on-call parent. The first plan keeps its first-generation date, and an
    edited task (status, checked criterion, notes) stays as the user left it."""
    import copier

    exe = require_tool("backlog")
    tpl = mutable_copy(template_repo, tmp_path, "tpl")
    pkg = tmp_path / "payments-api"
    with faked_day(monkeypatch, DAY1):
        copier.run_copy(str(tpl), str(pkg), defaults=True, unsafe=True, quiet=True, vcs_ref="v1.0.0")
    assert {t.created_date for t in load(pkg)} == {"2026-01-01 12:00"}  # the day of the copy, not the tag's
    (tpl / "blueprints/package/ON-CALL.md").write_text("# On-call\n")
    with (tpl / "scaffold/artifacts/tasks.py").open("a") as fh:
        fh.write(ONCALL_UNIT)
    commit_all(tpl, "one more artifact")
    git(tpl, "tag", "v1.1.0")

    git(pkg, "init", "-q", "-b", "main")
    hpa = next(t for t in load(pkg) if t.references == ["k8s/base/hpa.yaml"])
    subprocess.run([exe, "task", "edit", hpa.id, "-s", "In Progress", "--check-ac", "1", "--append-notes",
                    "load test booked"], cwd=pkg, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
    commit_all(pkg)
    before = task_files(pkg)
    edited = hpa.path.read_bytes()
    oncall = next(t for t in load(pkg) if t.references == [policy.parent_key("oncall")])
    subs = [t for t in load(pkg) if t.parent_task_id == oncall.id]

    with faked_day(monkeypatch, DAY5):
        copier.run_update(str(pkg), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v1.1.0")
    after = task_files(pkg)
    added = sorted(set(after) - set(before))
    assert len(added) == 1, added
    new = backlog.parse(after[added[0]].decode(), pkg / added[0])
    assert new.references == ["ON-CALL.md"] and new.parent_task_id == oncall.id
    assert new.id == f"{oncall.id}.{len(subs) + 1}" and new.milestone == oncall.milestone
    assert new.created_date == "2026-01-05 12:00"
    assert hpa.path.read_bytes() == edited
    assert {k: v for k, v in after.items() if k in before} == before  # the first plan keeps its date
    leftovers = [p for p in pkg.rglob("*") if p.suffix == ".rej" or p.name.endswith(".orig")]
    assert leftovers == []
    assert not [p for p in (pkg / "backlog").rglob("*.md") if "<<<<<<<" in p.read_text()]


def test_update_scratch_renders_file_nothing(tmp_path):
    scratch = tmp_path / "copier._main.old_copy.k2j3" / "payments-api"
    scratch.mkdir(parents=True)
    assert backlog.in_update_scratch(scratch) and not backlog.in_update_scratch(tmp_path)
    assert backlog.run_hook(scratch) == 0 and not (scratch / "backlog").exists()
