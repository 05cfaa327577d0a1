"""Render cost of SLOs: `copier copy --defaults --skip-tasks` of the default
package vs the same with 50 extra SLOs (each adds 3 alerts, their rules,
runbooks and promtool cases), alternated in one run. Goal: ratio <= 2.
Rendering only: the backlog hook is skipped in both."""

from __future__ import annotations

import json

import argparse
import statistics

from _common import alternate, copier_copy, report, save, snapshot, tmpdir

RUNS = 5
EXTRA = 50


def extra_slos(n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 2:
            out.append({"name": f"dep-{i}", "objective": 99.5, "latency_ms": 100 * (i % 7 + 1)})
        else:
            route = f"/r{i}"
            out.append({"name": f"route-{i}", "objective": 99.9,
                        "error_query": f'sum(rate(http_requests_total{{route="{route}",code=~"5.."}}[{{{{window}}}}]))',
                        "total_query": f'sum(rate(http_requests_total{{route="{route}"}}[{{{{window}}}}]))'})
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args(argv)
    work = tmpdir()
    src = snapshot(work / "scaffold")
    data = json.dumps(extra_slos(EXTRA))  # JSON is YAML: the `slos` answer is a yaml question
    times = alternate(
        args.runs,
        **{"default package": lambda i: copier_copy(src, work / "a" / "payments-api", "--skip-tasks"),
           f"{EXTRA} extra SLOs": lambda i: copier_copy(src, work / "b" / "payments-api", "--skip-tasks",
                                                        "--data", f"slos={data}")},
    )
    ratio = report(f"copier copy: default vs {EXTRA} extra SLOs", times, "default package", "ratio <= 2")
    for name in ("a", "b"):
        pkg = work / name / "payments-api"
        print(f"  {name}: {sum(1 for p in pkg.rglob('*') if p.is_file())} files, "
              f"{sum(1 for _ in (pkg / 'runbooks').glob('*.md'))} runbooks")
    return {"slo_ratio": ratio, "default_s": statistics.median(times["default package"]),
            "slos_s": statistics.median(times[f"{EXTRA} extra SLOs"])}


if __name__ == "__main__":
    save("slo_scale", main())
