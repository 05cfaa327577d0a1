"""GitHub workflows: actionlint (+shellcheck), zizmor --offline, the vendored
workflow schema, SHA pins and hygiene rules. checkov's github_actions framework
runs inside the one checkov checker (scaffold/checkov_policy.py FRAMEWORKS), so
its skips stay in the single written-down list."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker

WORKFLOWS = ".github/workflows"
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v?\d+(?:\.\d+)*\S*\s*$")
# slsa-github-generator's reusable workflows verify their own ref: they are pinned by tag.
TAG_ONLY = re.compile(r"^slsa-framework/slsa-github-generator/\.github/workflows/[^@]+@v\d+\.\d+\.\d+$")
EXPRESSION = re.compile(r"\$\{\{")


def workflow_files(pkg: Package) -> list[Path]:
    root = pkg.root / WORKFLOWS
    return sorted([*root.glob("*.yml"), *root.glob("*.yaml")]) if root.is_dir() else []


class _Workflows:
    slow = False

    def applies(self, pkg: Package) -> bool:
        return bool(workflow_files(pkg))


@checker
class Actionlint(_Workflows):
    name = "workflows-actionlint"
    tool = "actionlint"

    def run(self, pkg: Package) -> list[Finding]:
        shellcheck = tools.require("shellcheck")
        files = [pkg.rel(p) for p in workflow_files(pkg)]
        res = tools.run("actionlint", "-no-color", "-oneline", "-shellcheck", shellcheck, *files, cwd=pkg.root)
        if res.returncode == 0:
            return []
        lines = [line for line in res.stdout.splitlines() if line.strip()] or [res.output or "actionlint failed"]
        return [Finding(line.split(":", 1)[0] if ":" in line else WORKFLOWS, line) for line in lines]


@checker
class Zizmor(_Workflows):
    name = "workflows-zizmor"
    tool = "zizmor"

    def run(self, pkg: Package) -> list[Finding]:
        # The generated config named explicitly: zizmor's own discovery stops at the nearest
        # git root, which is not the package when it sits inside another checkout.
        config = pkg.root / ".github" / "zizmor.yml"
        args = ["--config", str(config)] if config.is_file() else []
        res = tools.run("zizmor", "--offline", "--format", "json", *args, str(pkg.root), cwd=pkg.root)
        try:
            results = json.loads(res.stdout or "[]")
        except json.JSONDecodeError:
            return [Finding(WORKFLOWS, f"zizmor exited {res.returncode}: {res.output[-2000:]}")]
        findings = [_zizmor_finding(pkg, r) for r in results if not r.get("ignored")]
        if not findings and res.returncode not in (0,):
            findings.append(Finding(WORKFLOWS, f"zizmor exited {res.returncode}: {res.stderr[-2000:]}"))
        return findings


def _zizmor_finding(pkg: Package, result: dict[str, Any]) -> Finding:
    where, row = WORKFLOWS, 0
    for loc in result.get("locations", []):
        if loc.get("symbolic", {}).get("kind") == "Primary":
            local = loc["symbolic"].get("key", {}).get("Local", {})
            path = local.get("verbatim_path") or local.get("given_path") or WORKFLOWS
            try:
                where = pkg.rel(Path(path))
            except ValueError:
                where = str(path)
            row = loc.get("concrete", {}).get("location", {}).get("start_point", {}).get("row", 0) + 1
            break
    sev = result.get("determinations", {}).get("severity", "?")
    return Finding(where, f"line {row}: [{result.get('ident')}] ({sev}) {result.get('desc')}")


@checker
class WorkflowSchema(_Workflows):
    name = "workflows-schema"
    tool = "check-jsonschema"

    def run(self, pkg: Package) -> list[Finding]:
        files = [pkg.rel(p) for p in workflow_files(pkg)]
        res = tools.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                        "--output-format", "json", *files, cwd=pkg.root)
        if res.returncode == 0:
            return []
        try:
            report = json.loads(res.stdout)
        except json.JSONDecodeError:
            return [Finding(WORKFLOWS, res.output[-2000:])]
        found = [Finding(e.get("filename", WORKFLOWS), f"{e.get('path', '')}: {e.get('message', '')}")
                 for e in report.get("errors", [])]
        found += [Finding(e.get("filename", WORKFLOWS), e.get("message", "parse error"))
                  for e in report.get("parse_errors", [])]
        return found or [Finding(WORKFLOWS, res.output[-2000:])]


@checker
class Pins(_Workflows):
    name = "workflows-pins"
    tool = "sha-pin"

    def run(self, pkg: Package) -> list[Finding]:
        findings = []
        for path in workflow_files(pkg):
            findings += pin_findings(pkg.rel(path), path.read_text(encoding="utf-8"))
        return findings


@checker
class Hygiene(_Workflows):
    name = "workflows-hygiene"
    tool = "scaffold"

    def run(self, pkg: Package) -> list[Finding]:
        findings = []
        for path in workflow_files(pkg):
            findings += hygiene_findings(pkg.rel(path), yamlio.load_file(path))
        return findings


# -- pure checks (tested directly) ------------------------------------------------
def pin_findings(rel: str, text: str) -> list[Finding]:
    """Every remote ``uses:`` is ``owner/repo@<40-hex sha> # vX.Y.Z`` on its own line."""
    findings = []
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:-\s+)?uses:\s*(['\"]?)([^'\"\s#]+)\1\s*(#.*)?$", line)
        if not m:
            continue
        ref, comment = m.group(2), m.group(3) or ""
        if ref.startswith("./") or ref.startswith("$/"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                findings.append(Finding(rel, f"line {n}: container action {ref} is not pinned by digest"))
            continue
        if TAG_ONLY.match(ref):
            continue
        if not SHA_PIN.match(ref):
            findings.append(Finding(rel, f"line {n}: {ref} is not pinned to a 40-hex commit SHA"))
        elif not VERSION_COMMENT.search(comment):
            findings.append(Finding(rel, f"line {n}: {ref} has no '# vX.Y.Z' version comment"))
    return findings


def _jobs(doc: Any) -> Iterator[tuple[str, dict]]:
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    for job_id, job in (jobs or {}).items():
        if isinstance(job, dict):
            yield str(job_id), job


def _uses_secrets(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_uses_secrets(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_secrets(v) for v in node)
    return isinstance(node, str) and bool(re.search(r"\$\{\{[^}]*\bsecrets\.", node))


def hygiene_findings(rel: str, doc: Any) -> list[Finding]:
    """The supply-chain rules actionlint and zizmor leave to taste."""
    if not isinstance(doc, dict):
        return [Finding(rel, "not a workflow mapping")]
    findings = []
    if doc.get("permissions") != {}:
        findings.append(Finding(rel, "top-level permissions must be {} (grant per job)"))
    if not isinstance(doc.get("concurrency"), (dict, str)):
        findings.append(Finding(rel, "no top-level concurrency group"))
    for job_id, job in _jobs(doc):
        where = f"jobs.{job_id}"
        if "permissions" not in job:
            findings.append(Finding(rel, f"{where}: no job-level permissions"))
        # A reusable-workflow call cannot declare an environment; its called jobs do.
        if _uses_secrets(job) and "environment" not in job and "uses" not in job:
            findings.append(Finding(rel, f"{where}: uses secrets but declares no environment"))
        for i, st in enumerate(job.get("steps") or []):
            if not isinstance(st, dict):
                continue
            name = f"{where}.steps[{i}] ({st.get('name', st.get('uses', 'run'))})"
            if isinstance(st.get("run"), str) and EXPRESSION.search(st["run"]):
                findings.append(Finding(rel, f"{name}: ${{{{ }}}} inline in run:; pass it through env:"))
            uses = str(st.get("uses", ""))
            if uses.startswith("actions/checkout@"):
                if (st.get("with") or {}).get("persist-credentials") is not False:
                    findings.append(Finding(rel, f"{name}: checkout without persist-credentials: false"))
    return findings
