"""`scaffold fleet` over many repositories: every repo reported, dirty ones
skipped, none half-updated, one failure never stops the others.

The fleet case (FLEET services: clean, dirty and broken ones side by side in a
2-process pool) uses a two-file template so the test stays quick; the fleet code
is template-agnostic. Scale (50 services and more) is benchmarks/' job
(`make bench --fleet=N`): more identical copies prove nothing new here. A small fleet of real scaffold packages follows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import copier
import pytest
from typer.testing import CliRunner

from tests.helpers import generate_project, git, trust_source
from scaffold.fleet import fleet
from scaffold.cli import app


def _tiny_template(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "copier.yml").write_text("service_name:\n  type: str\n  default: svc\n")
    (root / "README.md.jinja").write_text("# {{ service_name }}\nversion one\n")
    (root / "{{ _copier_conf.answers_file }}.jinja").write_text("{{ _copier_answers|to_nice_yaml -}}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    git(root, "tag", "v1.0.0")
    (root / "README.md.jinja").write_text("# {{ service_name }}\nversion two\n")
    (root / "CHANGELOG.md.jinja").write_text("v2\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v2")
    git(root, "tag", "v2.0.0")
    trust_source(root)
    return root


FLEET = 12
DIRTY = {"svc-03", "svc-06", "svc-09"}
BROKEN = f"svc-{FLEET - 1:02d}"


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fleet")
    template = _tiny_template(base / "template")
    services = base / "services"
    first = generate_project(template, services / "svc-00", service_name="svc-00")
    for i in range(1, FLEET):  # copies of one generated repo: the fleet work is the updates
        shutil.copytree(first, services / f"svc-{i:02d}", symlinks=True)
    for name in sorted(DIRTY):  # dirty: uncommitted local work that must never be touched
        (services / name / "WIP.md").write_text("half-written\n")
    # A repo whose template source vanished: it must fail alone.
    broken = services / BROKEN
    trust_source(base / "gone")  # trusted, but gone: the failure is the missing source
    answers = (broken / ".copier-answers.yml").read_text().replace(str(template), str(base / "gone"))
    (broken / ".copier-answers.yml").write_text(answers)
    git(broken, "commit", "-qam", "point at a missing template")
    return template, services


def test_fleet_update_over_a_fleet_of_services(fleet_dir, tmp_path):
    _, services = fleet_dir
    heads = {p.name: git(p, "rev-parse", "HEAD").strip() for p in services.iterdir()}
    summary_file = tmp_path / "summary.json"
    result = CliRunner().invoke(app, ["fleet", "update", str(services), "--jobs", "2", "--json", str(summary_file)])
    summary = json.loads(summary_file.read_text())
    assert summary["total"] == FLEET and len(summary["repos"]) == FLEET
    by_name = {Path(r["repo"]).name: r for r in summary["repos"]}
    assert {n for n, r in by_name.items() if r["status"] == "dirty"} == DIRTY
    assert by_name[BROKEN]["status"] == "failed"
    assert summary["counts"]["updated"] == FLEET - len(DIRTY) - 1
    assert result.exit_code == 1  # a failed repo is reported in the exit code
    for repo in services.iterdir():
        r = by_name[repo.name]
        # Nobody's checked-out branch moved, and no working tree was left mid-update.
        assert git(repo, "rev-parse", "HEAD").strip() == heads[repo.name], repo.name
        status = git(repo, "status", "--porcelain")
        assert status == ("?? WIP.md\n" if r["status"] == "dirty" else ""), (repo.name, status)
        branches = git(repo, "branch", "--list", "scaffold/update-*").split()
        if r["status"] == "updated":
            assert r["branch"] == "scaffold/update-2.0.0"
            shown = git(repo, "show", f"{r['branch']}:README.md")
            assert "version two" in shown
            assert git(repo, "show", f"{r['branch']}:.copier-answers.yml").count("_commit: v2.0.0") == 1
        else:
            assert branches == [], (repo.name, branches)


def test_fleet_status_and_file_source(fleet_dir, tmp_path):
    _, services = fleet_dir
    listing = tmp_path / "repos.txt"
    listing.write_text("# fleet\n" + "\n".join(str(services / f"svc-{i:02d}") for i in (0, 3, FLEET - 1)) + "\n")
    results = fleet.run(fleet.discover(listing), "status", jobs=1)
    # svc-00 stays on v1 in its checkout even after an update (that lives on a branch).
    assert [r.status for r in results] == ["update-available", "dirty", "failed"]
    assert (results[0].current, results[0].latest) == ("1.0.0", "2.0.0")


def test_fleet_clones_urls_into_workdir(fleet_dir, tmp_path):
    template, _ = fleet_dir
    origin = generate_project(template, tmp_path / "origin" / "svc-url", service_name="svc-url")
    results = fleet.run([f"file://{origin}"], "update", jobs=1, workdir=str(tmp_path / "work"))
    assert results[0].status == "updated", results[0]
    clone = tmp_path / "work" / "svc-url"
    assert "version two" in git(clone, "show", "scaffold/update-2.0.0:README.md")
    assert git(origin, "branch", "--list", "scaffold/update-*") == ""  # the origin is untouched


def test_fleet_over_real_scaffold_packages(render, template_repo, tmp_path):
    """Real packages: one up to date, one dirty; nothing changes on either."""
    clean = tmp_path / "fleet" / "payments-api"
    dirty = tmp_path / "fleet" / "orders-api"
    for dest, name in ((clean, "payments-api"), (dirty, "orders-api")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copier.run_copy(str(template_repo), str(dest), data={"service_name": name}, defaults=True,
                            unsafe=True, quiet=True, vcs_ref="v1.0.0")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", "generated")
    (dirty / "k8s" / "base" / "service.yaml").write_text("# uncommitted\n")
    results = {Path(r.repo).name: r for r in fleet.run(fleet.discover(tmp_path / "fleet"), "update", jobs=2)}
    assert results["payments-api"].status == "up-to-date"
    assert results["orders-api"].status == "dirty"
    assert (dirty / "k8s" / "base" / "service.yaml").read_text() == "# uncommitted\n"


# -- issue 15: safe to re-run, URL entries kept current, real causes -------------------
def _tiny_repo(template: Path, dest: Path, name: str) -> Path:
    return generate_project(template, dest, service_name=name)


def test_rerun_never_resets_an_update_branch_with_human_commits(fleet_dir, tmp_path):
    template, _ = fleet_dir
    repo = _tiny_repo(template, tmp_path / "svc-review", "svc-review")
    first = fleet.run([str(repo)], "update", jobs=1)[0]
    assert first.status == "updated", first
    # Re-running with only our commit on the branch is idempotent.
    again = fleet.run([str(repo)], "update", jobs=1)[0]
    assert again.status == "updated", again
    assert git(repo, "rev-list", "--count", f"main..{first.branch}").strip() == "1"
    # A reviewer resolves and commits on the branch; the next run must keep it.
    git(repo, "checkout", "-q", first.branch)
    (repo / "README.md").write_text("# svc-review\nversion two, reviewed\n")
    git(repo, "commit", "-qam", "review: wording")
    git(repo, "checkout", "-q", "main")
    head = git(repo, "rev-parse", first.branch).strip()
    third = fleet.run([str(repo)], "update", jobs=1)[0]
    assert third.status == "in-review" and "1 commit(s) not made by scaffold fleet" in third.detail, third
    assert git(repo, "rev-parse", first.branch).strip() == head
    assert "reviewed" in git(repo, "show", f"{first.branch}:README.md")
    # An amended fleet commit (a conflict resolved with --amend) is a human commit too.
    git(repo, "checkout", "-q", first.branch)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    (repo / "README.md").write_text("# svc-review\nversion two, amended\n")
    git(repo, "commit", "-q", "--amend", "-a", "--no-edit")
    git(repo, "checkout", "-q", "main")
    fourth = fleet.run([str(repo)], "update", jobs=1)[0]
    assert fourth.status == "in-review", fourth
    assert "amended" in git(repo, "show", f"{first.branch}:README.md")


def test_url_entries_are_fetched_and_the_push_is_done_or_printed(fleet_dir, tmp_path):
    template, _ = fleet_dir
    origin = _tiny_repo(template, tmp_path / "origin" / "svc-remote", "svc-remote")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    url, work = f"file://{origin}", str(tmp_path / "work")
    assert fleet.run([url], "status", jobs=1, workdir=work)[0].current == "1.0.0"
    # Someone updates the service upstream (to v2) after the clone was made.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(str(origin), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v2.0.0")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "update to v2 upstream")
    status = fleet.run([url], "status", jobs=1, workdir=work)[0]
    assert (status.status, status.current) == ("up-to-date", "2.0.0"), status
    # An update of a URL entry prints the push command, or pushes with push=True.
    git(origin, "reset", "-q", "--hard", "HEAD~1")
    clone = Path(work) / "svc-remote"
    git(clone, "fetch", "-q", "origin")
    git(clone, "reset", "-q", "--hard", "origin/main")
    printed = fleet.run([url], "update", jobs=1, workdir=work)[0]
    assert printed.status == "updated" and printed.push == f"git -C {clone} push origin scaffold/update-2.0.0"
    assert git(origin, "branch", "--list", "scaffold/update-*") == ""
    pushed = fleet.run([url], "update", jobs=1, workdir=work, push=True)[0]
    assert pushed.push == "pushed", pushed
    assert "version two" in git(origin, "show", "scaffold/update-2.0.0:README.md")
    # A reviewer pushes a fix to the update branch on the origin: the next run keeps it.
    review = tmp_path / "reviewer"
    subprocess.run(["git", "clone", "-q", "-b", "scaffold/update-2.0.0", str(origin), str(review)], check=True)
    (review / "README.md").write_text("# svc-remote\nversion two, reviewed\n")
    git(review, "commit", "-qam", "review")
    git(review, "push", "-q", "origin", "scaffold/update-2.0.0")
    again = fleet.run([url], "update", jobs=1, workdir=work, push=True)[0]
    assert again.status == "in-review", again
    assert "reviewed" in git(origin, "show", "scaffold/update-2.0.0:README.md")


def test_a_failure_reports_its_real_cause_and_status_flags_dirty_and_bad_answers(tmp_path):
    root = tmp_path / "tpl"
    root.mkdir()
    trust_source(root)
    (root / "copier.yml").write_text("service_name:\n  type: str\n  default: svc\n")
    (root / "README.md.jinja").write_text("# {{ service_name }}\n")
    (root / "{{ _copier_conf.answers_file }}.jinja").write_text("{{ _copier_answers|to_nice_yaml -}}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    git(root, "tag", "v1.0.0")
    (root / "copier.yml").write_text(
        "_tasks:\n  - command: [\"{{ _copier_python }}\", \"-c\", \"import sys; sys.stderr.write("
        "'scaffold.hook: error: backlog/tasks/task-3 - x.md: corrupt YAML (mapping values)\\\\n'); sys.exit(1)\"]\n"
        "service_name:\n  type: str\n  default: svc\n")
    git(root, "commit", "-qam", "v2")
    git(root, "tag", "v2.0.0")
    repo = generate_project(root, tmp_path / "svc-a", service_name="svc-a")
    # In a child process (jobs=1) and inside the fleet's pool processes (jobs=2), alike.
    for jobs in (1, 2):
        failed = fleet.run([str(repo)], "update", jobs=jobs)[0]
        assert failed.status == "failed"
        assert failed.detail == ("copier update: scaffold.hook: error: backlog/tasks/task-3 - x.md: corrupt YAML "
                                 "(mapping values)"), (jobs, failed.detail)
        assert git(repo, "status", "--porcelain") == "" and git(repo, "branch", "--list", "scaffold/*") == ""
    # A dirty repo still shows where it stands; a recorded answer the rules refuse is flagged.
    answers = repo / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("service_name: svc-a", "service_name: Svc_A"))
    dirty = fleet.run([str(repo)], "status", jobs=1)[0]
    assert (dirty.status, dirty.current, dirty.latest) == ("dirty", "1.0.0", "2.0.0"), dirty
    assert dirty.warnings and dirty.warnings[0].startswith("answers: service_name:"), dirty.warnings


# -- issue 21: versions read once per run, updates inside the pool processes ---------
def test_versions_read_once_per_run_are_the_ones_copier_reads(tmp_path):
    """fleet reads the recorded and latest template versions once per run (Copier's
    get_update_data clones twice per repository for them): same figures as Copier,
    a prerelease tag skipped, a recorded commit id (as the fleet records) read as
    Copier reads it, and a second repository served without touching the source."""
    from scaffold.fleet import lifecycle

    template = _tiny_template(tmp_path / "tpl")
    (template / "NOTES.md").write_text("untagged\n")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "after v2")
    untagged = git(template, "rev-parse", "HEAD").strip()
    (template / "NOTES.md").write_text("rc\n")
    git(template, "commit", "-qam", "rc")
    git(template, "tag", "v3.0.0rc1")  # a prerelease: Copier's latest stays 2.0.0
    repos = [generate_project(template, tmp_path / f"svc-{i}", service_name=f"svc-{i}") for i in range(2)]
    pinned = generate_project(template, tmp_path / "svc-sha", service_name="svc-sha")
    answers = pinned / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", f"_commit: {untagged}"))
    git(pinned, "commit", "-qam", "recorded as a commit id")
    copier_says = {r: lifecycle.check_update(r) for r in (repos[0], pinned)}
    fleet._fresh_versions()
    try:
        assert fleet.check_update(repos[0]) == copier_says[repos[0]]
        assert copier_says[repos[0]].latest_version == "2.0.0"
        assert fleet.check_update(pinned) == copier_says[pinned]
        hidden = template.with_name("tpl-away")
        template.rename(hidden)  # the run has both versions already: no clone for the next repo
        try:
            assert fleet.check_update(repos[1]) == copier_says[repos[0]]
        finally:
            hidden.rename(template)
    finally:
        fleet._RUN_VERSIONS = None
    shutil.rmtree(template)
    with pytest.raises(Exception):  # noqa: B017 - outside a run nothing is cached: the source is gone
        fleet.check_update(repos[1])
