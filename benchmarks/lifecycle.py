"""Lifecycle costs, alternated medians:
- `copier update` v1 -> v2 vs `copier copy` of the same package, both the copier CLI,
  hook included (goal <= 2.5x); Copier's own update floor stated: the same update of
  the plain-files template (benchmarks/copy_package.py), where nothing is rendered;
- `scaffold fleet update` over N generated services (default 50) on 2 processes vs a
  serial loop of plain `copier update` + `git commit` (what a team would script)
  over the same services (goal >= 1.8x); same results checked per service; parallel
  efficiency = speed-up / jobs. The services are distinct, as in a real fleet: each has
  its own name and team, and stack, blueprint, cloud, GitOps, delivery, environments and
  objective rotate (`fleet_answers`), so no render of one service is the render of another
  and nothing a pool process keeps loaded can be reused from one service to the next.

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
from tests.helpers import GIT_ENV, generate_project, git

ROOT = Path(__file__).resolve().parent.parent
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


STACKS = ("python", "node", "go", "dotnet")
BLUEPRINTS = ("service", "worker", "cronjob")
CLOUDS = ("aws", "gcp", "azure", "none")
ENVIRONMENTS = (["dev", "staging", "prod"], ["dev", "prod"], ["dev", "qa", "staging", "prod"])


def fleet_answers(i: int) -> dict:
    """Service i of a varied fleet (no two alike: stack, blueprint, cloud, GitOps, environments and
    objective rotate with periods 4, 3, 4, 2, 3 and 5; canary for every other service blueprint)."""
    return {"service_name": f"svc-{i:02d}", "team": f"team-{i % 7}", "stack": STACKS[i % 4],
            "blueprint": BLUEPRINTS[i % 3], "cloud": CLOUDS[(i // 2) % 4], "gitops": ("argocd", "flux")[i % 2],
            "delivery": "canary" if i % 3 == 0 and (i // 3) % 2 == 0 else "rolling", "environments": ENVIRONMENTS[i % 3],
            "slo_availability": (99.9, 99.5, 99.95, 99.0, 99.99)[i % 5]}


def _seed(args: tuple[Path, Path, int]) -> Path:
    template, dest, i = args
    return generate_project(template, dest, **fleet_answers(i))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fleet", type=int, default=50, help="services in the fleet figure")
    ap.add_argument("--fleet-runs", type=int, default=5, help="alternated rounds (serial, then fleet) of the fleet figure")
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

    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=args.jobs) as pool:  # v1 copies of the distinct services
        seeds = list(pool.map(_seed, [(template, work / "seeds" / f"svc-{i:02d}", i) for i in range(args.fleet)]))

    def fresh(name: str) -> list[Path]:
        folder = work / name
        if folder.exists():
            shutil.rmtree(folder)
        repos = [folder / s.name for s in seeds]
        for s, repo in zip(seeds, repos):
            shutil.copytree(s, repo, symlinks=True)
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
    # same results: every service's fleet branch holds the tree the serial loop committed for it
    same = all(_files(Path(r.repo), r.branch) == _files(work / "serial" / Path(r.repo).name, "update-v2")
               for r in results)
    base = statistics.median(ft["serial copier update loop"])
    fl = statistics.median(ft[f"scaffold fleet update (jobs={args.jobs})"])
    speedup = base / fl
    report(f"fleet update of {args.fleet} services vs a serial copier update loop ({args.fleet_runs} run(s) each)",
           {k: v for k, v in ft.items()}, "serial copier update loop", "fleet speed-up >= 1.8x")
    print(f"  speed-up {speedup:.2f}x on {args.jobs} processes, parallel efficiency {speedup / args.jobs:.0%}; "
          f"{counts['updated']} updated; same trees as the serial loop: {same}")
    out.update({"fleet_size": args.fleet, "fleet_runs": args.fleet_runs, "serial_s": base, "fleet_s": fl, "fleet_speedup": speedup,
                "efficiency": speedup / args.jobs, "same_trees": same})
    return out


if __name__ == "__main__":
    save("lifecycle", main())
