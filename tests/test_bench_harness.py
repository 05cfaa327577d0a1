"""The benchmark harness (benchmarks/run.py) turns figures into the README goals table:
met or not, honestly, and keeps the rows of scripts that did not run. No timing here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FIGURES = {
    "validate_tools": {"commands": 96, "validate_s": 7.0, "by_hand_s": 20.0, "validate_ratio": 0.35,
                       "1 environment": 5.0, "4 environments": 8.0, "load": "load average 1.0"},
    "copy_package": {"files": 240, "copy_s": 2.0, "plain_s": 2.5, "copy_ratio": 0.8, "vs_tiny": 4.0,
                     "git_calls": 239, "git_s": 0.5, "git_share": 0.2, "load": "x"},
    "lifecycle": {"update_s": 6.0, "copy_s": 2.0, "update_ratio": 3.0, "fleet_size": 4, "fleet_s": 10.0,
                  "serial_s": 15.0, "fleet_speedup": 1.5, "efficiency": 0.75, "same_trees": True, "load": "x"},
}


def _run_module():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.fast
def test_goals_table_says_met_or_not_and_keeps_rows_not_rerun(tmp_path, monkeypatch):
    run = _run_module()
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{run.START}\n| 5. rendering 50 extra SLOs | old | ≤ 2× | yes |\n{run.END}\nafter\n")
    monkeypatch.setattr(run, "README", readme)
    run.write_readme(FIGURES, quick=True)
    text = readme.read_text()
    table = text.split(run.START, 1)[1].split(run.END, 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert [line[:4] for line in lines[1:]] == ["| 1.", "| va", "| 2.", "| 3.", "| 4.", "| 5."]
    assert "**0.35×** | ≤ 0.6× (and ≤ 3 s quiet) | yes (3 s: **no**)" in table
    assert "**3.00×** | ≤ 2.5× | **no**" in table  # update: not met, said so
    assert "**1.50×** (parallel efficiency 75%" in table and "≥ 1.8× | **no**" in table
    assert "| 5. rendering 50 extra SLOs | old |" in table  # not re-run: kept
    assert "Smoke figures" in table and text.endswith(f"{run.END}\nafter\n")


@pytest.mark.fast
def test_kept_rows_keep_the_load_they_were_measured_under(tmp_path, monkeypatch):
    run = _run_module()
    readme = tmp_path / "README.md"
    readme.write_text(f"{run.START}\n| 5. rendering 50 extra SLOs | old | ≤ 2× | yes |\n\nLoad while measuring "
                      f"(a shared 2-core machine): lifecycle: load average 9.0; slo_scale: load average 8.0 (1 min)."
                      f"\n{run.END}\n")
    monkeypatch.setattr(run, "README", readme)
    run.write_readme({"lifecycle": FIGURES["lifecycle"]}, quick=False)
    said = readme.read_text().split("Load while measuring (a shared 2-core machine): ", 1)[1].split("\n", 1)[0]
    assert said == "lifecycle: x; slo_scale: load average 8.0 (1 min)."
