"""Integration and end-to-end checks of the built container, from the outside.

ci.yml's ``integration`` job runs the image it built (``docker run``, nothing
pushed) and then, from the runner:

    python3 tests/integration/run.py wait --url http://127.0.0.1:8080/readyz
    python3 tests/integration/run.py http --blueprint service --base-url ... --metrics-url ... --route /hello
    python3 tests/integration/run.py logs --blueprint service --route /hello container.log

Standard library only, so it needs nothing but a Python 3.9+ on the runner.
Add your own end-to-end cases to ``check_service``: each is a request and what
the answer must be. Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request

TIMEOUT_S = 10


def get(url: str) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 (the URL is ours)
            return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8", "replace")


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        print(("PASS " if ok else "FAIL ") + what + ("" if ok or not detail else f": {detail}"))
        if not ok:
            self.failed.append(what)
        return ok

    def json_body(self, what: str, body: str) -> object:
        try:
            return json.loads(body)
        except ValueError:
            self.check(False, what, f"not JSON: {body[:200]!r}")
            return None


def counter(exposition: str, name: str, labels: dict[str, str]) -> float:
    """Sum of ``name`` samples whose labels include ``labels`` (Prometheus text format)."""
    total = 0.0
    for line in exposition.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def check_probes(c: Checks, base: str) -> None:
    for path in ("/healthz", "/readyz"):
        status, _, body = get(base + path)
        c.check(status == 200, f"GET {path} answers 200", f"got {status} {body[:200]!r}")


def check_service(c: Checks, base: str, metrics: str, route: str) -> None:
    check_probes(c, base)
    status, headers, body = get(base + route)
    if c.check(status == 200, f"GET {route} answers 200", f"got {status} {body[:200]!r}"):
        c.check(headers.get("Content-Type", "").startswith("application/json"),
                f"GET {route} answers JSON", headers.get("Content-Type", "no Content-Type"))
        c.check(isinstance(c.json_body(f"GET {route} body", body), dict), f"GET {route} body is a JSON object")
    status, _, body = get(base + "/no-such-route")
    c.check(status == 404, "an unknown route answers 404", f"got {status}")
    status, _, _ = get(base + "/metrics")
    c.check(status == 404, "/metrics is not served on the routed port", f"got {status}")
    status, _, exposition = get(metrics + "/metrics")
    if c.check(status == 200, "GET /metrics on the metrics port answers 200", f"got {status}"):
        served = counter(exposition, "http_requests_total", {"route": route, "code": "200"})
        c.check(served >= 1, f'http_requests_total{{route="{route}",code="200"}} counts the request',
                f"got {served}")


def check_worker(c: Checks, base: str) -> None:
    check_probes(c, base)
    status, _, exposition = get(base + "/metrics")
    if c.check(status == 200, "GET /metrics answers 200", f"got {status}"):
        c.check(re.search(r"^worker_jobs_total\{", exposition, re.M) is not None,
                "worker_jobs_total is served", "no worker_jobs_total sample")


def wait(url: str, tries: int, interval: float) -> int:
    """Bounded readiness wait: ``tries`` attempts, ``interval`` seconds apart."""
    last = "no answer"
    for attempt in range(1, tries + 1):
        try:
            status, _, _ = get(url)
            if status == 200:
                print(f"ready after {attempt} tries: {url}")
                return 0
            last = f"HTTP {status}"
        except OSError as err:
            last = str(err)
        if attempt < tries:
            time.sleep(interval)
    print(f"FAIL not ready after {tries} tries ({last}): {url}")
    return 1


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def check_logs(c: Checks, path: str, route: str | None) -> None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip()]
    c.check(bool(lines), "the container wrote logs", "no log lines")
    entries, bad = [], []
    for n, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            bad.append(f"line {n}: {line[:200]!r}")
    c.check(not bad, f"every log line ({len(lines)}) is a JSON object",
            f"{len(bad)} are not: " + "; ".join(bad[:3]))
    if route:
        c.check(any(route in _strings(e) for e in entries), f"a log line records the request to {route}",
                "no JSON log line names the route")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wait", help="wait until a URL answers 200")
    w.add_argument("--url", required=True)
    w.add_argument("--tries", type=int, default=30)
    w.add_argument("--interval", type=float, default=2.0)
    h = sub.add_parser("http", help="the HTTP checks against the running container")
    h.add_argument("--blueprint", choices=("service", "worker"), required=True)
    h.add_argument("--base-url", required=True)
    h.add_argument("--metrics-url", help="the metrics port's base URL (services)")
    h.add_argument("--route", default="/hello")
    lg = sub.add_parser("logs", help="every line the container logged is a JSON object")
    lg.add_argument("--blueprint", choices=("service", "worker", "cronjob"), required=True)
    lg.add_argument("--route", default="/hello")
    lg.add_argument("file")
    args = parser.parse_args(argv)

    if args.command == "wait":
        if args.tries < 1 or args.interval < 0:
            parser.error("--tries must be >= 1 and --interval >= 0")
        return wait(args.url, args.tries, args.interval)
    c = Checks()
    if args.command == "http":
        base = args.base_url.rstrip("/")
        if args.blueprint == "service":
            if not args.metrics_url:
                parser.error("--metrics-url is required for a service")
            check_service(c, base, args.metrics_url.rstrip("/"), args.route)
        else:
            check_worker(c, base)
    else:
        check_logs(c, args.file, args.route if args.blueprint == "service" else None)
    if c.failed:
        print(f"{len(c.failed)} check(s) failed: " + "; ".join(c.failed))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
