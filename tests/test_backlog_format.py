"""Our Backlog.md writer against the real CLI: the same task created both ways
must parse the same and, except for the clock-derived created_date, be byte-identical."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scaffold.backlog import backlog
from tests.helpers import require_tool

TITLES = ["Runbook: HighLatency response", "key:value and scaffold:plan/x", "Kubernetes: k8s/base/hpa.yaml", "it's a # test", "yes", "10",
          "[x] bracket (paren) & co"]


def cli(exe: str, cwd: Path, *args: str) -> str:
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(cwd)})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    exe = require_tool("backlog")
    root = tmp_path_factory.mktemp("cli") / "payments-api"
    root.mkdir()
    cli(exe, root, "init", "payments-api", "--defaults", "--integration-mode", "none", "--no-git")
    return exe, root


def test_init_writes_what_backlog_init_writes(cli_project, tmp_path):
    _, root = cli_project
    backlog.init_project(tmp_path, "payments-api")
    assert (tmp_path / "backlog/config.yml").read_bytes() == (root / "backlog/config.yml").read_bytes()
    ours = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "backlog").rglob("*") if p.is_dir())
    theirs = sorted(p.relative_to(root).as_posix() for p in (root / "backlog").rglob("*")
                    if p.is_dir() and ".locks" not in p.parts)
    assert ours == theirs


@pytest.mark.parametrize("title", TITLES)
def test_same_task_both_ways(cli_project, tmp_path, title):
    exe, root = cli_project
    before = set((root / "backlog/tasks").glob("*.md"))
    desc = "Bring it into service.\n\nArtifact: `k8s/base/hpa.yaml`: with a colon"
    criteria = ["a load test shows scale-out before p95 latency passes the SLO threshold (300 ms)",
                "second: with #2 and 'quotes'"]
    cli(exe, root, "task", "create", title, "-d", desc, "-a", "@sre-agent", "-l", "kubernetes,scaffold",
        "--priority", "high", "--ac", criteria[0], "--ac", criteria[1], "--ref", "k8s/base/hpa.yaml",
        "--ordinal", "7000", "--plain")
    (created,) = set((root / "backlog/tasks").glob("*.md")) - before
    theirs = backlog.parse(created.read_text(encoding="utf-8"), created)

    config = backlog.load_config(root)
    mine = backlog.Task(id=theirs.id, title=title, status=config.default_status, assignee=["@sre-agent"],
                        created_date=theirs.created_date, labels=["kubernetes", "scaffold"],
                        references=["k8s/base/hpa.yaml"], priority="high", ordinal=7000, description=desc,
                        criteria=[(False, c) for c in criteria])
    text = backlog.render(mine)
    parsed = backlog.parse(text)
    assert parsed.meta == theirs.meta
    assert (parsed.description, parsed.criteria, parsed.notes) == (theirs.description, theirs.criteria, theirs.notes)
    assert mine.file_name() == created.name
    assert text == created.read_text(encoding="utf-8")


def test_cli_reads_what_we_write(cli_project, tmp_path):
    """A task written by us, then edited by the CLI, keeps its sections; the CLI shows them."""
    exe, _ = cli_project
    root = tmp_path / "p"
    config = backlog.init_project(root, "p")
    task = backlog.Task(id=config.format_id(1), title="Runbook: TargetDown response", status="To Do",
                        assignee=["@sre-agent"], created_date="2025-01-02 03:04", labels=["runbook"],
                        references=["runbooks/TargetDown.md"], priority="high", ordinal=1000,
                        description="Artifact: `runbooks/TargetDown.md`",
                        criteria=[(False, "Triage steps confirm the alert"), (False, "Escalation path named")])
    path = root / "backlog/tasks" / task.file_name()
    path.write_text(backlog.render(task), encoding="utf-8")
    shown = cli(exe, root, "task", "view", "TASK-1", "--plain")
    for needle in ("Runbook: TargetDown response", "Priority: High", "@sre-agent", "runbooks/TargetDown.md",
                   "- [ ] #1 Triage steps confirm the alert", "- [ ] #2 Escalation path named"):
        assert needle in shown
    cli(exe, root, "task", "edit", "1", "--check-ac", "2", "-s", "In Progress", "--append-notes", "rehearsed")
    edited = backlog.parse(path.read_text(encoding="utf-8"), path)
    assert edited.criteria == [(False, "Triage steps confirm the alert"), (True, "Escalation path named")]
    assert edited.status == "In Progress" and edited.notes == "rehearsed"
    assert edited.description == task.description


@pytest.mark.fast
def test_amend_keeps_everything_else():
    task = backlog.Task(id="TASK-3", title="Docs: README.md", status="Done", assignee=["@me"],
                        created_date="2025-01-02 03:04", labels=["docs", "scaffold"], references=["README.md"],
                        priority="low", ordinal=3000, description="d", criteria=[(True, "c1"), (False, "c2")],
                        notes="mine")
    parsed = backlog.parse(backlog.render(task))
    again = backlog.parse(backlog.amend(parsed, add_labels=("artifact-removed",), append_note="gone"))
    assert again.labels == ["docs", "scaffold", "artifact-removed"]
    assert again.notes == "mine\n\ngone"
    assert (again.status, again.criteria, again.description, again.ordinal) == ("Done", task.criteria, "d", 3000)


@pytest.mark.fast
def test_filename_sanitizing_matches_cli_rules():
    assert backlog.sanitize_filename("Kubernetes: k8s/base/hpa.yaml") == "Kubernetes-k8s-base-hpa.yaml"
    assert backlog.sanitize_filename("x: y") == backlog.sanitize_filename("[x] y") == "x-y"
    assert backlog.sanitize_filename("!!!") == "untitled"


def test_subtask_with_milestone_both_ways(cli_project, tmp_path):
    """`task create --parent --milestone --dep` and `milestone add -d`, against our writer."""
    exe, root = cli_project
    ms_before = set((root / "backlog/milestones").glob("*.md"))
    cli(exe, root, "milestone", "add", "staging live", "-d", "payments-api runs in payments-api-staging.")
    (ms_file,) = set((root / "backlog/milestones").glob("*.md")) - ms_before
    ours = backlog.Milestone(backlog.load_milestones(root)[-1].id, "staging live")
    assert [m.title for m in backlog.load_milestones(root) if m.id == ours.id] == ["staging live"]
    assert backlog.milestone_file_name(ours.id, ours.title) == ms_file.name
    assert backlog.render_milestone(ours, "payments-api runs in payments-api-staging.") == ms_file.read_text()

    before = set((root / "backlog/tasks").glob("*.md"))
    cli(exe, root, "task", "create", "Set up CI/CD for payments-api", "-a", "", "-l", "cicd,scaffold",
        "--priority", "medium", "-m", ours.id, "--ref", "scaffold:plan/cicd", "--ordinal", "1000", "--plain")
    (parent_file,) = set((root / "backlog/tasks").glob("*.md")) - before
    parent = backlog.parse(parent_file.read_text(), parent_file)
    cli(exe, root, "task", "create", "CI workflow (.github/workflows/ci.yml)", "-a", "", "-p", parent.id,
        "-m", ours.id, "--priority", "high", "--ac", "ci.yml runs green", "--ref", ".github/workflows/ci.yml",
        "--ordinal", "2000", "--plain")
    (first,) = set((root / "backlog/tasks").glob("*.md")) - before - {parent_file}
    cli(exe, root, "task", "create", "CD workflow (.github/workflows/cd.yml)", "-a", "", "-p", parent.id,
        "-m", ours.id, "--dep", f"{parent.id}.1", "--priority", "high", "--ref", ".github/workflows/cd.yml",
        "--ordinal", "3000", "--plain")
    (second,) = set((root / "backlog/tasks").glob("*.md")) - before - {parent_file, first}
    mine = [
        backlog.Task(id=parent.id, title="Set up CI/CD for payments-api", status="To Do", created_date=parent.created_date,
                     labels=["cicd", "scaffold"], milestone=ours.id, references=["scaffold:plan/cicd"],
                     priority="medium", ordinal=1000),
        backlog.Task(id=f"{parent.id}.1", title="CI workflow (.github/workflows/ci.yml)", status="To Do",
                     created_date=backlog.parse(first.read_text()).created_date, milestone=ours.id,
                     references=[".github/workflows/ci.yml"], parent_task_id=parent.id, priority="high",
                     ordinal=2000, criteria=[(False, "ci.yml runs green")]),
        backlog.Task(id=f"{parent.id}.2", title="CD workflow (.github/workflows/cd.yml)", status="To Do",
                     created_date=backlog.parse(second.read_text()).created_date, milestone=ours.id,
                     dependencies=[f"{parent.id}.1"], references=[".github/workflows/cd.yml"],
                     parent_task_id=parent.id, priority="high", ordinal=3000),
    ]
    for task, theirs in zip(mine, (parent_file, first, second)):
        assert task.file_name() == theirs.name
        assert backlog.render(task) == theirs.read_text(encoding="utf-8")
        again = backlog.parse(backlog.render(task))
        assert (again.milestone, again.parent_task_id) == (task.milestone, task.parent_task_id)
