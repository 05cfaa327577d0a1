"""Gate on OWASP ZAP's baseline report: fail on high-risk alerts.

    python3 tests/dast/gate.py zap-report.json [--rules tests/dast/zap-rules.tsv] [--fail-risk 3]

Reads the JSON report ``zap-baseline.py -J`` writes (``site[].alerts[]`` with
``pluginid``, ``riskcode`` 0-3, ``confidence`` 0-4) and fails when an alert's risk is
at least ``--fail-risk`` (3 = High). ZAP's own exit code is per rule, not per risk,
which is why the gate reads the report. ``zap-rules.tsv`` (the ``-c`` config of the
scan) overrides per rule: IGNORE never gates, FAIL gates at any risk. Alerts ZAP
itself marks as false positives (confidence 0) never gate. Standard library only;
exit 0 when nothing gates, 1 when something does, 2 for an unreadable report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RISKS = {0: "Informational", 1: "Low", 2: "Medium", 3: "High"}
ACTIONS = ("IGNORE", "INFO", "WARN", "FAIL")


def load_rules(path: Path | None) -> dict[str, str]:
    """rule id -> action, from zap-baseline's tab-separated config; comments skipped."""
    rules: dict[str, str] = {}
    if path is None:
        return rules
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1].strip() not in ACTIONS or not fields[0].strip().isdigit():
            raise ValueError(f"{path}:{n}: expected '<rule id>\\t<{'|'.join(ACTIONS)}>\\t<name>', got {line!r}")
        rules[fields[0].strip()] = fields[1].strip()
    return rules


def alerts(report: dict) -> list[dict]:
    sites = report.get("site") or []
    if isinstance(sites, dict):
        sites = [sites]
    return [a for site in sites for a in (site.get("alerts") or [])]


def gate(report: dict, rules: dict[str, str], fail_risk: int) -> list[str]:
    """The alerts that fail the scan, one line each."""
    failing = []
    for a in alerts(report):
        rule, risk = str(a.get("pluginid", "")), int(a.get("riskcode", 0))
        action = rules.get(rule)
        if action == "IGNORE" or str(a.get("confidence", "")) == "0":
            continue
        if action == "FAIL" or risk >= fail_risk:
            name = a.get("name") or a.get("alert") or "?"
            failing.append(f"[{rule}] {name}: risk {RISKS.get(risk, risk)}, {a.get('count', '?')} instance(s)")
    return failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--rules", type=Path)
    parser.add_argument("--fail-risk", type=int, default=3, choices=sorted(RISKS))
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        rules = load_rules(args.rules)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    everything = alerts(report)
    failing = gate(report, rules, args.fail_risk)
    print(f"ZAP baseline: {len(everything)} alert type(s); gating at risk {RISKS[args.fail_risk]} and above")
    for line in failing:
        print(f"FAIL {line}")
    if failing:
        print(f"::error::DAST: {len(failing)} alert(s) at or above {RISKS[args.fail_risk]} risk (see the ZAP report)")
        return 1
    print("no alert gates the release")
    return 0


if __name__ == "__main__":
    sys.exit(main())
