"""Run a generated workflow job's own ``run:`` steps locally, as a runner would.

Steps that ``uses:`` an action are left to the test (the checkout is the test's
working copy; setup actions are no-ops here). ``env:`` and ``if:`` are evaluated
with the small subset of GitHub expressions the generated workflows use; anything
else raises, so a workflow that outgrows this runner fails its test loudly
rather than being half-run. Each step runs as GitHub runs ``shell: bash``:
``bash --noprofile --norc -eo pipefail``, with its own ``GITHUB_OUTPUT`` file.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_OUTPUT = re.compile(r"^steps\.([\w-]+)\.outputs\.([\w-]+)$")


@dataclass
class StepRun:
    name: str
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    secrets: dict[str, str] = field(default_factory=dict)
    github_token: str = "ghs_local_test_token"
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def value(self, expr: str) -> str:
        alternatives = [a.strip() for a in expr.split("||")]
        for alt in alternatives:
            got = self._atom(alt)
            if got:
                return got
        return ""

    def _atom(self, atom: str) -> str:
        if m := _OUTPUT.match(atom):
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        if m := re.fullmatch(r"secrets\.([A-Z0-9_]+)", atom):
            return self.secrets.get(m.group(1), "")
        if atom == "github.token":
            return self.github_token
        if m := re.fullmatch(r"'([^']*)'", atom):
            return m.group(1)
        raise ValueError(f"expression not supported by the local runner: {atom!r}")

    def render(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), str(text))

    def condition(self, expr: str | None) -> bool:
        if expr is None:
            return True
        expr = _EXPR.sub(lambda m: m.group(1), str(expr)).strip()
        if m := re.fullmatch(r"(.+?)\s*==\s*'([^']*)'", expr):
            return self.value(m.group(1)) == m.group(2)
        raise ValueError(f"condition not supported by the local runner: {expr!r}")


def parse_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


def run_job(job: dict[str, Any], *, cwd: Path, env: dict[str, str], ctx: Context, temp: Path,
            timeout: float = 300) -> list[StepRun]:
    """Run the job's steps in order until one fails (the rest are reported not run)."""
    runs: list[StepRun] = []
    failed = False
    for i, step in enumerate(job["steps"]):
        name = step.get("name", f"step {i}")
        if failed or "run" not in step or not ctx.condition(step.get("if")):
            runs.append(StepRun(name, ran=False))
            continue
        output = temp / f"output-{i}"
        output.write_text("")
        script = temp / f"step-{i}.sh"
        script.write_text(step["run"], encoding="utf-8")
        step_env = {**env, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(temp), "CI": "true",
                    **{k: ctx.render(v) for k, v in (step.get("env") or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd,
                              env=step_env, capture_output=True, text=True, timeout=timeout)
        outputs = parse_outputs(output)
        if step.get("id"):
            ctx.outputs[step["id"]] = outputs
        runs.append(StepRun(name, True, proc.returncode, proc.stdout, proc.stderr, outputs))
        failed = proc.returncode != 0
    return runs


def stub(bin_dir: Path, name: str, body: str) -> Path:
    """An executable ``name`` first on PATH, written as a bash script."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without Python/venv variables that would leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_", "GIT_"))}
    return {**env, **extra}
