"""Run every benchmark script in this folder, each in its own process
(not a test: figures go in the README). `run.py [NAME ...]` picks some."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    only = set(sys.argv[1:])
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or script.name == "run.py" or (only and script.stem not in only):
            continue
        print(f"=== {script.stem}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE).returncode != 0
    sys.exit(1 if failed else 0)
