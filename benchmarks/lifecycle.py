"""Lifecycle costs, alternated medians:
- `copier update` v1 -> v2 vs `copier copy` of the same package, both the copier CLI,
  hook included (goal <= 2.5x); Copier's own update floor stated: the same update of
  the plain-files template (benchmarks/copy_package.py), where nothing is rendered;
- `scaffold fleet update` over N generated services (default 50) on 2 processes vs a
  serial loop of plain `copier update` + `git commit` (what a team would script)
  over the same services (goal >= 1.8x); same results checked; parallel efficiency
  = speed-up / jobs.

    .venv/bin/python benchmarks/lifecycle.py [--runs N] [--fleet N] [--jobs N] [--no-fleet]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import CPU, _cpu, save, alternate, copier_copy, report, snapshot, tmpdir
from conftest import GIT_ENV, generate_project, git

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, **GIT_ENV, "PYTHONWARNINGS": "ignore"}


def make_v2(template: Path) -> None:
    readme = template / "blueprints" / "package" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nBlueprint v2.\n")
    git(template, "commit", "-qam", "v2")
    git(template, "tag", "v2.0.0")


def copier_update(dest: Path, ref: str = "v2.0.0") -> None:
    subprocess.run([sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--quiet",
                    "--conflict", "inline", "--skip-answered", "--vcs-ref", ref], cwd=dest, check=True,
                   capture_output=True, env=ENV)


def serial_loop(repos: list[Path]) -> None:
    """What a team would script: copier update and a commit, one repository after another."""
    for repo in repos:
        git(repo, "checkout", "-q", "-B", "update-v2")
        copier_update(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "update to v2")


def _files(repo: Path, ref: str) -> dict[str, str]:
    """path -> blob of a commit, but the answers file (fleet records the pinned commit id
    where a hand-run update records the tag)."""
    out = {}
    for line in git(repo, "ls-tree", "-r", ref).splitlines():
        meta, path = line.split("\t", 1)
        if path != ".copier-answers.yml":
            out[path] = meta.split()[2]
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fleet", type=int, default=50, help="services in the fleet figure")
    ap.add_argument("--fleet-runs", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-fleet", action="store_true")
    args = ap.parse_args(argv)
    from scaffold.fleet import fleet

    work = tmpdir()
    template = snapshot(work / "scaffold")
    make_v2(template)
    seed = generate_project(template, work / "seed" / "payments-api")

    def copy_once(i: int) -> None:
        copier_copy(template, work / f"copy-{i}" / "payments-api")  # HEAD = v2.0.0

    def update_once(i: int) -> None:
        dest = work / f"upd-{i}" / "payments-api"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(seed, dest, symlinks=True)
        copier_update(dest)

    times = alternate(args.runs, **{"copier copy": copy_once, "copier update (v1 -> v2)": update_once})
    ratio = report("copier update vs copier copy of the default package (CLI, hook included)", times, "copier copy",
                   "ratio <= 2.5")
    out = {"update_ratio": ratio, "copy_s": statistics.median(times["copier copy"]),
           "update_s": statistics.median(times["copier update (v1 -> v2)"])}
    if args.no_fleet:
        return out

    def fresh(name: str) -> list[Path]:
        folder = work / name
        if folder.exists():
            shutil.rmtree(folder)
        repos = [folder / f"svc-{i:02d}" for i in range(args.fleet)]
        for repo in repos:
            shutil.copytree(seed, repo, symlinks=True)
        return repos

    results: list = []

    # Not alternated within a round (each side is minutes long): serial then fleet, per round.
    ft = {"serial copier update loop": [], f"scaffold fleet update (jobs={args.jobs})": []}
    for k in ft:
        CPU[k] = []
    for i in range(args.fleet_runs):
        repos = fresh("serial")
        cpu, start = _cpu(), time.perf_counter()
        serial_loop(repos)
        ft["serial copier update loop"].append(time.perf_counter() - start)
        CPU["serial copier update loop"].append(_cpu() - cpu)
        fresh("fleet")
        cpu, start = _cpu(), time.perf_counter()
        results[:] = fleet.run(fleet.discover(work / "fleet"), "update", jobs=args.jobs)
        ft[f"scaffold fleet update (jobs={args.jobs})"].append(time.perf_counter() - start)
        CPU[f"scaffold fleet update (jobs={args.jobs})"].append(_cpu() - cpu)
    counts = fleet.summary(results)["counts"]
    assert all(r.status == "updated" for r in results), counts
    # same results: every fleet branch holds the tree the serial loop committed
    serial_tree = _files(work / "serial" / "svc-00", "update-v2")
    fleet_trees = [_files(Path(r.repo), r.branch) for r in results]
    same = all(t == serial_tree for t in fleet_trees)
    base = statistics.median(ft["serial copier update loop"])
    fl = statistics.median(ft[f"scaffold fleet update (jobs={args.jobs})"])
    speedup = base / fl
    report(f"fleet update of {args.fleet} services vs a serial copier update loop ({args.fleet_runs} run(s) each)",
           {k: v for k, v in ft.items()}, "serial copier update loop", "fleet speed-up >= 1.8x")
    print(f"  speed-up {speedup:.2f}x on {args.jobs} processes, parallel efficiency {speedup / args.jobs:.0%}; "
          f"{counts['updated']} updated; same trees as the serial loop: {same}")
    out.update({"fleet_size": args.fleet, "serial_s": base, "fleet_s": fl, "fleet_speedup": speedup,
                "efficiency": speedup / args.jobs, "same_trees": same})
    return out


if __name__ == "__main__":
    save("lifecycle", main())
