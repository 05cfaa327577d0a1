"""Issue 22 defect 5: runbooks say only what fits the package they ship in.

Every `kubectl` (and `kubectl argo rollouts`) line of every runbook of a canary
service, a rolling service, a worker and a cronjob is checked against the objects
`kubectl kustomize` builds from the package's overlays (the `runbook-commands`
checker of `scaffold validate`): the kind/name exists, the flags belong to the
verb, and the namespace is the alert's own (`$NS`), not a hard-coded production one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold.model.package import Package
from scaffold.validate import runbook_commands as rc

PACKAGES = {
    "canary service": {},
    "rolling service": {"delivery": "rolling"},
    "worker": {"blueprint": "worker"},
    "cronjob": {"blueprint": "cronjob"},
}


@pytest.fixture(scope="module", params=list(PACKAGES), ids=list(PACKAGES))
def pkg(request, render) -> Path:
    require_tool("kubectl")
    return render(skip_tasks=True, **PACKAGES[request.param])


_LOADED: dict[Path, Package] = {}


def _load(root: Path) -> Package:
    """One Package per rendered tree: its overlay builds are shared by the tests here."""
    if root not in _LOADED:
        _LOADED[root] = Package.load(root)
    return _LOADED[root]


def test_every_runbook_command_names_what_the_package_builds(pkg: Path):
    findings = rc.RunbookCommands().run(_load(pkg))
    assert findings == [], "\n".join(f"{f.file}:{f.line}: {f.message}" for f in findings)


def test_the_checker_reads_commands_of_every_runbook(pkg: Path):
    """Not vacuous: every runbook has kubectl commands, and they use the alert's namespace."""
    for path in sorted((pkg / "runbooks").glob("*.md")):
        cmds, ns_set, loops = rc.commands(path.read_text())
        assert cmds, f"{path.name}: no kubectl command parsed"
        assert ns_set or loops, f"{path.name}: never sets NS"
        assert all('-n "$NS"' in c.text for c in cmds if c.text != "kubectl edit" and "patch" != c.text.split()[-1]), path.name


def test_rollback_matches_the_workload_kind(pkg: Path):
    model = Package.load(pkg).model
    text = (pkg / "runbooks" / "ContainerOOMKilled.md").read_text()
    assert ("kubectl argo rollouts abort" in text) == model.canary
    assert ("rollout history deployment/" in text) == (not model.canary and model.workload_kind == "Deployment")
    assert ("get cronjob" in text) == (model.workload_kind == "CronJob")
    # the GitOps revert is of the environment the alert fired in, not always production
    assert "deploy/$ENV" in text and f"deploy/{model.production.name}" not in text


def _copy(src: Path, tmp_path: Path) -> Path:
    dest = mutable_copy(src, tmp_path, ignore=(".git", "node_modules"))
    return dest


MUTATIONS = {
    "cronjob": [
        ('kubectl -n "$NS" rollout history deployment/{name}', "no overlay builds"),
        ('kubectl -n "$NS" get hpa {name}', "no overlay builds"),
        ("kubectl -n {prod} get cronjob {name}", "hard-codes namespace"),
        ('kubectl -n "$NS" logs job/<job> --tail-lines=5', "takes no flag --tail-lines"),
        ('kubectl -n "$NS" create job --from=cronjob/{name}-x {name}-manual', "no overlay builds"),
    ],
    "canary service": [
        ('kubectl -n "$NS" rollout history deployment/{name}', "scaled down by Rollout"),
        ('kubectl -n "$NS" port-forward svc/{name} 9999', "exposes no port 9999"),
        ('kubectl -n "$NS" get pods -l app.kubernetes.io/name=other', "matches no pod template"),
        ('kubectl argo rollouts abort {name}', "has no -n"),
    ],
    "worker": [
        ('kubectl argo rollouts abort {name} -n "$NS"', "no overlay builds"),
        ('kubectl -n "$NS" get servicemonitors -l app.kubernetes.io/name={name}', "no overlay builds any"),
        ('kubectl -n "$NS" top deployment {name}', "reports pods or nodes"),
    ],
}


@pytest.mark.parametrize("which", list(MUTATIONS))
def test_mutated_runbook_is_caught(which, render):
    """Each wrong command, added to a runbook of a package it does not fit, is a finding
    naming the runbook and its line; a runbook that never sets NS is caught too.
    (The overlays are built once; each mutation is checked against that build.)"""
    require_tool("kubectl")
    package = _load(render(skip_tasks=True, **PACKAGES[which]))
    objs, problems = rc.package_objects(package)
    assert not problems
    model = package.model
    rel = "runbooks/ContainerOOMKilled.md"
    original = (package.root / rel).read_text()
    assert rc.check_runbook(rel, original, objs, True) == []
    for line, expected in MUTATIONS[which]:
        cmd = line.format(name=model.name, prod=model.production.namespace)
        text = original.replace("## Mitigation", f"```sh\n{cmd}\n```\n\n## Mitigation")
        findings = rc.check_runbook(rel, text, objs, True)
        where = text.splitlines().index(cmd) + 1
        assert findings and {(f.file, f.line) for f in findings} == {(rel, where)}, (cmd, findings)
        assert any(expected in f.message for f in findings), (cmd, [f.message for f in findings])
    findings = rc.check_runbook(rel, re.sub(r"NS=\S+", "XX=1", original), objs, True)
    assert findings and all("never sets" in f.message for f in findings)


def test_scaffold_validate_fails_on_a_wrong_runbook_command(render, tmp_path):
    """The checker is part of `scaffold validate` (the CLI's exit code, the finding's file and line)."""
    import subprocess
    import sys

    require_tool("kubectl")
    root = _copy(render(skip_tasks=True, **PACKAGES["cronjob"]), tmp_path)
    name = Package.load(root).model.name
    runbook = root / "runbooks" / "CronJobFailed.md"
    runbook.write_text(runbook.read_text() + f"\n`kubectl -n \"$NS\" rollout history deployment/{name}`\n")
    res = subprocess.run([sys.executable, "-m", "scaffold", "validate", str(root), "--only", "runbook-commands"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    line = len(runbook.read_text().splitlines())
    assert f"runbooks/CronJobFailed.md:{line}: runbook-commands:" in res.stdout, res.stdout
