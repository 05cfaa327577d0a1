"""Grafana dashboards: structure, and every panel and annotation query parsed by promtool.

Queries are made concrete (``$__rate_interval`` -> ``5m``, ``$namespace`` ->
a namespace) and written as recording rules into a temporary rule file, so
``promtool check rules`` parses them with Prometheus' own parser. Failures
name the panel title.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker, error_line

DASHBOARDS = "observability/grafana/dashboards"
MIN_SCHEMA = 39
# Grafana's built-in variables, with a concrete value for parsing.
BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__interval_ms": "60000",
            "__range_s": "3600", "__range_ms": "3600000"}
_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*[A-Za-z_]\w*\s*\)\s*$", re.S)


@dataclass(frozen=True)
class Query:
    panel: str
    ref_id: str
    expr: str


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed children included; rows themselves are skipped."""
    for p in dashboard.get("panels") or []:
        if p.get("type") == "row":
            yield from (c for c in p.get("panels") or [] if c.get("type") != "row")
        else:
            yield p


def variable_values(dashboard: dict[str, Any]) -> dict[str, str]:
    values = dict(BUILTINS)
    for v in (dashboard.get("templating") or {}).get("list") or []:
        current = (v.get("current") or {}).get("value")
        values[v.get("name", "")] = str(current) if isinstance(current, str) and current else "x"
    return values


def substitute(expr: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """The query with variables replaced; and the names it used that nobody defines."""
    unknown: list[str] = []

    def repl(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name not in values:
            unknown.append(name)
            return match.group(0)
        return values[name]

    return _VAR.sub(repl, expr), unknown


def structure(dashboard: dict[str, Any], stem: str) -> list[str]:
    problems = []
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < MIN_SCHEMA:
        problems.append(f"schemaVersion {dashboard.get('schemaVersion')!r} < {MIN_SCHEMA}")
    if dashboard.get("uid") != stem:
        problems.append(f"uid {dashboard.get('uid')!r} does not match the file name {stem!r}")
    variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
    ds = [v for v in variables.values() if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds:
        problems.append("no templated Prometheus datasource variable")
    ns = variables.get("namespace")
    if not ns or ns.get("type") not in ("query", "custom"):
        problems.append("no templated namespace variable")
    ds_names = {v.get("name") for v in ds}
    seen_ids = set()
    for p in panels(dashboard):
        title = p.get("title") or f"panel id {p.get('id')}"
        if p.get("id") in seen_ids:
            problems.append(f"panel {title!r}: duplicate id {p.get('id')}")
        seen_ids.add(p.get("id"))
        if not (p.get("description") or "").strip():
            problems.append(f"panel {title!r}: no description")
        elif re.search(r"https?://", p.get("description") or ""):
            problems.append(f"panel {title!r}: a URL in the description; give it as a panel link (`links`)")
        for link in p.get("links") or []:
            if not re.match(r"https?://\S+$", str(link.get("url") or "")) or not link.get("title"):
                problems.append(f"panel {title!r}: link {link.get('title')!r} needs a title and an http(s) url")
        steps = [s.get("value") for s in ((((p.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {})
                                          .get("steps") or [])]
        if steps and (steps[0] is not None or any(not isinstance(v, (int, float)) for v in steps[1:])
                      or steps[1:] != sorted(steps[1:])):
            problems.append(f"panel {title!r}: threshold steps must start at null and ascend; got {steps}")
        if not ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
            problems.append(f"panel {title!r}: no unit")
        if not _templated_ds(p.get("datasource"), ds_names):
            problems.append(f"panel {title!r}: datasource is not the templated variable")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"panel {title!r}: no queries")
        ref_ids = [t.get("refId") for t in targets]
        if not all(ref_ids) or len(set(ref_ids)) != len(ref_ids):
            problems.append(f"panel {title!r}: every query needs its own explicit refId; got {ref_ids}")
        for t in targets:
            if "[5m]" in (t.get("expr") or "") or re.search(r"\[\d+[smhd]\]", t.get("expr") or ""):
                problems.append(f"panel {title!r} query {t.get('refId')}: fixed range; use $__rate_interval")
    return problems


def _templated_ds(ref: Any, names: set[str]) -> bool:
    uid = ref.get("uid") if isinstance(ref, dict) else ref
    return isinstance(uid, str) and any(uid in (f"${n}", f"${{{n}}}") for n in names)


def queries(dashboard: dict[str, Any]) -> tuple[list[Query], list[str]]:
    """Concrete PromQL of every panel target and of the query variables; unknown variables as problems."""
    values = variable_values(dashboard)
    out, problems = [], []
    for p in panels(dashboard):
        title = p.get("title") or f"panel id {p.get('id')}"
        for t in p.get("targets") or []:
            expr, unknown = substitute(t.get("expr") or "", values)
            for name in unknown:
                problems.append(f"panel {title!r} query {t.get('refId')}: undefined variable ${name}")
            out.append(Query(title, str(t.get("refId")), expr))
    for a in (dashboard.get("annotations") or {}).get("list") or []:
        if a.get("expr"):
            expr, unknown = substitute(a["expr"], values)
            for name in unknown:
                problems.append(f"annotation {a.get('name')!r}: undefined variable ${name}")
            out.append(Query(f"annotation {a.get('name')}", "annotation", expr))
    for v in (dashboard.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else str(q or "")
        inner = _LABEL_VALUES.match(q)
        expr, _ = substitute(inner.group(1) if inner else q, values)
        out.append(Query(f"variable {v.get('name')}", "var", expr))
    return out, problems


def promtool_problems(named: list[Query]) -> list[str]:
    """Parse every query with promtool; each failure names its panel."""
    if not named:
        return []
    records = {f"dashboard:q{i}:query": q for i, q in enumerate(named)}
    doc = {"groups": [{"name": "dashboard-queries",
                       "rules": [{"record": r, "expr": q.expr} for r, q in records.items()]}]}
    with tempfile.TemporaryDirectory(prefix="scaffold-grafana-") as tmp:
        path = Path(tmp) / "queries.rules.yaml"
        path.write_text(yamlio.dump(doc), encoding="utf-8")
        res = tools.run("promtool", "check", "rules", str(path))
    if res.returncode == 0:
        return []
    problems = []
    for line in res.output.splitlines():
        hit = re.search(r'"(dashboard:q\d+:query)": (.*)$', line)
        if hit and hit.group(1) in records:
            q = records[hit.group(1)]
            problems.append(f"panel {q.panel!r} query {q.ref_id}: {hit.group(2)} in `{q.expr}`")
    return problems or [f"promtool check rules: {res.output}"]


def check_dashboard(path: Path, rel: str) -> list[Finding]:
    try:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        return [Finding(rel, f"invalid JSON: {err}", error_line(err))]
    problems = structure(dashboard, path.name.removesuffix(".json"))
    named, unknown = queries(dashboard)
    problems += unknown + promtool_problems(named)
    return [Finding(rel, p) for p in problems]


@checker
class GrafanaDashboards:
    name = "grafana-dashboards"
    tool = "promtool"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(f"{DASHBOARDS}/*.json"))

    def run(self, pkg: Package) -> list[Finding]:
        findings = []
        for path in pkg.files(f"{DASHBOARDS}/*.json"):
            findings += check_dashboard(path, pkg.rel(path))
        return findings
