"""A blueprint tag decides its own output (issue #12).

A template repo gets two tags. v2 changes only Python-side content (a manifest
value, an alert threshold, a pinned action SHA, a runbook's prose) and changes
the interface between templates and code in both directions: v2's templates
call a function v1's code lacks, and v1's templates call one v2 removed. The
package is installed *non-editable* at one tag or the other into a venv with
copier, as users have it, and Copier runs from that venv, exactly as
``copier copy`` / ``copier update`` on the command line.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import ROOT, git, mutable_copy, snapshot_template

V1, V2 = "v1.0.0", "v2.0.0"
NEW_SHA = "0123456789abcdef0123456789abcdef01234567"
PROSE_V1 = "Added latency: requests wait for CPU quota."
PROSE_V2 = "Added latency: requests queue for CPU quota (v2 prose)."
CRITERION_V1 = "An update with conflicts opens its pull request marked as conflicted, never merged silently"
CRITERION_V2 = "Conflicts from the update are listed in the pull request body (v2 task policy)"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found; the test's edit no longer applies"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _add_readme_call(tpl: Path, call: str) -> None:
    readme = tpl / "blueprints" / "package" / "README.md.jinja"
    # First line: further down, the README's own {% set %} names shadow answers.
    readme.write_text(f"{{{{ {call} }}}}\n" + readme.read_text(encoding="utf-8"), encoding="utf-8")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tpl = snapshot_template(tmp_path_factory.mktemp("versioned") / "scaffold", tag="base")
    # v1: a function only v1's code has, called by v1's templates.
    (tpl / "scaffold" / "artifacts" / "k8s.py").write_text(
        (tpl / "scaffold" / "artifacts" / "k8s.py").read_text(encoding="utf-8")
        + '\n\ndef v1_only_note(m) -> str:\n    return f"<!-- v1 note for {m.name} -->"\n', encoding="utf-8")
    _add_readme_call(tpl, "sc.k8s.v1_only_note(scaffold_model())")
    git(tpl, "commit", "-qam", "v1")
    git(tpl, "tag", V1)
    # v2: Python-side content changes, and the interface changes both ways.
    edit(tpl / "scaffold" / "artifacts" / "k8s.py", "HPA_CPU_UTILIZATION = 70", "HPA_CPU_UTILIZATION = 60")
    edit(tpl / "scaffold" / "artifacts" / "alerts" / "types.py", 'CPU_THROTTLING_RATIO = Decimal("0.25")',
         'CPU_THROTTLING_RATIO = Decimal("0.27")')
    pins = tpl / "scaffold" / "data" / "pinned-actions.yml"
    old_sha = re.search(r"actions/checkout:\n\s+version: .*\n\s+sha: ([0-9a-f]{40})", pins.read_text()).group(1)
    edit(pins, old_sha, NEW_SHA)
    edit(tpl / "scaffold" / "artifacts" / "alerts" / "pods.py", PROSE_V1, PROSE_V2)
    edit(tpl / "scaffold" / "artifacts" / "tasks.py", CRITERION_V1, CRITERION_V2)
    k8s = tpl / "scaffold" / "artifacts" / "k8s.py"
    text = k8s.read_text(encoding="utf-8")
    text = text[: text.index("\n\ndef v1_only_note")] + "\n"
    k8s.write_text(text + '\n\ndef v2_only_note(m) -> str:\n    return f"<!-- v2 note for {m.name} -->"\n',
                   encoding="utf-8")
    edit(tpl / "blueprints" / "package" / "README.md.jinja", "sc.k8s.v1_only_note(", "sc.k8s.v2_only_note(")
    git(tpl, "commit", "-qam", "v2: python-side changes")
    git(tpl, "tag", V2)
    git(tpl, "checkout", "-q", V1)  # the working tree must not matter: Copier clones the tag
    return tpl


def _venv(where: Path, template: Path, tag: str) -> Path:
    """A venv holding scaffold installed non-editable from ``tag``; its other
    dependencies (copier, jinja2, ruamel...) come from the test venv's
    site-packages through a .pth line, which does not activate the editable
    install there."""
    checkout = where / f"src-{tag}"
    git(template, "worktree", "add", "-q", "--detach", str(checkout), tag)
    venv = where / f"venv-{tag}"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", str(checkout)], check=True, capture_output=True)
    where_is = subprocess.run([str(py), "-c", "import scaffold; print(scaffold.__file__)"], cwd=venv,
                              capture_output=True, text=True, check=True).stdout.strip()
    assert where_is.startswith(str(venv)), f"scaffold imported from {where_is}, not the non-editable install"
    shutil.rmtree(checkout)
    git(template, "worktree", "prune")
    return py


@pytest.fixture(scope="module")
def venvs(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("venvs")
    return {tag: _venv(where, template, tag) for tag in (V1, V2)}


def copier(py: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    # Never the repo as cwd: `python -m` puts the cwd first on sys.path.
    proc = subprocess.run([str(py), "-m", "copier", *args], cwd=cwd or py.parent, capture_output=True, text=True,
                          env={**env, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid"})
    assert proc.returncode == 0, f"copier {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def copy(py: Path, template: Path, dest: Path, tag: str) -> Path:
    copier(py, "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", tag, str(template), str(dest))
    return dest


def committed(dest: Path) -> Path:
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "generated")
    return dest


def update(py: Path, dest: Path, tag: str) -> None:
    copier(py, "update", "--trust", "--defaults", "--quiet", "--vcs-ref", tag, "--conflict", "inline", cwd=dest)


def tree(root: Path, *, aside: tuple[str, ...] = (".git/", "backlog/", ".copier-answers.yml")) -> set[str]:
    out = set()
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(rel == a or rel.startswith(a) for a in aside):
            out.add(rel)
    return out


def assert_same_tree(got: Path, want: Path) -> None:
    a, b = tree(got), tree(want)
    assert a == b, f"only in update: {sorted(a - b)[:10]}; only in fresh copy: {sorted(b - a)[:10]}"
    differ = [rel for rel in sorted(a) if not filecmp.cmp(got / rel, want / rel, shallow=False)]
    assert not differ, f"update differs from a fresh copy in {differ[:10]}"


def assert_v2_content(pkg: Path) -> None:
    assert "averageUtilization: 60" in (pkg / "k8s/base/hpa.yaml").read_text()
    assert f"actions/checkout@{NEW_SHA}" in (pkg / ".github/workflows/ci.yml").read_text()
    assert "> 0.27" in (pkg / "observability/prometheus/payments-api.rules.yaml").read_text()
    assert PROSE_V2 in (pkg / "runbooks/CpuThrottlingHigh.md").read_text()
    assert "<!-- v2 note for payments-api -->" in (pkg / "README.md").read_text()


@pytest.fixture(scope="module")
def fresh(template: Path, venvs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh copy of each tag, made with that tag's own package installed."""
    base = tmp_path_factory.mktemp("fresh")
    return {tag: copy(venvs[tag], template, base / tag / "payments-api", tag) for tag in (V1, V2)}


def backlog_text(pkg: Path) -> str:
    # created_date is the day of the copy (scaffold.backlog.sync.created_date): not the tag's to decide
    return "".join(re.sub(r"^created_date: .*\n", "", p.read_text(), flags=re.M)
                   for p in sorted((pkg / "backlog" / "tasks").iterdir()))


def test_fresh_copies_carry_their_tags_content(fresh: dict[str, Path]) -> None:
    assert_v2_content(fresh[V2])
    assert CRITERION_V2 in backlog_text(fresh[V2]) and CRITERION_V1 not in backlog_text(fresh[V2])
    assert CRITERION_V1 in backlog_text(fresh[V1])
    v1 = fresh[V1]
    assert "averageUtilization: 70" in (v1 / "k8s/base/hpa.yaml").read_text()
    assert PROSE_V1 in (v1 / "runbooks/CpuThrottlingHigh.md").read_text()
    assert "<!-- v1 note for payments-api -->" in (v1 / "README.md").read_text()


@pytest.mark.parametrize("installed", [V2, V1], ids=["package-at-v2", "package-at-v1"])
def test_update_delivers_python_side_changes(installed: str, template: Path, venvs: dict[str, Path],
                                             fresh: dict[str, Path], tmp_path: Path) -> None:
    """The old tag renders with old code and the new with new code, whichever is installed:
    an unedited service updated to v2 is byte for byte a fresh v2 copy."""
    py = venvs[installed]
    svc = committed(copy(py, template, tmp_path / "payments-api", V1))
    update(py, svc, V2)
    assert_v2_content(svc)
    assert_same_tree(svc, fresh[V2])
    answers = (svc / ".copier-answers.yml").read_text()
    assert f"_commit: {V2}" in answers


def test_update_keeps_local_edits_and_delivers_v2(template: Path, venvs: dict[str, Path], tmp_path: Path) -> None:
    py = venvs[V2]
    svc = committed(copy(py, template, tmp_path / "payments-api", V1))
    deploy = svc / "k8s/base/deployment.yaml"
    deploy.write_text(deploy.read_text() + "# team: rolled out region by region, see docs/capacity.md\n")
    runbook = svc / "runbooks/CpuThrottlingHigh.md"
    runbook.write_text(runbook.read_text() + "\n## Team notes\n\nPage #payments-oncall first.\n")
    git(svc, "commit", "-qam", "team edits")
    edited_deploy = deploy.read_text()
    update(py, svc, V2)
    assert "Page #payments-oncall first." in runbook.read_text()
    assert PROSE_V2 in runbook.read_text()
    assert deploy.read_text() == edited_deploy  # no blueprint change there: the edit stands as is
    assert_v2_content(svc)
    conflicted = [p for p in tree(svc)
                  if re.search(r"^<<<<<<< ", (svc / p).read_text(errors="replace"), re.M)]
    assert not conflicted, conflicted


def test_old_tag_renders_with_its_own_code(template: Path, venvs: dict[str, Path], fresh: dict[str, Path],
                                           tmp_path: Path) -> None:
    """`copier copy --vcs-ref v1` with the v2 package installed gives v1's bytes."""
    got = copy(venvs[V2], template, tmp_path / "payments-api", V1)
    assert_same_tree(got, fresh[V1])
    assert backlog_text(got) == backlog_text(fresh[V1])  # the hook ran v1's task policy


# -- the generated blueprint-update.yml, run locally --------------------------
def _workflow_setup(template: Path, tmp_path: Path, source: str) -> tuple[Path, Path, dict, dict[str, str]]:
    """A service generated at v1 from ``source``, pushed to a local origin, and the
    environment a runner would give the job (tools first on PATH)."""
    from ruamel.yaml import YAML

    py = _venv(tmp_path, template, V1)  # its own venv: the workflow installs into it
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "payments-api"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    copier(py, "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", V1, source, str(work))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "generated")
    git(work, "push", "-q", "origin", "HEAD:main")
    wf = YAML(typ="safe").load((work / ".github/workflows/blueprint-update.yml").read_text())
    from tests import gha

    bin_dir = tmp_path / "bin"
    gha.stub(bin_dir, "copier", f'env > "{tmp_path}/copier.env"\nexec "{py}" -m copier "$@"\n')
    gha.stub(bin_dir, "gh", f'printf "%s\\n" "$@" > "{tmp_path}/gh.args"\n'
                            f'while [ $# -gt 0 ]; do if [ "$1" = --body-file ]; then cp "$2" "{tmp_path}/gh.body"; fi; '
                            f'shift; done\n')
    gha.stub(bin_dir, "python", f'exec "{py}" "$@"\n')
    home = tmp_path / "home"
    home.mkdir()
    env = gha.clean_env(PATH=f"{bin_dir}:{py.parent}:{os.environ['PATH']}", HOME=str(home),
                        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
                        # offline here: dependencies come from the test venv, the build from its setuptools
                        PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return work, origin, wf["jobs"]["update"], env


SECRETS = {"BLUEPRINT_UPDATE_TOKEN": "ghp_update_secret_value", "BLUEPRINT_TEMPLATE_TOKEN": "ghp_read_secret_value"}


def test_blueprint_update_workflow_delivers_v2(template: Path, venvs: dict[str, Path], tmp_path: Path) -> None:
    from tests import gha

    source = f"git+file://{template}"
    work, origin, job, env = _workflow_setup(template, tmp_path, source)
    want = tmp_path / "fresh" / "payments-api"
    copier(venvs[V2], "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", V2, source, str(want))
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runs = gha.run_job(job, cwd=work, env=env, ctx=gha.Context(secrets=dict(SECRETS)), temp=temp)
    report = "\n".join(f"{r.name}: ran={r.ran} rc={r.returncode}\n{r.stdout[-800:]}{r.stderr[-1500:]}" for r in runs)
    assert all(r.returncode == 0 for r in runs), report
    assert [r.name for r in runs if not r.ran] == ["Check out", "Set up Python"], report
    sha = git(template, "rev-parse", f"{V2}^{{commit}}").strip()
    assert runs[4].outputs == {"available": "true", "tag": V2, "sha": sha}, report
    # The pull request branch reached origin and holds exactly a fresh v2 copy.
    branch = f"blueprint-update/{V2}"
    result = tmp_path / "pr-branch"
    git(tmp_path, "clone", "-q", "-b", branch, str(origin), str(result))
    assert_v2_content(result)
    assert_same_tree(result, want)
    assert f"Scaffold-Template-Commit: {sha}" in git(result, "log", "-1", "--format=%B")
    assert f"_commit: {V2}" in (result / ".copier-answers.yml").read_text()
    gh_args = (tmp_path / "gh.args").read_text().splitlines()
    assert gh_args[:2] == ["pr", "create"] and f"Update the scaffold blueprint to {V2}" in gh_args, gh_args
    assert sha in (tmp_path / "gh.body").read_text()
    # No token in copier's (or pip's) environment: template code runs there.
    copier_env = (tmp_path / "copier.env").read_text()
    assert not any(v in copier_env for v in SECRETS.values())
    assert "ghs_local_test_token" not in copier_env


def test_blueprint_update_workflow_refuses_an_untrusted_source(template: Path, tmp_path: Path) -> None:
    """A one-line change of _src_path (a pull request, say) does not run another template."""
    from tests import gha

    work, _origin, job, env = _workflow_setup(template, tmp_path, f"git+file://{template}")
    evil = mutable_copy(template, tmp_path, "evil")
    answers = work / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(f"git+file://{template}", f"git+file://{evil}"))
    git(work, "commit", "-qam", "innocent-looking change")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runs = gha.run_job(job, cwd=work, env=env, ctx=gha.Context(secrets=dict(SECRETS)), temp=temp)
    source = next(r for r in runs if r.name.startswith("Template source"))
    assert source.ran and source.returncode == 1
    assert "is not the trusted template source" in source.stdout
    assert not any(r.ran for r in runs[runs.index(source) + 1:])
    assert not (tmp_path / "copier.env").exists()


def test_blueprint_update_bakes_no_local_path(default_package: Path) -> None:
    """Generated from a local path (as here), the workflow trusts nothing and says why."""
    text = (default_package / ".github/workflows/blueprint-update.yml").read_text()
    assert "TRUSTED_SOURCES: ''" in text
    assert str(ROOT) not in text and "/tmp/" not in text



def test_blueprint_update_workflow_opens_a_conflicted_update_as_a_draft(default_package: Path, tmp_path: Path) -> None:
    """Issue #22 defect 4: when `copier update --conflict inline` leaves markers, the job's own
    commit and push steps open the pull request as a draft titled [conflicts], listing each
    conflicted file (copier is stubbed to leave markers the way it does: tests/test_update.py
    shows the real conflict; this runs the workflow's handling of one)."""
    from tests import gha

    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = mutable_copy(default_package, tmp_path, "payments-api")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "generated")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "HEAD:main")
    job = yaml_load((work / ".github/workflows/blueprint-update.yml").read_text())["jobs"]["update"]
    steps = [s for s in job["steps"] if s["name"] in ("Update and commit", "Push and open a pull request")]
    assert len(steps) == 2
    bin_dir = tmp_path / "bin"
    gha.stub(bin_dir, "copier", 'test "$1" = update\n'
             'printf "<<<<<<< before updating\\naverageUtilization: 65\\n=======\\naverageUtilization: 60\\n'
             '>>>>>>> after updating\\n" >> k8s/base/hpa.yaml\n'
             'printf "<<<<<<< before updating\\nmine\\n=======\\ntheirs\\n>>>>>>> after updating\\n" >> README.md\n'
             'echo "v2 docs" >> docs/slo.md\n')
    gha.stub(bin_dir, "gh", f'printf "%s\\n" "$@" > "{tmp_path}/gh.args"\n'
                            f'while [ $# -gt 0 ]; do if [ "$1" = --body-file ]; then cp "$2" "{tmp_path}/gh.body"; fi; '
                            f'shift; done\n')
    home = tmp_path / "home"
    home.mkdir()
    env = gha.clean_env(PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(home),
                        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    ctx = gha.Context(secrets=dict(SECRETS), outputs={
        "source": {"src": "https://github.com/acme/scaffold"},
        "check": {"available": "true", "tag": V2, "sha": NEW_SHA}})
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runs = gha.run_job({**job, "steps": steps}, cwd=work, env=env, ctx=ctx, temp=temp)
    report = "\n".join(f"{r.name}: ran={r.ran} rc={r.returncode}\n{r.stdout[-800:]}{r.stderr[-1500:]}" for r in runs)
    assert all(r.ran and r.returncode == 0 for r in runs), report
    assert runs[0].outputs.get("conflicted") == "true", report
    gh_args = (tmp_path / "gh.args").read_text().splitlines()
    assert gh_args[:3] == ["pr", "create", "--draft"], gh_args
    assert f"[conflicts] Update the scaffold blueprint to {V2}" in gh_args, gh_args
    body = (tmp_path / "gh.body").read_text().splitlines()
    listed = sorted(line[2:] for line in body if line.startswith("- "))
    assert listed == ["README.md", "k8s/base/hpa.yaml"], body
    assert any("draft" in line for line in body)
    # The branch on origin is the one the pull request names, markers and all (for review, not merge).
    assert git(origin, "rev-parse", "--verify", f"refs/heads/blueprint-update/{V2}").strip()


def yaml_load(text: str):
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)
