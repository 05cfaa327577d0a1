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
sys.path.insert(0, str(ROOT))  # `tests.helpers`, as the tests import it


def snapshot(dest: Path) -> Path:
    from tests.helpers import snapshot_template, trust_source

    repo = snapshot_template(dest)
    trust_source(repo)  # fleet and check run only trusted template sources
    return repo


CPU: dict[str, list[float]] = {}  # case -> CPU seconds (user+sys, this process and its children) per run


def _cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def alternate(runs: int, **cases: Callable[[int], None]) -> dict[str, list[float]]:
    """Run each case once per round, interleaved, so machine noise hits all alike.
    Wall seconds are returned; CPU seconds (less sensitive to a loaded machine) go to CPU."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name in cases:
        CPU[name] = []
    for i in range(runs):
        for name, fn in cases.items():
            cpu = _cpu()
            start = time.perf_counter()
            fn(i)
            times[name].append(time.perf_counter() - start)
            CPU[name].append(_cpu() - cpu)
    return times


def load() -> str:
    """The load average, said next to the figures (the machine may be shared)."""
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:  # pragma: no cover
        return "load average unknown"


def report(title: str, times: dict[str, list[float]], baseline: str, goal: str = "") -> float:
    """Print medians and ratios to the baseline (wall, and CPU where measured); the last
    case's wall ratio is returned."""
    base = statistics.median(times[baseline])
    cpu_base = statistics.median(CPU[baseline]) if CPU.get(baseline) else 0.0
    print(f"\n{title}   [{load()}]")
    print(f"  {'case':<34} {'median s':>9} {'ratio':>7} {'CPU s':>8} {'ratio':>7}  (n={len(times[baseline])})")
    ratio = 0.0
    for name, samples in times.items():
        med = statistics.median(samples)
        ratio = med / base
        cpu = statistics.median(CPU[name]) if CPU.get(name) else 0.0
        cpu_text = f"{cpu:>8.2f} {cpu / cpu_base:>7.2f}" if cpu_base else f"{'':>8} {'':>7}"
        print(f"  {name:<34} {med:>9.3f} {ratio:>7.2f} {cpu_text}")
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


def save(name: str, out: dict) -> dict:
    """Write a script's figures where run.py reads them (BENCH_JSON), with the load."""
    import json

    target = os.environ.get("BENCH_JSON")
    if target:
        Path(target).write_text(json.dumps({**out, "load": load()}, indent=1, default=str))
    return out
