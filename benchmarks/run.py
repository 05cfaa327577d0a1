"""Run every benchmark script in this folder, each in its own process (not a test: the
figures go in the README), then rewrite the README's goals table from their figures.

    run.py [--quick] [--fleet=N] [--no-fleet] [--no-readme] [NAME ...]

NAME picks scripts (e.g. `validate_tools lifecycle`). --quick runs 2 rounds and a 4-service
fleet (a smoke run while developing; its table says so); --fleet=N sizes the fleet alone; --no-fleet
skips it (its README row stays as it was). The table sits between the
`<!-- bench:goals -->` markers of README.md; scripts not run keep their rows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:goals -->", "<!-- /bench:goals -->"
QUICK = {"validate_tools": ["--runs", "2", "--slos", "10"], "copy_package": ["--runs", "2"],
         "lifecycle": ["--runs", "2", "--fleet", "4", "--fleet-runs", "1"], "slo_scale": ["--runs", "2"]}


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rows(fig: dict[str, dict]) -> dict[str, str]:
    out = {}
    if v := fig.get("validate_tools"):
        line = (f"| 1. `scaffold validate` (default set, checkov and terraform excluded) vs the same tools run by hand "
                f"({v['commands']} commands, `benchmarks/validate_tools.py`) | {v['validate_s']:.1f} s vs "
                f"{v['by_hand_s']:.1f} s = **{v['validate_ratio']:.2f}×** | ≤ 0.6× (and ≤ 3 s quiet) | "
                f"{_met(v['validate_ratio'] <= 0.6)}{'' if v['validate_s'] <= 3 else ' (3 s: **no**)'} |")
        scale = {k: v[k] for k in v if k.startswith(("1 env", "4 env", "+", "default ("))}
        if scale:
            line += "\n| validate growth: " + ", ".join(f"{k} {s:.1f} s" for k, s in scale.items()) + " | — | linear | see text |"
        out["validate"] = line
    if c := fig.get("copy_package"):
        out["copy"] = (f"| 2. `copier copy --defaults` (hook included) vs Copier's floor: the same {c['files']} files as plain "
                       f"files in a template | {c['copy_s']:.2f} s vs {c['plain_s']:.2f} s = **{c['copy_ratio']:.3f}×**; "
                       f"vs a 1-file template {c['vs_tiny']:.2f}×; Copier's per-file git sync {c['git_calls']} calls "
                       f"= {c['git_s']:.2f} s ({c['git_share']:.0%} of a plain copy) | ≤ 1.3× | {_met(c['copy_ratio'] <= 1.3)} |")
    if u := fig.get("lifecycle"):
        out["update"] = (f"| 3. `copier update` v1→v2 vs `copier copy` (CLI, hook included) | {u['update_s']:.2f} s vs "
                         f"{u['copy_s']:.2f} s = **{u['update_ratio']:.2f}×** | ≤ 2.5× | {_met(u['update_ratio'] <= 2.5)} |")
        if "fleet_speedup" in u:
            out["fleet"] = (f"| 4. `scaffold fleet update`, {u['fleet_size']} distinct services, 2 processes, vs a serial "
                            f"loop of `copier update` + commit ({u.get('fleet_runs', 1)} round(s)) | "
                            f"{u['fleet_s']:.1f} s vs {u['serial_s']:.1f} s = "
                            f"**{u['fleet_speedup']:.2f}×** (parallel efficiency {u['efficiency']:.0%}; same trees: "
                            f"{u['same_trees']}) | ≥ 1.8× | {_met(u['fleet_speedup'] >= 1.8)} |")
    if s := fig.get("slo_scale"):
        out["slo"] = (f"| 5. rendering 50 extra SLOs vs the default package (hook skipped) | {s['slos_s']:.2f} s vs "
                      f"{s['default_s']:.2f} s = **{s['slo_ratio']:.2f}×** | ≤ 2× | {_met(s['slo_ratio'] <= 2)} |")
    return out


def write_readme(fig: dict[str, dict], quick: bool) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block: table not written")
        return
    head, rest = text.split(START, 1)
    old, tail = rest.split(END, 1)
    kept = {}
    for line in old.splitlines():
        for key, prefix in (("validate", "| 1."), ("copy", "| 2."), ("update", "| 3."), ("fleet", "| 4."),
                            ("slo", "| 5.")):
            if line.startswith(prefix):
                kept[key] = line
        if line.startswith("| validate growth") and "validate" in kept:
            kept["validate"] += "\n" + line
    new = {**kept, **rows(fig)}
    # The load each kept row was measured under stays said, next to this run's.
    old_loads = {}
    if m := re.search(r"Load while measuring \(a shared 2-core machine\): (.*?)\.\n", old):
        for part in m.group(1).split("; "):
            name, _, said = part.partition(": ")
            if said and name not in fig:
                old_loads[name] = said
    loads = "; ".join(f"{k}: {v}" for k, v in sorted({**old_loads, **{k: v["load"] for k, v in fig.items()
                                                                     if "load" in v}}.items()))
    table = ["", "| goal (alternated medians, one run of `make bench`) | figure | goal | met |", "|---|---|---|---|"]
    table += [new[k] for k in ("validate", "copy", "update", "fleet", "slo") if k in new]
    table += ["", f"{'Smoke figures (`--quick`: 2 rounds, a 4-service fleet). ' if quick else ''}"
                  f"Load while measuring (a shared 2-core machine): {loads or 'unknown'}.", ""]
    README.write_text(head + START + "\n".join(table) + END + tail, encoding="utf-8")
    print(f"README.md goals table updated ({', '.join(fig)})")


if __name__ == "__main__":
    argv = sys.argv[1:]
    quick = "--quick" in argv
    readme = "--no-readme" not in argv
    fleet = [a.split("=", 1)[1] for a in argv if a.startswith("--fleet=")]
    only = {a for a in argv if not a.startswith("--")}
    failed = 0
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for script in sorted(HERE.glob("*.py")):
            if script.name.startswith("_") or script.name == "run.py" or (only and script.stem not in only):
                continue
            print(f"=== {script.stem}", flush=True)
            out = Path(tmp) / f"{script.stem}.json"
            extra = QUICK.get(script.stem, []) if quick else []
            if fleet and script.stem == "lifecycle":
                extra = [*extra, "--fleet", fleet[-1]]
            if "--no-fleet" in argv and script.stem == "lifecycle":  # the fleet row keeps its last figure
                extra = [*extra, "--no-fleet"]
            rc = subprocess.run([sys.executable, str(script), *extra], cwd=HERE,
                                env={**__import__("os").environ, "BENCH_JSON": str(out)}).returncode
            failed += rc != 0
            if out.is_file():
                figures[script.stem] = json.loads(out.read_text())
    if readme and figures:
        write_readme(figures, quick)
    sys.exit(1 if failed else 0)
