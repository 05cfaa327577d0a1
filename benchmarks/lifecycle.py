"""Lifecycle costs: `copier update` vs `copier copy` of the same package (goal <= 2.5x),
and `scaffold fleet update` over 50 generated services on this machine (goal <= 60 s)
with its speed-up over a serial loop.

    .venv/bin/python benchmarks/lifecycle.py [FLEET_SIZE] [SERIAL_SAMPLE]
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from pathlib import Path

from _common import alternate, report, snapshot, tmpdir
from conftest import generate_project, git

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_v2(template: Path) -> None:
    readme = template / "blueprints" / "_shared" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nBlueprint v2.\n")
    git(template, "commit", "-qam", "v2")
    git(template, "tag", "v2.0.0")


def main() -> None:
    import copier

    from scaffold import fleet

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    work = tmpdir()
    template = snapshot(work / "scaffold")
    make_v2(template)
    seed = generate_project(template, work / "seed" / "payments-api")

    def copy_once(i: int) -> None:
        generate_project(template, work / f"copy-{i}" / "payments-api")

    def update_once(i: int) -> None:
        dest = work / f"upd-{i}" / "payments-api"
        shutil.copytree(seed, dest, symlinks=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True,
                              conflict="inline", vcs_ref="v2.0.0", skip_answered=True)

    times = alternate(3, **{"copier copy": copy_once, "copier update (v1 -> v2)": update_once})
    report("copier update vs copier copy of the default package (hook included)", times, "copier copy",
           "ratio <= 2.5")

    fleet_dir = work / "fleet"
    for i in range(size):
        shutil.copytree(seed, fleet_dir / f"svc-{i:02d}", symlinks=True)
    serial_dir = work / "serial"
    for i in range(sample):
        shutil.copytree(seed, serial_dir / f"svc-{i:02d}", symlinks=True)
    start = time.perf_counter()
    serial = fleet.run(fleet.discover(serial_dir), "update", jobs=1)
    serial_per_repo = (time.perf_counter() - start) / sample
    start = time.perf_counter()
    results = fleet.run(fleet.discover(fleet_dir), "update", jobs=2)
    total = time.perf_counter() - start
    counts = fleet.summary(results)["counts"]
    assert all(r.status == "updated" for r in serial + results), counts
    print(f"\nscaffold fleet update, {size} services, 2 processes (2 cores)")
    print(f"  serial loop ({sample} repos): {serial_per_repo:.2f} s per repo -> {serial_per_repo * size:.1f} s for {size}")
    print(f"  fleet (jobs=2): {total:.1f} s for {size} ({total / size:.2f} s per repo), {counts['updated']} updated")
    print(f"  speed-up over serial: {serial_per_repo * size / total:.2f}x   goal: <= 60 s")


if __name__ == "__main__":
    main()
