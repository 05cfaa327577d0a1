"""Run every benchmark script in this folder (not a test: figures go in the README)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

if __name__ == "__main__":
    only = set(sys.argv[1:])
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or script.name == "run.py":
            continue
        if only and script.stem not in only:
            continue
        print(f"=== {script.stem}")
        runpy.run_path(str(script), run_name="__main__")
