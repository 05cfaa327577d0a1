"""ci.yml's test stages (scaffold.teststages): the scripts its jobs run exist and parse,
the load test's thresholds are still the SLO the answers state, and the ZAP rules
file is one zap-baseline.py can read."""

from __future__ import annotations

import json
import re

from .. import yamlio
from ..artifacts import teststages
from ..model.package import Package
from . import Finding, checker
from .app import parser_for

CI = ".github/workflows/ci.yml"
_SCRIPT = re.compile(r"\bpython3 (tests/\S+\.py)\b")
ZAP_ACTIONS = ("IGNORE", "INFO", "WARN", "FAIL")


@checker
class TestStagesChecker:
    name = "test-stages"
    tool = "python"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return teststages.applies(pkg.model)

    def run(self, pkg: Package) -> list[Finding]:
        findings: list[Finding] = []
        findings += script_findings(pkg)
        if teststages.has_http_route(pkg.model):
            findings += threshold_findings(pkg)
            findings += zap_rules_findings(pkg)
        return findings


def script_findings(pkg: Package) -> list[Finding]:
    """Every tests/*.py a ci.yml step runs exists and parses."""
    out: list[Finding] = []
    ci = pkg.root / CI
    if not ci.is_file():
        return [Finding(CI, "missing: the test stages run from it")]
    doc = yamlio.load_file(ci)
    named = set()
    for job in (doc.get("jobs") or {}).values():
        for st in (job or {}).get("steps") or []:
            named |= set(_SCRIPT.findall(str((st or {}).get("run", ""))))
    for rel in sorted(named | {teststages.INTEGRATION_SCRIPT}):
        path = pkg.root / rel
        if not path.is_file():
            out.append(Finding(rel, f"missing: {CI} runs it"))
            continue
        parse = parser_for(path)
        out += [Finding(rel, msg) for msg in (parse(path) if parse else [])]
    return out


def threshold_findings(pkg: Package) -> list[Finding]:
    rel = teststages.LOAD_CONFIG
    path = pkg.root / rel
    if not path.is_file():
        return [Finding(rel, "missing: the load test's thresholds")]
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        return [Finding(rel, f"not JSON: {err}")]
    want = teststages.thresholds(pkg.model)
    have = got.get("thresholds") if isinstance(got, dict) else None
    out = []
    for metric, exprs in want.items():
        if not isinstance(have, dict) or have.get(metric) != exprs:
            shown = have.get(metric) if isinstance(have, dict) else None
            out.append(Finding(rel, f"thresholds.{metric} is {shown!r}, but the SLO in .copier-answers.yml gives "
                                    f"{exprs!r}: change the answers (copier update), not the load test"))
    return out


def zap_rules_findings(pkg: Package) -> list[Finding]:
    rel = teststages.DAST_RULES
    path = pkg.root / rel
    if not path.is_file():
        return [Finding(rel, "missing: zap-baseline.py -c reads it")]
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].isdigit() or fields[1] not in ZAP_ACTIONS:
            out.append(Finding(rel, f"'<rule id><TAB>{'|'.join(ZAP_ACTIONS)}<TAB><name>' expected, got {line!r}",
                               line=n))
    return out
