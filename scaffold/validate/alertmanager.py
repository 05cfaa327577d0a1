"""Alertmanager: ``amtool check-config``, and every route test case resolved by amtool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker

CONFIG = "observability/alertmanager/alertmanager.yaml"
ROUTE_TESTS = "observability/alertmanager/routes.test.yaml"
DEPRECATED = ("match", "match_re", "source_match", "source_match_re", "target_match", "target_match_re")


def _deprecated_keys(node: Any, path: str = "") -> list[str]:
    """Paths of deprecated ``match``-style keys anywhere in the config."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key in DEPRECATED:
                found.append(where)
            found += _deprecated_keys(value, where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _deprecated_keys(value, f"{path}[{i}]")
    return found


def label_args(labels: dict[str, Any]) -> list[str]:
    """Labels as amtool matcher arguments; values are double-quoted Go-style."""
    return [f"{k}={json.dumps(str(v))}" for k, v in sorted(labels.items())]


def check_config(config: Path, rel: str) -> list[Finding]:
    res = tools.run("amtool", "check-config", str(config))
    findings = [] if res.returncode == 0 else [Finding(rel, f"amtool check-config: {res.output}")]
    data = yamlio.load_file(config)
    for where in _deprecated_keys(data):
        findings.append(Finding(rel, f"{where}: deprecated match syntax; use matchers"))
    return findings


def check_routes(config: Path, tests: Path, rel: str) -> list[Finding]:
    doc = yamlio.load_file(tests) or {}
    cases = doc.get("tests") if isinstance(doc, dict) else None
    if not cases:
        return [Finding(rel, "no route test cases")]
    findings = []
    for i, case in enumerate(cases):
        name = case.get("name") or f"case {i}"
        want = [str(r) for r in case.get("receivers") or []]
        labels = case.get("labels") or {}
        if not want or not labels:
            findings.append(Finding(rel, f"{name}: needs labels and expected receivers"))
            continue
        res = tools.run("amtool", "config", "routes", "test", f"--config.file={config}",
                        f"--verify.receivers={','.join(want)}", *label_args(labels))
        got = res.stdout.strip()
        if res.returncode != 0 or got != ",".join(want):
            findings.append(Finding(rel, f"{name}: {labels} routed to {got or res.output!r}, expected {','.join(want)}"))
    return findings


@checker
class AlertmanagerConfig:
    name = "alertmanager-config"
    tool = "amtool"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / CONFIG).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        return check_config(pkg.root / CONFIG, CONFIG)


@checker
class AlertmanagerRoutes:
    name = "alertmanager-routes"
    tool = "amtool"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / CONFIG).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        if not (pkg.root / ROUTE_TESTS).is_file():
            return [Finding(ROUTE_TESTS, "missing: every alertmanager.yaml ships its route tests")]
        return check_routes(pkg.root / CONFIG, pkg.root / ROUTE_TESTS, ROUTE_TESTS)
