"""Backlog hook cost per task vs one real `backlog task create` per task, same run.

    .venv/bin/python benchmarks/backlog.py [CLI_TASKS]

Renders the default package once (--skip-tasks), then times:
  - the hook as Copier runs it (`python -m scaffold.hook .`, interpreter start included),
    filing every task of the package;
  - CLI_TASKS (default 20) `backlog task create` calls filing the first tasks of the
    same plan (same title, description, labels, priority, criteria, reference).
Prints seconds per task and the ratio (goal: the hook >= 50x cheaper per task).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not benchmarks/: its scripts would shadow stdlib names (copy.py)

from scaffold import tools  # noqa: E402
from scaffold.backlog import backlog  # noqa: E402
from scaffold.artifacts import tasks as policy  # noqa: E402
from scaffold.model.package import Package  # noqa: E402


def main(cli_tasks: int = 20) -> None:
    exe = tools.require("backlog")
    work = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    try:
        pkg = work / "payments-api"
        subprocess.run([sys.executable, "-m", "scaffold.cli", "new", str(pkg), "--defaults", "-q", "--skip-tasks"],
                       check=True, capture_output=True, cwd=ROOT)
        model = Package.load(pkg).model
        specs = policy.plan(model, policy.artifacts(pkg))

        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "scaffold.hook", "."], cwd=pkg, check=True, capture_output=True)
        hook_s = time.perf_counter() - start
        filed = len(list((pkg / "backlog/tasks").glob("*.md")))

        # in-process, without interpreter start and imports: the sync alone
        shutil.rmtree(pkg / "backlog")
        start = time.perf_counter()
        backlog.sync(pkg)
        sync_s = time.perf_counter() - start

        cli_dir = work / "cli"
        cli_dir.mkdir()
        env = {**os.environ, "NO_COLOR": "1"}
        subprocess.run([exe, "init", "bench", "--defaults", "--integration-mode", "none", "--no-git"], cwd=cli_dir,
                       check=True, capture_output=True, env=env)
        start = time.perf_counter()
        for spec in specs[:cli_tasks]:
            args = [exe, "task", "create", spec.title, "-d", spec.description, "-a", model.backlog_assignee,
                    "-l", ",".join(spec.labels), "--priority", spec.priority, "--ref", spec.key, "--plain"]
            for c in spec.criteria:
                args += ["--ac", c]
            subprocess.run(args, cwd=cli_dir, check=True, capture_output=True, env=env)
        cli_s = time.perf_counter() - start
        n_cli = min(cli_tasks, len(specs))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    hook_per, sync_per, cli_per = hook_s / filed, sync_s / filed, cli_s / n_cli
    print(f"hook (python -m scaffold.hook): {filed} tasks in {hook_s:.3f} s = {hook_per * 1000:.2f} ms/task")
    print(f"sync in-process:                {filed} tasks in {sync_s:.3f} s = {sync_per * 1000:.2f} ms/task")
    print(f"backlog task create (CLI):      {n_cli} tasks in {cli_s:.3f} s = {cli_per * 1000:.1f} ms/task")
    print(f"ratio per task: hook {cli_per / hook_per:.0f}x cheaper, in-process sync {cli_per / sync_per:.0f}x "
          f"(goal >= 50x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
