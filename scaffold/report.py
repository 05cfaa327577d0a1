"""How ``scaffold validate`` reports: for people on a terminal, and for pipes and CI.

- ``lines``: one finding per line, ``path:line: checker: message`` (kubeconform,
  kube-linter and compilers use the same shape), never wrapped, no ANSI codes;
  the default when stdout is not a terminal.
- ``table``: rich's table, the final summary on a terminal.
- ``json``: the results as data.
- ``sarif``: SARIF 2.1.0 for GitHub code scanning (one rule per checker).
- ``junit``: JUnit XML for CI test reports (one test case per checker).
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

FORMATS = ("table", "lines", "json", "sarif", "junit")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/acme/scaffold"
_WS = re.compile(r"\s*\n\s*")


def one_line(text: str) -> str:
    """A multi-line tool message as one line (its lines joined with ' | ')."""
    return _WS.sub(" | ", str(text).strip())


def counts(results: Sequence) -> dict[str, int]:
    return {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "skip")}


def summary(results: Sequence) -> str:
    c = counts(results)
    return f"{c['pass']} passed, {c['fail']} failed, {c['skip']} skipped"


def location(finding) -> str:
    return f"{finding.file}:{finding.line}" if finding.line else finding.file


def lines(results: Sequence) -> list[str]:
    """Every finding as ``path:line: checker: message``, then the skips and the counts."""
    out = [f"{location(f)}: {r.checker}: {one_line(f.message)}" for r in results for f in r.findings]
    out += [f"skipped: {r.checker}: {one_line(r.detail)}" for r in results if r.status == "skip"]
    out.append(summary(results))
    return out


def write_lines(results: Sequence, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    for line in lines(results):
        stream.write(line + "\n")


def as_json(results: Sequence) -> str:
    return json.dumps({"ok": not any(r.status == "fail" for r in results), "counts": counts(results),
                       "skipped": [r.checker for r in results if r.status == "skip"],
                       "results": [r.as_dict() for r in results]}, indent=2)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scaffold-blueprints")
    except PackageNotFoundError:
        return "0.0.0"


def _sarif_location(root: Path | None, finding) -> dict | None:
    """A file finding points at its line (or the whole file); a folder finding (an
    overlay build) is a logical location; a finding about no file has none."""
    if not finding.file or finding.file == "-":
        return None
    path = root / finding.file if root else None
    if path is not None and path.is_dir():
        return {"logicalLocations": [{"fullyQualifiedName": finding.file, "kind": "module"}]}
    if finding.line:
        region = {"startLine": finding.line, "endLine": finding.line}
    else:
        try:
            count = max(1, len(path.read_text(encoding="utf-8").splitlines())) if path else 1
        except (OSError, UnicodeDecodeError):
            count = 1
        region = {"startLine": 1, "endLine": count}
    return {"physicalLocation": {"artifactLocation": {"uri": finding.file, "uriBaseId": "PKGROOT"},
                                 "region": region}}


def sarif(results: Sequence, root: Path | None = None) -> str:
    """SARIF 2.1.0: a rule per checker that ran, a result per finding, paths relative to the package."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for r in results:
        if r.status == "skip":
            continue
        index[r.checker] = len(rules)
        rules.append({
            "id": r.checker,
            "name": "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", r.checker) if p) + "Check",
            "shortDescription": {"text": f"scaffold validate checker {r.checker} ({r.tool})."},
            "fullDescription": {"text": f"Findings of the {r.checker} checker, which runs {r.tool}."},
            "helpUri": f"{INFO_URI}#what-gets-generated",
            "defaultConfiguration": {"level": "error"},
        })
    found = []
    for r in results:
        for f in r.findings:
            text = one_line(f.message)
            item = {"ruleId": r.checker, "ruleIndex": index[r.checker], "level": "error",
                    "message": {"text": text if text.endswith(".") else text + "."}}
            where = _sarif_location(root, f)
            if where:
                item["locations"] = [where]
            found.append(item)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "scaffold", "version": _version(), "informationUri": INFO_URI,
                            "rules": rules}},
        "originalUriBaseIds": {"PKGROOT": {"description": {"text": "The generated package's root folder."}}},
        "invocations": [{"executionSuccessful": True}],
        "results": found,
    }
    skipped = [r for r in results if r.status == "skip"]
    if skipped:
        run["invocations"][0]["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": f"{r.checker} skipped: {one_line(r.detail)}."}} for r in skipped]
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def junit(results: Sequence, name: str = "scaffold validate") -> str:
    """JUnit XML: one testcase per checker; its findings are the failure's text."""
    c = counts(results)
    total = sum(r.seconds for r in results)
    suites = ET.Element("testsuites", name=name, tests=str(len(results)), failures=str(c["fail"]),
                        errors="0", skipped=str(c["skip"]), time=f"{total:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(results)), failures=str(c["fail"]),
                          errors="0", skipped=str(c["skip"]), time=f"{total:.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="scaffold.validate", name=r.checker,
                             time=f"{r.seconds:.3f}")
        if r.status == "fail":
            body = "\n".join(f"{location(f)}: {one_line(f.message)}" for f in r.findings)
            failure = ET.SubElement(case, "failure", message=f"{len(r.findings)} finding(s) from {r.tool}",
                                    type=r.checker)
            failure.text = body
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=one_line(r.detail))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def progress_line(result, width: int = 60) -> str:
    """pre-commit style: ``kustomize.................Passed (1.2s)``."""
    word = {"pass": "Passed", "fail": "Failed", "skip": "Skipped"}[result.status]
    label = result.checker
    dots = "." * max(3, width - len(label) - len(word))
    tail = f" ({result.seconds:.1f}s)" if result.status != "skip" else f" ({one_line(result.detail)})"
    return f"{label}{dots}{word}{tail}"


def checker_rows(factories: dict) -> Iterable[tuple[str, str, str, str]]:
    """``--list``: each checker, the tool it needs, where that tool is, and when it runs."""
    from . import tools

    for name, factory in factories.items():
        tool = factory.tool
        if tool in tools.HINTS:
            path = tools.find(tool)
            where = path or f"MISSING ({tools.HINTS[tool]})"
        else:
            where = "built in (Python)"
        when = "slow: --all" if getattr(factory, "slow", False) else "always"
        optional = getattr(factory, "optional_tools", ())
        if optional:
            when += f"; optional: {', '.join(optional)}"
        yield name, tool, where, when
