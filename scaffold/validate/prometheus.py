"""Prometheus rules: promtool check/test, runbooks and test coverage per alert.

Judged on the files on disk, never on the catalog: a hand edit to a rule,
runbook or test in the generated package is caught too.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker

RULES_GLOB = "observability/prometheus/*.rules.yaml"
TESTS_GLOB = "observability/prometheus/*.test.yaml"
RUNBOOK_SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation")
REQUIRED_LABELS = ("severity", "tier", "team", "service")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")
TIER_OF = {"critical": "page", "warning": "ticket"}
# 0.014400000000000001 / 0.0029999999999999996: a float printed where a decimal was meant
FLOAT_ARTIFACT = re.compile(r"\d\.\d*(?:0{6,}[1-9]|9{6,}\d)")


def prometheus_rules(pkg: Package) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path, doc in pkg.yaml_documents("k8s/**/*.yaml"):
        if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
            yield path, doc


def alert_rules(groups: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    for group in groups or []:
        for rule in group.get("rules") or []:
            if "alert" in rule:
                yield rule


def _by_name(groups: list[Any]) -> dict[str, Any]:
    return {str(g.get("name")): g for g in groups if isinstance(g, dict)}


def _promtool_check(path: Path, rel: str) -> list[Finding]:
    res = tools.run("promtool", "check", "rules", str(path))
    if res.returncode == 0:
        return []
    said = []  # promtool's own lines, without its "Checking <path>"/"FAILED:" frame and repeats
    for text in res.output.splitlines():
        text = text.strip().replace(f"{path}: ", "")
        if text and not text.startswith("Checking ") and text != "FAILED:" and text not in said:
            said.append(text)
    line = re.search(r"\bline (\d+)\b", res.output)  # promtool names the line of YAML errors
    return [Finding(rel, f"promtool check rules: {chr(10).join(said)}", int(line.group(1)) if line else None)]


def _artifacts(groups: list[dict[str, Any]] | None, rel: str) -> list[Finding]:
    out = []
    for group in groups or []:
        for rule in group.get("rules") or []:
            if m := FLOAT_ARTIFACT.search(str(rule.get("expr", ""))):
                out.append(Finding(rel, f"{rule.get('alert') or rule.get('record')}: float artifact {m.group(0)!r} in expr"))
    return out


@checker
class PromtoolCheckRules:
    name = "prometheus-rules"
    tool = "promtool"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(RULES_GLOB)) or any(True for _ in prometheus_rules(pkg))

    def run(self, pkg: Package) -> list[Finding]:
        findings: list[Finding] = []
        plain: list[Any] = []
        for path in pkg.files(RULES_GLOB):
            rel = pkg.rel(path)
            problems = _promtool_check(path, rel)
            findings += problems
            if problems:
                continue  # promtool named the problem (and its line); the file may not even parse
            doc = yamlio.load_file(path) or {}
            findings += _artifacts(doc.get("groups"), rel)
            plain += doc.get("groups") or []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (path, doc) in enumerate(prometheus_rules(pkg)):
                rel = pkg.rel(path)
                groups = (doc.get("spec") or {}).get("groups")
                if not groups:
                    findings.append(Finding(rel, "PrometheusRule has no spec.groups"))
                    continue
                unwrapped = Path(tmp) / f"prometheusrule-{i}.yaml"
                unwrapped.write_text(yamlio.dump({"groups": groups}), encoding="utf-8")
                findings += [Finding(rel, f.message) for f in _promtool_check(unwrapped, rel)]  # a temp copy: no line
                findings += _artifacts(groups, rel)
                if plain and _by_name(groups) != _by_name(plain):
                    findings.append(Finding(rel, "PrometheusRule groups differ from the plain rule files"))
            for i, (path, groups) in enumerate(overlay_rule_patches(pkg)):
                rel = pkg.rel(path)
                scoped = Path(tmp) / f"overlay-{i}.yaml"
                scoped.write_text(yamlio.dump({"groups": groups}), encoding="utf-8")
                findings += [Finding(rel, f.message) for f in _promtool_check(scoped, rel)]
                findings += _artifacts(groups, rel)
                if plain and set(_by_name(groups)) != set(_by_name(plain)):
                    findings.append(Finding(rel, "the environment's rule groups are not those of the plain rule files"))
        return findings


def overlay_rule_patches(pkg: Package) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """Each environment's PrometheusRule spec, from its overlay's JSON patch (scaffold/artifacts/prometheus.py)."""
    for path in pkg.files("k8s/overlays/*/prometheusrule.patch.yaml"):
        ops = yamlio.load_file(path) or []
        for op in ops if isinstance(ops, list) else []:
            if isinstance(op, dict) and op.get("path") == "/spec":
                yield path, (op.get("value") or {}).get("groups") or []


@checker
class PromtoolTestRules:
    name = "prometheus-tests"
    tool = "promtool"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(TESTS_GLOB))

    weight = 10  # the longest checker: started first

    def run(self, pkg: Package) -> list[Finding]:
        return promtool_tests(pkg, pkg.files(TESTS_GLOB))


def promtool_tests(pkg: Package, paths: list[Path], parts: int | None = None) -> list[Finding]:
    """``promtool test rules`` over test files: each file's tests dealt into ``parts``
    (default: the validate jobs) runs at once, as promtool runs one test after another on
    one core and each test has its own storage; and each test evaluated with the rules it
    can observe only (`promtool_scope`), its rule files cut to that closure in a temporary
    copy. Neither changes a result. A file that cannot be planned (unreadable, globbed rule
    files that match nothing, rules promtool cannot load) is given to promtool as it is.
    One finding per failing file, promtool's own report, the temporary files named as the
    originals."""
    from concurrent.futures import ThreadPoolExecutor

    from . import jobs

    parts = parts or jobs()
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        runs: list[tuple[Path, Path, list[str]]] = []  # (original, cwd, file names given to promtool)
        renames: dict[str, str] = {}  # temporary file -> what the report calls it
        for n, path in enumerate(paths):
            plan = _plan(path, parts)
            if plan is None:
                runs.append((path, path.parent, [path.name]))
                continue
            for i, files in enumerate(plan):
                names = []
                for j, (doc, rule_docs) in enumerate(files):
                    stem = f"{n}-{i}-{j}"
                    if rule_docs is not None:
                        rule_files = []
                        for k, (original, rule_doc) in enumerate(rule_docs):
                            rule_path = Path(tmp) / f"{stem}-rules-{k}-{Path(original).name}"
                            rule_path.write_text(yamlio.dump_plain(rule_doc), encoding="utf-8")
                            renames[str(rule_path)] = original
                            rule_files.append(str(rule_path))
                        doc = {**doc, "rule_files": rule_files}
                    name = f"{stem}-{path.name}"
                    (Path(tmp) / name).write_text(yamlio.dump_plain(doc), encoding="utf-8")
                    renames[name] = path.name
                    names.append(name)
                runs.append((path, Path(tmp), names))
        with ThreadPoolExecutor(max_workers=max(1, min(parts, len(runs)))) as pool:
            results = list(pool.map(lambda r: tools.run("promtool", "test", "rules", *r[2], cwd=r[1]), runs))
        failed: dict[Path, list[str]] = {}
        for (path, _, _names), res in zip(runs, results):
            if res.returncode != 0:
                out = res.output
                for temp in sorted(renames, key=len, reverse=True):  # absolute rule paths before bare names
                    out = out.replace(temp, renames[temp])
                failed.setdefault(path, []).append(out)
    return [Finding(pkg.rel(path), _report(chr(10).join(out))) for path, out in failed.items()]


def _report(output: str) -> str:
    """promtool's report, its failing cases listed first: the report itself is cut to its
    last 4000 characters, and a long one would otherwise lose its first failures."""
    cases = dict.fromkeys(re.findall(r"(?:alertname: \S+|expr: \".*?\"), time: \S+?,", output))
    head = f"{len(cases)} failing case(s): {' '.join(cases)}\n" if cases else ""
    return f"promtool test rules: {head}{output[-4000:]}"


Planned = list[list[tuple[dict[str, Any], list[tuple[str, Any]] | None]]]


def _plan(path: Path, parts: int) -> Planned | None:
    """The test file as runs (one per part, tests dealt out by cost), each a list of test
    documents, with the cut rule documents they use (None: the whole files, absolute);
    tests that observe the same rules share a document. None: run the file as it is."""
    from . import promtool_scope as scope

    try:
        doc = yamlio.load_file(path)
    except Exception:  # noqa: BLE001 - promtool says what is wrong with it
        return None
    tests = doc.get("tests") if isinstance(doc, dict) else None
    rule_files = doc.get("rule_files") if isinstance(doc, dict) else None
    if not isinstance(tests, list) or not tests or not isinstance(rule_files, list) \
            or not all(isinstance(f, str) for f in rule_files):
        return None
    files = _rule_paths(path, rule_files)
    if files is None:
        return None
    rules = None
    if files and tools.run("promtool", "check", "rules", *map(str, files)).returncode == 0:
        try:
            rules = scope.Rules.index([yamlio.load_file(f) for f in files])
        except Exception:  # noqa: BLE001 - promtool loaded it; whole files then
            rules = None
    closures = [rules.closure(t) if rules else None for t in tests]
    if parts < 2 and (rules is None or all(c is None for c in closures)):
        return None  # nothing to split and nothing to cut
    loads = [0.0] * max(1, min(parts, len(tests)))
    chosen: list[list[int]] = [[] for _ in loads]
    for i in sorted(range(len(tests)), key=lambda i: -_test_cost(tests[i])):
        k = loads.index(min(loads))
        chosen[k].append(i)
        loads[k] += _test_cost(tests[i])
    whole = {**doc, "rule_files": [str(f) for f in files] or rule_files}
    said = [os.path.relpath(f, path.parent) for f in files]  # the rule files as the test file names them
    plan: Planned = []
    for idx in chosen:
        if not idx:
            continue
        buckets: dict[Any, list[int]] = {}
        for i in sorted(idx):
            buckets.setdefault(closures[i], []).append(i)
        run: list[tuple[dict[str, Any], list[tuple[str, Any]] | None]] = []
        for keep, members in buckets.items():
            picked = [tests[i] for i in members]
            if keep is None or rules is None:
                run.append(({**whole, "tests": picked}, None))
                continue
            cut = {**doc, "tests": picked}
            if "group_eval_order" in doc:
                cut["group_eval_order"] = scope.scoped_eval_order(doc["group_eval_order"], rules, keep)
            run.append((cut, list(zip(said, rules.cut(keep)))))
        plan.append(run)
    return plan


def _rule_paths(path: Path, rule_files: list[str]) -> list[Path] | None:
    """The test file's rule files, relative to it, globs expanded as promtool does; None
    when a pattern matches nothing (promtool's own report then)."""
    out: list[Path] = []
    for pattern in rule_files:
        full = pattern if Path(pattern).is_absolute() else str(path.parent / pattern)
        if any(c in pattern for c in "*?["):
            import glob

            matched = sorted(glob.glob(full))
            if not matched:
                return None
            out += [Path(m) for m in matched]
        else:
            out.append(Path(full))
    return out


def _test_cost(test: Any) -> float:
    """Minutes promtool evaluates for one test (its latest eval_time), plus its set-up."""
    latest = 0.0
    for key in ("alert_rule_test", "promql_expr_test"):
        for case in (test.get(key) if isinstance(test, dict) else None) or []:
            text = str(case.get("eval_time", "0")) if isinstance(case, dict) else "0"
            latest = max(latest, sum(int(n) * {"d": 1440, "h": 60, "m": 1, "s": 1 / 60}.get(u, 0)
                                     for n, u in re.findall(r"(\d+)([dhms])", text)))
    return latest + 10


def runbook_sections(text: str) -> dict[str, str]:
    """``## Heading`` -> body text."""
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


@checker
class AlertRunbooks:
    name = "alert-runbooks"
    tool = "scaffold"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(RULES_GLOB))

    def run(self, pkg: Package) -> list[Finding]:
        findings = []
        for path in pkg.files(RULES_GLOB):
            rel = pkg.rel(path)
            for rule in alert_rules((yamlio.load_file(path) or {}).get("groups")):
                findings += self._one(pkg, rel, rule)
        return findings

    def _one(self, pkg: Package, rel: str, rule: dict[str, Any]) -> list[Finding]:
        name = rule["alert"]
        labels, ann = rule.get("labels") or {}, rule.get("annotations") or {}
        out = [Finding(rel, f"{name}: missing label {k}") for k in REQUIRED_LABELS if not labels.get(k)]
        out += [Finding(rel, f"{name}: missing annotation {k}") for k in REQUIRED_ANNOTATIONS if not ann.get(k)]
        sev = labels.get("severity")
        if sev and TIER_OF.get(sev) != labels.get("tier"):
            out.append(Finding(rel, f"{name}: severity {sev} needs tier {TIER_OF.get(sev, '?')}, got {labels.get('tier')}"))
        url = str(ann.get("runbook_url", ""))
        if url and not url.endswith(f"/{name}.md"):
            out.append(Finding(rel, f"{name}: runbook_url {url} does not point to {name}.md"))
        book = pkg.root / "runbooks" / f"{name}.md"
        if not book.is_file():
            return out + [Finding(rel, f"{name}: runbooks/{name}.md does not exist")]
        sections = runbook_sections(book.read_text(encoding="utf-8"))
        for section in RUNBOOK_SECTIONS:
            if not sections.get(section):
                out.append(Finding(f"runbooks/{name}.md", f"missing or empty section '## {section}'"))
        return out


@checker
class AlertTestCoverage:
    name = "alert-test-coverage"
    tool = "scaffold"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(RULES_GLOB))

    def run(self, pkg: Package) -> list[Finding]:
        fires: set[str] = set()
        silent: set[str] = set()
        for path in pkg.files(TESTS_GLOB):
            for test in (yamlio.load_file(path) or {}).get("tests") or []:
                for case in test.get("alert_rule_test") or []:
                    (fires if case.get("exp_alerts") else silent).add(case.get("alertname"))
        findings = []
        for path in pkg.files(RULES_GLOB):
            rel = pkg.rel(path)
            for rule in alert_rules((yamlio.load_file(path) or {}).get("groups")):
                name = rule["alert"]
                if name not in fires:
                    findings.append(Finding(rel, f"{name}: no promtool test case makes it fire"))
                if name not in silent:
                    findings.append(Finding(rel, f"{name}: no promtool test case where it stays silent"))
        return findings


SCENARIOS_GLOB = "observability/prometheus/scenarios/*.test.yaml"


@checker
class PromtoolScenarios:
    """The detection scenarios (scaffold/scenarios.py): the page/ticket timelines docs/slo.md
    prints, asserted by promtool on the package's own rule files. Slow: hours of minutes."""

    name = "prometheus-scenarios"
    tool = "promtool"
    slow = True

    def applies(self, pkg: Package) -> bool:
        return bool(pkg.files(SCENARIOS_GLOB))

    weight = 20

    def run(self, pkg: Package) -> list[Finding]:
        return promtool_tests(pkg, pkg.files(SCENARIOS_GLOB))
