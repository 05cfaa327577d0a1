"""Issue 20, the basics: --version, -h, help text for every flag, --pretend where
files would be written, one-line errors for wrong paths, output that fits pipes
(`scaffold new` and `scaffold check --diff | git apply --check`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.helpers import generate_project, git, mutable_copy
from scaffold.cli import app

SCAFFOLD = str(Path(sys.executable).parent / "scaffold")
ANSI = re.compile(r"\x1b\[")


def piped(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SCAFFOLD, *args], capture_output=True, text=True, timeout=300, cwd=cwd, input=stdin,
                          env={**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"})


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ALL = list(commands(typer.main.get_command(app)))


@pytest.mark.fast
def test_version():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and re.fullmatch(r"scaffold \d+\.\d+\.\d+\S*\n", res.stdout)


@pytest.mark.fast
@pytest.mark.parametrize("path, cmd", ALL, ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_h_and_help_for_every_flag(path, cmd):
    res = CliRunner().invoke(app, [*path, "-h"])
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.stdout and "``" not in res.stdout and not ANSI.search(res.stdout)
    undocumented = [p.opts[0] for p in cmd.params if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert undocumented == []
    arguments = [p.name for p in cmd.params if isinstance(p, click.Argument) and not getattr(p, "help", "")]
    assert arguments == []


@pytest.mark.fast
@pytest.mark.parametrize("args", [["validate"], ["check"], ["try"], ["tasks"], ["fleet", "status"],
                                  ["fleet", "update"]])
def test_wrong_path_is_one_line(args, tmp_path):
    missing = tmp_path / "nope"
    res = CliRunner().invoke(app, [*args, str(missing)])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"error: {missing}: no such file or directory")
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output


@pytest.mark.fast
def test_missing_data_file_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["new", str(tmp_path / "svc"), "--data-file", str(tmp_path / "nope.yml")])
    assert res.exit_code == 2 and res.stderr == f"error: --data-file {tmp_path / 'nope.yml'}: no such file\n"
    assert not (tmp_path / "svc").exists()


@pytest.mark.fast
@pytest.mark.parametrize("source, local", [("/srv/scaffold", True), ("../scaffold", True), ("file:///srv/x", True),
                                           ("gh:acme/scaffold", False), ("https://github.com/acme/s.git", False),
                                           ("git@github.com:acme/s.git", False)])
def test_local_template_sources_are_recognised(source, local):
    from scaffold.cli import is_local_source

    assert is_local_source(source) is local


def test_new_piped_is_a_summary_and_quiet_is_silent(template_repo, tmp_path):
    res = piped("new", str(tmp_path / "a"), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0", "--defaults")
    assert res.returncode == 0, res.stderr
    assert not ANSI.search(res.stdout + res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) <= 4, lines  # not a `create` line per file
    assert lines[0].startswith(f"warning: the template source {template_repo} is a local path")
    assert lines[-1].startswith(f"generated {tmp_path / 'a'} (") and "next: scaffold validate" in lines[-1]
    res = piped("new", str(tmp_path / "b"), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0", "--defaults",
                "-q")
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    assert (tmp_path / "b" / "backlog").is_dir()  # the hook ran, silently


def test_new_pretend_writes_nothing(template_repo, tmp_path):
    dest = tmp_path / "svc"
    res = piped("new", str(dest), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0", "--defaults", "--pretend")
    assert res.returncode == 0, res.stderr
    assert not dest.exists()
    assert res.stderr.splitlines()[-1] == f"pretend: nothing written to {dest}"


def test_check_diff_is_a_patch_git_applies(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True, backlog=False), tmp_path)
    runbook = sorted((pkg / "runbooks").glob("*.md"))[0]
    runbook.write_text(runbook.read_text(encoding="utf-8") + "\nOur own note, " + "long " * 60 + "\n",
                       encoding="utf-8")
    deployment = pkg / "k8s/base/deployment.yaml"
    deployment.write_text(deployment.read_text(encoding="utf-8").replace("revisionHistoryLimit: 5",
                                                                         "revisionHistoryLimit: 3"), encoding="utf-8")
    res = piped("check", str(pkg), "--diff")
    assert res.returncode == 0, res.stderr
    patch = res.stdout
    assert patch.startswith("--- template/") and not ANSI.search(patch)
    assert any(len(line) > 300 for line in patch.splitlines())  # never wrapped
    assert "drift: k8s/base/deployment.yaml: modified" in res.stderr
    # Reversed, the patch applies to the package (it undoes the team's edits)...
    check = subprocess.run(["git", "apply", "--check", "-R", "-"], cwd=pkg, input=patch, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    # ...and forward, to a fresh render of the recorded version (it redoes them).
    fresh = mutable_copy(render(skip_tasks=True, backlog=False), tmp_path, "fresh")
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=fresh, input=patch, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_fleet_update_pretend_writes_nothing(tmp_path):
    from test_fleet import _tiny_template

    template = _tiny_template(tmp_path / "template")
    services = tmp_path / "services"
    generate_project(template, services / "svc-a", service_name="svc-a")
    generate_project(template, services / "svc-b", service_name="svc-b")
    heads = {p.name: git(p, "rev-parse", "HEAD") for p in services.iterdir()}
    res = piped("fleet", "update", str(services), "--pretend", "-j", "1")
    assert res.returncode == 0, res.stderr
    assert {p.name: git(p, "rev-parse", "HEAD") for p in services.iterdir()} == heads
    assert all(git(p, "branch", "--list", "scaffold/*") == "" for p in services.iterdir())
    assert all(git(p, "status", "--porcelain") == "" for p in services.iterdir())
    assert res.stdout.splitlines()[-1] == ("pretend: would update 2 repo(s) on a scaffold/update-<version> branch; "
                                           f"nothing was written: {services / 'svc-a'}, {services / 'svc-b'}")
    # progress, piped: one plain line per repo on stderr
    progress = res.stderr.splitlines()
    assert [line.split(": ", 1)[0] for line in progress] == ["fleet status 1/2", "fleet status 2/2"]
    assert sorted(line.split(": ", 1)[1] for line in progress) == [f"{services / 'svc-a'}: update-available",
                                                                  f"{services / 'svc-b'}: update-available"]
