"""Load test with the SLO as its pass/fail thresholds.

    python3 tests/load/run.py --base-url http://127.0.0.1:8080 [--config tests/load/thresholds.json]
                              [--vus N] [--iterations N] [--max-duration SECONDS]

``thresholds.json`` is generated from the SLO answers, in k6's ``options.thresholds``
syntax: ``http_req_duration`` (milliseconds) with ``p(N)<X`` (also ``avg``, ``med``,
``max``), and ``http_req_failed`` with ``rate<X`` (a request fails on a connection
error or a status >= 400). ``--vus`` virtual users share ``--iterations`` requests
to the configured path (k6's shared-iterations executor), stopping at
``--max-duration``. Percentiles are nearest-rank. Fewer completed requests than
``min_requests`` fails the run: too few samples cannot show the thresholds hold.

Standard library only. Exit status 0 when every threshold holds, 99 when one is
crossed (as k6 does), 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

EXPRESSION = re.compile(r"^\s*(p\((?P<pct>\d+(?:\.\d+)?)\)|avg|med|max|rate)\s*(?P<op><=|<)\s*(?P<value>\d+(?:\.\d+)?)\s*$")
METRICS = {"http_req_duration": ("p", "avg", "med", "max"), "http_req_failed": ("rate",)}
THRESHOLDS_CROSSED = 99
TIMEOUT_S = 30


class ConfigError(Exception):
    pass


def parse(metric: str, expr: str) -> tuple[str, float | None, str, float]:
    """(aggregate, percentile or None, operator, bound) of one k6 threshold expression."""
    if metric not in METRICS:
        raise ConfigError(f"thresholds: unknown metric {metric!r}; allowed: {', '.join(METRICS)}")
    m = EXPRESSION.match(expr)
    agg = None if not m else ("p" if m.group("pct") else m.group(1))
    if not m or agg not in METRICS[metric]:
        allowed = "p(N)<X, avg<X, med<X, max<X" if metric == "http_req_duration" else "rate<X"
        raise ConfigError(f"thresholds.{metric}: {expr!r} is not supported; allowed: {allowed}")
    pct = float(m.group("pct")) if m.group("pct") else None
    if pct is not None and not 0 < pct <= 100:
        raise ConfigError(f"thresholds.{metric}: {expr!r}: the percentile must be in (0, 100]")
    return agg, pct, m.group("op"), float(m.group("value"))


def load_config(path: Path) -> dict:
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("thresholds"), dict):
        raise ConfigError(f"{path}: expected an object with a 'thresholds' object")
    for metric, exprs in cfg["thresholds"].items():
        if not isinstance(exprs, list) or not exprs:
            raise ConfigError(f"thresholds.{metric}: expected a list of expressions")
        for expr in exprs:
            parse(metric, str(expr))
    for key in ("vus", "iterations", "min_requests", "max_duration_s"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            raise ConfigError(f"{path}: {key} must be a positive integer")
    if not str(cfg.get("path", "")).startswith("/"):
        raise ConfigError(f"{path}: path must start with /")
    return cfg


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run(url: str, vus: int, iterations: int, max_duration: float) -> tuple[list[float], int]:
    """(latencies in ms, failed count) of up to ``iterations`` GETs shared by ``vus`` threads."""
    lock = threading.Lock()
    state = {"left": iterations, "failed": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + max_duration

    def vu() -> None:
        while time.monotonic() < deadline:
            with lock:
                if state["left"] <= 0:
                    return
                state["left"] -= 1
            start = time.perf_counter()
            failed = False
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 (our own URL)
                    resp.read()
                    failed = resp.status >= 400
            except urllib.error.HTTPError as err:
                err.read()
                failed = True
            except OSError:
                failed = True
            elapsed_ms = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed_ms)
                state["failed"] += failed

    threads = [threading.Thread(target=vu, daemon=True) for _ in range(vus)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_duration + TIMEOUT_S)
    return latencies, state["failed"]


def evaluate(cfg: dict, latencies: list[float], failed: int) -> list[tuple[bool, str]]:
    """(ok, line) per threshold, plus the sample-count check."""
    values = sorted(latencies)
    n = len(values)
    out: list[tuple[bool, str]] = []
    for metric, exprs in cfg["thresholds"].items():
        for expr in exprs:
            agg, pct, op, bound = parse(metric, str(expr))
            if n == 0:
                out.append((False, f"{metric} {expr}: no requests completed"))
                continue
            if agg == "rate":
                got, label = failed / n, "rate"
            elif agg == "p":
                got, label = percentile(values, pct), f"p({pct:g})"
            elif agg == "avg":
                got, label = sum(values) / n, "avg"
            elif agg == "med":
                got, label = percentile(values, 50), "med"
            else:
                got, label = values[-1], "max"
            ok = got < bound if op == "<" else got <= bound
            unit = "" if agg == "rate" else " ms"
            out.append((ok, f"{metric} {expr}: {label}={got:.6g}{unit}"))
    need = cfg["min_requests"]
    out.append((n >= need, f"requests {n} >= min_requests {need}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--config", type=Path, default=Path(__file__).with_name("thresholds.json"))
    parser.add_argument("--vus", type=int)
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--max-duration", type=float, help="seconds")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    vus = args.vus or cfg["vus"]
    iterations = args.iterations or cfg["iterations"]
    max_duration = args.max_duration or cfg["max_duration_s"]
    if vus < 1 or iterations < 1 or max_duration <= 0:
        parser.error("--vus, --iterations and --max-duration must be positive")
    url = args.base_url.rstrip("/") + cfg["path"]
    print(f"load: {iterations} requests to {url} from {vus} VUs (at most {max_duration:g} s)")
    started = time.monotonic()
    latencies, failed = run(url, vus, iterations, max_duration)
    took = time.monotonic() - started
    print(f"done: {len(latencies)} requests, {failed} failed, in {took:.1f} s")
    results = evaluate(cfg, latencies, failed)
    for ok, line in results:
        print(("PASS " if ok else "FAIL ") + line)
    crossed = [line for ok, line in results if not ok]
    if crossed:
        print(f"thresholds crossed: {'; '.join(crossed)}")
        return THRESHOLDS_CROSSED
    print("all thresholds hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
