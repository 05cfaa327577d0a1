"""Benchmark helpers: alternate the runs being compared, report medians and ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def snapshot(dest: Path) -> Path:
    from conftest import snapshot_template, trust_source

    repo = snapshot_template(dest)
    trust_source(repo)  # fleet and check run only trusted template sources
    return repo


def alternate(runs: int, **cases: Callable[[int], None]) -> dict[str, list[float]]:
    """Run each case once per round, interleaved, so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(runs):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn(i)
            times[name].append(time.perf_counter() - start)
    return times


def report(title: str, times: dict[str, list[float]], baseline: str, goal: str = "") -> float:
    base = statistics.median(times[baseline])
    print(f"\n{title}")
    print(f"  {'case':<28} {'median s':>9} {'ratio':>7}  (n={len(times[baseline])})")
    ratio = 0.0
    for name, samples in times.items():
        med = statistics.median(samples)
        ratio = med / base
        print(f"  {name:<28} {med:>9.3f} {ratio:>7.2f}")
    if goal:
        print(f"  goal: {goal}")
    return ratio


def copier_copy(src: Path, dest: Path, *extra: str) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet",
                    "--vcs-ref", "HEAD", *extra, str(src), str(dest)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})


def tmpdir() -> Path:
    """A scratch folder removed when the benchmark exits (renders are hundreds of files)."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix="scaffold-bench-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
