"""The backlog reads as a plan (issue #22, defect 3): parent tasks with subtasks
per reviewable unit, milestones from the environments, priorities that follow
them, acceptance criteria that never repeat, tasks only for generated files, and
the real `backlog` CLI showing all of it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from scaffold.backlog import backlog
from scaffold.artifacts import tasks as policy
from scaffold.model.package import Package
from scaffold.validate.backlog import BacklogTasks
from tests.helpers import mutable_copy, require_tool
from scaffold.artifacts import alerts

BLUEPRINTS = {"service": {}, "worker": {"blueprint": "worker"}, "cronjob": {"blueprint": "cronjob"}}


def load(root: Path) -> list[backlog.Task]:
    return backlog.load_tasks(root, backlog.load_config(root))


def cli(root: Path, *args: str) -> str:
    exe = require_tool("backlog")
    proc = subprocess.run([exe, *args], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


@pytest.fixture(scope="module", params=list(BLUEPRINTS))
def package(request, render) -> Path:
    return render(**BLUEPRINTS[request.param])


def test_every_generated_file_belongs_to_a_reviewable_unit(package):
    """The class check: a generated file without a UNITS entry would get no task."""
    m = Package.load(package).model
    files = policy.artifacts(package)
    assert policy.unclaimed(m, files) == []
    units = policy.units(m, files)
    assert len({f for u in units for f in u.files}) == sum(len(u.files) for u in units)  # one unit per file
    # One Terraform root per environment, not one task per .tf file.
    roots = [u.key for u in units if u.unit.paths[0] == "terraform/environments/{env}/"]
    assert roots == [f"terraform/environments/{e.name}" for e in m.environments]
    assert all(t.references[0] not in {f for u in units for f in u.files if f != u.key} for t in load(package))


def test_no_acceptance_criterion_repeats(package):
    tasks = load(package)
    counts = Counter(c for t in tasks for _, c in t.criteria)
    assert [c for c, n in counts.items() if n > 1] == []
    assert sum(1 for c in counts if "locking and versioning" in c) == 1  # the state backend, once
    assert all(t.criteria for t in tasks)


def test_parents_subtasks_and_dependencies(package):
    tasks = load(package)
    by_id = {t.id: t for t in tasks}
    m = Package.load(package).model
    parents = [t for t in tasks if t.parent_task_id is None]
    specs = policy.plan(m, policy.artifacts(package), package)
    assert [t.references for t in parents] == [[policy.parent_key(p.key)] for p in policy.PARENTS
                                               if any(s.parent == policy.parent_key(p.key) for s in specs)]
    assert 5 <= len(parents) <= 10
    titles = {t.title for t in parents}
    assert {f"Set up CI/CD for {m.name}", "Kubernetes deployment configuration", "Observability stack",
            "SLOs and alerting"} <= titles
    for t in tasks:
        if t.parent_task_id:
            assert t.id.startswith(t.parent_task_id + ".") and t.parent_task_id in by_id
        assert all(d in by_id for d in t.dependencies)
    by_ref = {t.references[0]: t for t in tasks}
    cd, ci = by_ref[".github/workflows/cd.yml"], by_ref[".github/workflows/ci.yml"]
    assert ci.id in cd.dependencies and ci.parent_task_id == cd.parent_task_id
    routing = by_ref["observability/alertmanager"]
    for alert in alerts.alerts(m):  # every runbook task under on-call, after the rules and the routing
        rb = by_ref[policy.runbook_path(alert.name)]
        assert by_id[rb.parent_task_id].references == [policy.parent_key("oncall")]
        assert {routing.id, by_ref["observability/prometheus"].id} <= set(rb.dependencies)
    env1 = m.environments[1].name
    gitops_env1 = next(t for t in tasks if t.title.startswith(f"GitOps application: {env1}"))
    assert by_ref[f"k8s/overlays/{env1}"].id in gitops_env1.dependencies
    assert by_ref[policy.parent_key("k8s")].id in by_ref[policy.parent_key("observability")].dependencies


def test_milestones_and_priorities_follow_the_environments(package):
    m = Package.load(package).model
    stones = {ms.id: ms.title for ms in backlog.load_milestones(package)}
    envs = [e.name for e in m.environments]
    assert list(stones.values()) == [f"{e} live" for e in envs[:-1]] + [f"{envs[-1]} ready", "on-call ready"]
    priority = {ms.title: ms.priority for ms in policy.milestones(m)}
    tasks = load(package)
    for t in tasks:
        title = stones[t.milestone]
        assert t.priority == priority[title] or ("ticket" in t.labels and t.priority == "low"), (t.title, title)
    high = [t for t in tasks if t.priority == "high"]
    assert high and all(stones[t.milestone] == f"{envs[0]} live" for t in high)
    assert len(high) < len(tasks) / 3
    by_ref = {t.references[0]: t for t in tasks}
    assert stones[by_ref[f"k8s/overlays/{envs[-1]}"].milestone] == f"{envs[-1]} ready"
    assert stones[by_ref[policy.parent_key("oncall")].milestone] == "on-call ready"


def test_real_cli_shows_parents_subtasks_and_milestones(default_package, tmp_path):
    pkg = tmp_path / "pkg"
    shutil.copytree(default_package / "backlog", pkg / "backlog")
    tasks = {t.id: t for t in load(default_package)}
    listed = cli(pkg, "task", "list", "--plain")
    ids = re.findall(r"^\s+(?:\[[A-Z]+\]\s+)?(TASK-[\d.]+) - ", listed, re.M)
    assert sorted(ids) == sorted(tasks)
    data = json.loads(cli(pkg, "task", "list", "--json"))["tasks"]
    assert {(t["id"], t["parentTaskId"], t["milestone"]) for t in data} == {
        (t.id, t.parent_task_id, t.milestone) for t in tasks.values()}

    stones = cli(pkg, "milestone", "list", "--plain")
    shown = re.findall(r"^\s+(m-\d+): (.*?) \((\d+)/(\d+) done\)", stones, re.M)
    assert [s[1] for s in shown] == ["dev live", "staging live", "prod ready", "on-call ready"]
    for ms_id, _, done, total in shown:
        assert int(done) == 0 and int(total) == sum(t.milestone == ms_id for t in tasks.values()) > 0

    cli(pkg, "board", "export", "board.md", "--force")
    board = (pkg / "board.md").read_text()
    tops = re.findall(r"^\| \*\*(TASK-\d+)\*\* - ", board, re.M)
    subs = re.findall(r"^\| └─ \*\*(TASK-\d+\.\d+)\*\* - ", board, re.M)
    assert sorted(tops) == sorted(t.id for t in tasks.values() if not t.parent_task_id)
    assert sorted(subs) == sorted(t.id for t in tasks.values() if t.parent_task_id)


def _fresh(default_package: Path, tmp_path: Path, **answers: str) -> Path:
    """A copy of the default package without its backlog, answers changed."""
    pkg = mutable_copy(default_package, tmp_path, default_package.name)
    shutil.rmtree(pkg / "backlog")
    text = (pkg / ".copier-answers.yml").read_text()
    for key, value in answers.items():
        text = re.sub(rf"^{key}: .*$", f"{key}: {value}", text, flags=re.M) if re.search(rf"^{key}:", text, re.M) \
            else text + f"{key}: {value}\n"
    (pkg / ".copier-answers.yml").write_text(text)
    return pkg


def test_assignee_comes_from_the_answers(default_package, tmp_path):
    pkg = _fresh(default_package, tmp_path, backlog_assignee="'@alice'")
    report = backlog.sync(pkg)
    assert report.created and {tuple(t.assignee) for t in report.created} == {("@alice",)}


def test_team_files_get_no_task_and_team_alert_task_is_not_generated(default_package, tmp_path):
    """The team's own files are never filed; its own alert gets a runbook task under
    on-call that does not claim to be generated."""
    require_tool("backlog")
    pkg = mutable_copy(default_package, tmp_path, default_package.name)
    (pkg / "NOTES.md").write_text("ours\n")
    (pkg / "k8s/base/redis.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: redis}\n")
    (pkg / "terraform/environments/dev/extra.tf").write_text("# ours\n")
    rules = next((pkg / "observability/prometheus").glob("*.rules.yaml"))
    rules.write_text(rules.read_text() + "- name: team\n  rules:\n  - alert: LedgerLagHigh\n"
                     "    expr: vector(1)\n    labels: {severity: warning}\n")
    (pkg / "runbooks/LedgerLagHigh.md").write_text("# LedgerLagHigh\n")
    report = backlog.sync(pkg)
    assert [t.title for t in report.created] == ["Runbook: LedgerLagHigh response"]
    (task,) = report.created
    oncall = next(t for t in load(pkg) if t.references == [policy.parent_key("oncall")])
    assert task.parent_task_id == oncall.id and task.references == ["runbooks/LedgerLagHigh.md"]
    text = task.path.read_text()
    assert "Generated by" not in text and "scaffold template" not in text and "own alert" in text
    assert policy.GENERATED_LABEL not in task.labels  # the hook never marks it removed
    assert backlog.sync(pkg).created == []
    named = {r for t in load(pkg) for r in t.references}
    assert not {"NOTES.md", "k8s/base/redis.yaml", "terraform/environments/dev/extra.tf"} & named
    assert BacklogTasks().run(Package.load(pkg)) == []


def test_task_list_dry_run_matches_the_plan(default_package):
    """Filing is a pure function of the answers and the files: a dry run on the
    generated package files nothing, and the plan's titles are the tasks'."""
    m = Package.load(default_package).model
    specs = policy.plan(m, policy.artifacts(default_package), default_package)
    assert backlog.sync(default_package, dry_run=True).created == []
    assert [s.title for s in specs] == [t.title for t in sorted(load(default_package), key=lambda t: t.ordinal)]


def test_plan_covers_flux(render):
    """Pure policy on a render other tests share (Flux's gitops files): every file in
    a unit, no criterion twice."""
    pkg = render(gitops="flux", skip_tasks=True)
    m = Package.load(pkg).model
    files = policy.artifacts(pkg)
    assert policy.unclaimed(m, files) == []
    counts = Counter(policy.all_criteria(policy.plan(m, files, pkg)))
    assert [c for c, n in counts.items() if n > 1] == []


def test_per_file_tasks_of_the_older_plan_cover_their_unit(default_package, tmp_path):
    pkg = mutable_copy(default_package, tmp_path, default_package.name)
    root_task = next(t for t in load(pkg) if t.references == ["terraform/environments/dev"])
    root_task.path.unlink()
    for n, rel in enumerate(("terraform/environments/dev/main.tf", "terraform/environments/dev/versions.tf"), 500):
        old = backlog.Task(id=f"TASK-{n}", title=f"Terraform: {rel}", status="To Do", created_date="2025-01-01 00:00",
                           labels=["terraform", "scaffold"], references=[rel], priority="high",
                           criteria=[(False, f"reviewed {rel}")])
        (pkg / "backlog/tasks" / old.file_name()).write_text(backlog.render(old))
    report = backlog.sync(pkg)
    assert (report.created, report.marked_removed) == ([], [])
    assert BacklogTasks().run(Package.load(pkg)) == []
