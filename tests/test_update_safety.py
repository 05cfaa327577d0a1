"""Issue 15: `copier update` loses no one's work.

One v2 template (from the v1 snapshot) stops generating two files: one the team
edited (docs/capacity.md) and one it did not (resilience/README.md). The project
also carries a hand-written task the backlog CLI cannot read, a file the team
deleted, ignored build output and a task the team archived with the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import copier
import pytest

from tests.helpers import generate_project, git, mutable_copy, require_tool, trust_source
from scaffold.backlog import backlog
from scaffold.fleet import keep, lifecycle
from scaffold import yamlio
from scaffold.artifacts import tasks as policy
from scaffold.model.package import Package
from scaffold.validate.backlog import BacklogTasks

EDITED_GONE, UNEDITED_GONE = "docs/capacity.md", "resilience/README.md"
TEAM_DELETED = "docs/postmortem-template.md"
TEAM_LINE = "## Our numbers\nPeak 2025: 1,900 req/s on 6 pods (payments team).\n"
BAD_TASK = "Rotate PSP key: before Q3 audit"


@pytest.fixture(scope="module")
def template_v2(template_repo: Path, tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("tpl-safety") / "scaffold"
    trust_source(repo)
    subprocess.run(["git", "clone", "-q", str(template_repo), str(repo)], check=True)
    (repo / "blueprints/package/docs/capacity.md.jinja").unlink()
    (repo / "blueprints/package/resilience/README.md.jinja").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2: capacity and resilience README move to the handbook")
    git(repo, "tag", "v2.0.0")
    return repo


def _update(dest: Path, **kw) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True, conflict="inline",
                          skip_answered=True, **kw)


def _hand_task(dest: Path) -> Path:
    path = dest / "backlog/tasks" / f"task-900 - {backlog.sanitize_filename(BAD_TASK)}.md"
    path.write_text(f"---\nid: TASK-900\ntitle: {BAD_TASK}\nstatus: To Do\nassignee: []\nlabels: []\n"
                    "dependencies: []\n---\n\nRotate before the audit.\n")
    return path


@pytest.fixture(scope="module")
def updated(template_v2: Path, tmp_path_factory) -> dict:
    exe = require_tool("backlog")
    dest = generate_project(template_v2, tmp_path_factory.mktemp("safety") / "payments-api")
    with (dest / EDITED_GONE).open("a") as f:
        f.write(TEAM_LINE)
    (dest / TEAM_DELETED).unlink()
    bad = _hand_task(dest)
    (dest / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    archived = next(t for t in backlog.load_tasks(dest, backlog.load_config(dest), []) if "k8s/base/pdb.yaml" in t.references)
    subprocess.run([exe, "task", "archive", archived.id.split("-")[1]], cwd=dest, check=True, capture_output=True)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "team: capacity numbers, no postmortem template, PSP task")
    (dest / "app/__pycache__").mkdir(parents=True, exist_ok=True)
    (dest / "app/__pycache__/main.cpython-311.pyc").write_bytes(b"\0pyc")
    before = {p.name: p.read_bytes() for p in (dest / "backlog").rglob("*.md")}
    proc = subprocess.run([sys.executable, "-c", (
        "import warnings, copier; warnings.simplefilter('ignore'); "
        "copier.run_update('.', defaults=True, overwrite=True, unsafe=True, quiet=True, conflict='inline', "
        "skip_answered=True, vcs_ref='v2.0.0')")], cwd=dest, capture_output=True, text=True)
    return {"dest": dest, "proc": proc, "bad": bad, "before": before, "archived": archived.path.name}


def test_an_unreadable_hand_written_task_never_breaks_the_update(updated):
    dest, proc = updated["dest"], updated["proc"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert yamlio.load_file(dest / ".copier-answers.yml")["_commit"] == "v2.0.0"
    assert updated["bad"].read_bytes() == updated["before"][updated["bad"].name]  # left alone
    assert any("skipped" in line and updated["bad"].name in line for line in proc.stderr.splitlines()), proc.stderr


def test_an_edited_file_the_update_deletes_is_kept_and_reported(updated):
    dest = updated["dest"]
    assert not (dest / EDITED_GONE).exists()  # the template's intent holds...
    kept = dest / (EDITED_GONE + policy.KEPT_SUFFIX)
    assert kept.read_text().endswith(TEAM_LINE)  # ...and the team's version is kept
    assert kept.read_bytes() == git(dest, "show", f"HEAD:{EDITED_GONE}").encode()
    assert f"kept {EDITED_GONE}{policy.KEPT_SUFFIX}" in updated["proc"].stderr
    # An unedited file that stops being generated simply goes.
    assert not (dest / UNEDITED_GONE).exists() and not (dest / (UNEDITED_GONE + policy.KEPT_SUFFIX)).exists()
    assert keep.kept_files(dest) == [EDITED_GONE + policy.KEPT_SUFFIX]


def test_removals_are_marked_in_the_same_update_and_archived_tasks_stay_untouched(updated):
    dest = updated["dest"]
    config = backlog.load_config(dest)
    by_key = {policy.task_key(t.references): t for t in backlog.load_tasks(dest, config, [])}
    # resilience/README.md was the whole resilience/ unit (the rest have units of their own).
    for key in (EDITED_GONE, UNEDITED_GONE.rsplit("/", 1)[0], TEAM_DELETED):
        assert policy.REMOVED_LABEL in by_key[key].labels, key
    assert f"{EDITED_GONE}{policy.KEPT_SUFFIX}" in by_key[EDITED_GONE].notes  # the task says where the edit is
    archived = dest / "backlog/archive/tasks" / updated["archived"]
    assert archived.read_bytes() == updated["before"][updated["archived"]]


def test_ignored_files_never_become_tasks_and_validate_passes(updated):
    dest = updated["dest"]
    refs = {r for t in backlog.load_tasks(dest, backlog.load_config(dest), []) for r in t.references}
    assert not any("__pycache__" in r or r.endswith(policy.KEPT_SUFFIX) for r in refs)
    findings = BacklogTasks().run(Package.load(dest))
    # The unreadable hand-written task is the one finding: the real CLI cannot list it either.
    assert [f.file for f in findings] == [f"backlog/tasks/{updated['bad'].name}"], findings


def test_check_reports_kept_files(updated):
    dest = updated["dest"]
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "update to v2")
    report = lifecycle.check(dest)
    assert report.kept == [EDITED_GONE + policy.KEPT_SUFFIX]
    assert not report.clean
    assert all(d.path != EDITED_GONE + policy.KEPT_SUFFIX for d in report.drift)


def test_artifacts_follow_git_outside_a_repository(tmp_path):
    (tmp_path / "app/__pycache__").mkdir(parents=True)
    (tmp_path / "app/main.py").write_text("print()\n")
    (tmp_path / "app/__pycache__/main.pyc").write_bytes(b"\0")
    (tmp_path / "node_modules/x").mkdir(parents=True)
    (tmp_path / "node_modules/x/index.js").write_text("\n")
    (tmp_path / ".gitignore").write_text("__pycache__/\nnode_modules/\n")
    (tmp_path / ".git").write_text("gitdir: ../.git/worktrees/svc\n")  # a worktree's .git file
    assert policy.artifacts(tmp_path) == [".gitignore", "app/main.py"]


def test_demoted_task_is_not_filed_again(render, tmp_path):

    exe = require_tool("backlog")
    pkg = mutable_copy(render(), tmp_path)
    task = next(t for t in backlog.load_tasks(pkg, backlog.load_config(pkg)) if "k8s/base/pdb.yaml" in t.references)
    subprocess.run([exe, "task", "demote", task.id.split("-")[1]], cwd=pkg, check=True, capture_output=True)
    assert not task.path.exists() and list((pkg / "backlog/drafts").glob("draft-*.md"))
    report = backlog.sync(pkg)
    assert report.created == []
    assert BacklogTasks().run(Package.load(pkg)) == []


def test_retitled_runbook_task_and_backlog_false_never_fail_validate(render, tmp_path):

    pkg = mutable_copy(render(), tmp_path)
    tasks = backlog.load_tasks(pkg, backlog.load_config(pkg))
    runbook = next(t for t in tasks if t.title.startswith("Runbook: "))
    text = runbook.path.read_text()
    runbook.path.write_text(text.replace(f"title: '{runbook.title}'", "title: 'Page response: triage first'", 1)
                            .replace(f"title: {runbook.title}\n", "title: 'Page response: triage first'\n", 1))
    assert backlog.parse(runbook.path.read_text()).title == "Page response: triage first"
    assert BacklogTasks().run(Package.load(pkg)) == []
    # backlog: false turns the hook off; the backlog left behind is not enforced.
    (pkg / "NOTES.md").write_text("a file of the team's own: no task needed\n")
    assert BacklogTasks().run(Package.load(pkg)) == []
    next(t for t in tasks if t.references == ["README.md"]).path.unlink()
    assert [f.file for f in BacklogTasks().run(Package.load(pkg))] == ["README.md"]
    answers = pkg / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("backlog: true", "backlog: false"))
    assert not BacklogTasks().applies(Package.load(pkg))


def test_check_on_a_bad_recorded_answer_is_one_line(render, tmp_path):

    from typer.testing import CliRunner

    from scaffold.cli import app

    pkg = mutable_copy(render(skip_tasks=True), tmp_path)
    answers = pkg / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("port: 8080", "port: 80"))
    result = CliRunner().invoke(app, ["check", str(pkg)])
    assert result.exit_code == 2
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "port" in err[0] and "1024" in err[0], result.stderr
    assert "Traceback" not in result.output


def test_update_report_lists_kept_files_for_a_pull_request(updated):
    from typer.testing import CliRunner

    from scaffold.cli import app

    dest = updated["dest"]
    result = CliRunner().invoke(app, ["update-report", str(dest), "--base", "HEAD~1", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout) == {"conflicts": [], "kept": [EDITED_GONE + policy.KEPT_SUFFIX]}
    md = CliRunner().invoke(app, ["update-report", str(dest), "--base", "HEAD~1"]).stdout
    assert f"`{EDITED_GONE}{policy.KEPT_SUFFIX}`" in md


def _prod_hpa_max(dest: Path) -> int:
    from scaffold.model.package import Package as P

    pkg = P.load(dest)
    res = pkg.overlay_build(dest / "k8s/overlays/prod")
    assert res.returncode == 0, res.output
    docs = yamlio.load_all(res.stdout)
    return next(d["spec"]["maxReplicas"] for d in docs if d and d.get("kind") == "HorizontalPodAutoscaler")


def test_a_hand_edited_answer_takes_effect_on_update(template_v2, tmp_path):
    """Copier's docs tell users to edit .copier-answers.yml; Copier's own update then
    renders the *old* version with the edited value too, so the replayed diff undoes
    it. `scaffold update` (and fleet) render the old version with the answers it was
    really rendered with (the last answers file whose digest line matches)."""
    from typer.testing import CliRunner

    from scaffold.cli import app

    require_tool("kubectl")
    dest = generate_project(template_v2, tmp_path / "payments-api")
    assert _prod_hpa_max(dest) == 10
    answers = dest / ".copier-answers.yml"
    text = answers.read_text()
    # An advanced answer left at its default is not recorded (advanced: false): add it, as Copier's docs say.
    text = text.replace("replicas_max: 10", "replicas_max: 20") if "replicas_max: 10" in text else \
        text.replace("\n_src_path:", "\nreplicas_max: 20\n_src_path:", 1)
    assert "replicas_max: 20" in text
    answers.write_text(text)
    git(dest, "commit", "-qam", "team: allow 20 replicas")
    assert lifecycle.hand_edited(dest) in ({"replicas_max": (10, 20)}, {"replicas_max": (None, 20)})  # None: unrecorded default
    # The defect: plain copier update keeps the old HPA (the edit replays as a local change).
    plain = tmp_path / "plain"
    subprocess.run(["git", "clone", "-q", str(dest), str(plain)], check=True)
    _update(plain, vcs_ref="v2.0.0")
    assert _prod_hpa_max(plain) == 10
    result = CliRunner().invoke(app, ["update", str(dest), "--vcs-ref", "v2.0.0"])
    assert result.exit_code == 0, result.output
    assert _prod_hpa_max(dest) == 20
    assert yamlio.load_file(answers)["replicas_max"] == 20
    assert lifecycle.hand_edited(dest) == {}


def _overlay_hpa(pkg: Path, env: str) -> tuple[int, int, int]:
    res = Package.load(pkg).overlay_build(pkg / f"k8s/overlays/{env}")
    assert res.returncode == 0, res.output
    docs = yamlio.load_all(res.stdout)
    hpa = next(d for d in docs if d and d.get("kind") == "HorizontalPodAutoscaler")["spec"]
    quota = next(d for d in docs if d and d.get("kind") == "ResourceQuota")["spec"]["hard"]
    return hpa["minReplicas"], hpa["maxReplicas"], int(quota["pods"])


def test_a_per_environment_hpa_override_is_an_edit_not_an_error(render, tmp_path):

    from scaffold.validate.kubernetes import KustomizeOverlays

    require_tool("kubectl")
    pkg = mutable_copy(render(skip_tasks=True), tmp_path)
    kust = pkg / "k8s/overlays/prod/kustomization.yaml"
    text = kust.read_text()
    bound = "path: /spec/maxReplicas\n        value: 10\n"
    assert text.count(bound) == 1
    kust.write_text(text.replace(bound, bound.replace("10", "15")))
    assert _overlay_hpa(pkg, "prod")[:2] == (2, 15)
    assert KustomizeOverlays().run(Package.load(pkg)) == []
    # An override the namespace quota cannot hold is still an error, named as such (the quota:
    # 2 × the HPA's 10 for surge headroom, plus the collector gateway's 2 pods).
    kust.write_text(text.replace(bound, bound.replace("10", "30")))
    findings = KustomizeOverlays().run(Package.load(pkg))
    assert [f.message for f in findings] == [
        "HorizontalPodAutoscaler/payments-api: maxReplicas 30 exceeds the ResourceQuota's 22 pods; raise both "
        "(environment_replicas sizes the quota for you)"], findings


def test_environment_replicas_answer_sets_one_environments_bounds(render):
    from scaffold.validate.kubernetes import KustomizeOverlays

    require_tool("kubectl")
    pkg = render(skip_tasks=True, environment_replicas={"prod": {"min": 3, "max": 30}})
    lo, hi, pods = _overlay_hpa(pkg, "prod")
    assert (lo, hi) == (3, 30) and pods >= 30
    assert _overlay_hpa(pkg, "dev")[:2] == (2, 10)
    assert KustomizeOverlays().run(Package.load(pkg)) == []


@pytest.mark.parametrize("value, words", [
    ({"qa": {"max": 5}}, "'qa' is not one of the environments"),
    ({"prod": {"min": 1}}, "prod is production: min must be at least 2"),
    ({"dev": {"min": 5, "max": 3}}, "dev: min 5 > max 3"),
    ({"dev": {"max": 0}}, "dev.max"),
    ({"dev": {"most": 3}}, "dev: got"),
    (["prod"], "must map environment names"),
])
@pytest.mark.fast
def test_environment_replicas_refuses_bad_bounds_in_one_line(value, words):
    from scaffold.answers import rules

    message = rules.check("environment_replicas", value, {"environments": ["dev", "staging", "prod"],
                                                          "replicas_min": 2, "replicas_max": 10})
    assert message.startswith("environment_replicas: ") and words in message and "\n" not in message, message


def test_inside_copier_update_the_tasks_pass_defers_only_to_a_template_that_has_the_after_pass(render, tmp_path):
    import os

    pkg = mutable_copy(render(), tmp_path)
    victim = next((pkg / "backlog/tasks").glob("task-1 - *.md"))
    victim.unlink()
    with_pass, without = tmp_path / "new-tpl", tmp_path / "old-tpl"
    for d, text in ((with_pass, "_migrations:\n  - command: [x, --after-update]\n"), (without, "_tasks: []\n")):
        d.mkdir()
        (d / "copier.yml").write_text(text)
    env = {**os.environ, "COPIER_OPERATION": "update"}
    run = [sys.executable, "-m", "scaffold.hook", "."]
    deferred = subprocess.run([*run, str(with_pass)], cwd=pkg, capture_output=True, text=True, env=env)
    assert deferred.returncode == 0 and "deferred" in deferred.stderr and not victim.exists()
    filed = subprocess.run([*run, str(without)], cwd=pkg, capture_output=True, text=True, env=env)
    assert filed.returncode == 0 and "filed 1 task(s)" in filed.stderr, filed.stderr
    # A broken backlog inside an update is reported, never an exit 1 that aborts Copier half-way.
    (pkg / "backlog/config.yml").write_text("statuses: {a: [\n")
    broken = subprocess.run([*run, str(without)], cwd=pkg, capture_output=True, text=True, env=env)
    assert broken.returncode == 0 and "backlog not synced" in broken.stderr, broken.stderr
