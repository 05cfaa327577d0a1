"""checkov over the package with its own `.checkov.yaml` (slow: opt in with --all).

Frameworks, directories and skips come from scaffold/checkov_policy.py through
the generated config; this checker also refuses a config that skips a check
without a reason or differs from the policy.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..artifacts import checkov_policy
from ..model.package import Package
from . import Finding, checker

CONFIG = ".checkov.yaml"
# No Bridgecrew/Prisma mapping download: it needs the internet and only adds BC_* ids.
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
WORKFLOWS = ".github/workflows"
# checkov 3.3's bundled workflow schema predates the `attestations` permission and
# silently skips any workflow that grants it (ci.yml and cd.yml do).
UNKNOWN_PERMISSIONS = ("attestations",)


def reports(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one report object, or a list when several frameworks ran, per directory."""
    start = min((i for i in (stdout.find("["), stdout.find("{")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON report in checkov output")
    # One JSON document per scanned directory, printed back to back.
    out: list[dict[str, Any]] = []
    decoder, pos, text = json.JSONDecoder(), start, stdout.rstrip()
    while pos < len(text):
        data, end = decoder.raw_decode(text, pos)
        out += data if isinstance(data, list) else [data]
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def skips_with_reasons(text: str) -> dict[str, str]:
    """skip-check ids mapped to the comment on their line ('' when none)."""
    out: dict[str, str] = {}
    in_skips = False
    for line in text.splitlines():
        if line.startswith("skip-check:"):
            in_skips = True
            continue
        if in_skips and not line.startswith((" ", "-")):
            in_skips = False
        if in_skips and line.strip().startswith("- "):
            item, _, comment = line.strip()[2:].partition("#")
            out[item.strip().strip("'\"")] = comment.strip()
    return out


def locate(pkg: Package, dirs: list[str], path: str) -> str:
    """checkov's file_path relative to the package (kustomize reports it relative to the scanned dir)."""
    path = path.lstrip("/")
    if (pkg.root / path).exists():
        return path
    for d in dirs:
        if (pkg.root / d / path).exists():
            return f"{d}/{path}"
    return path


@checker
class Checkov:
    name = "checkov"
    tool = "checkov"
    slow = True
    weight = 40

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / CONFIG).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        text = (pkg.root / CONFIG).read_text(encoding="utf-8")
        findings = self._config_findings(pkg, text)
        cfg = yamlio.load(text) or {}
        dirs = [d for d in cfg.get("directory") or [] if (pkg.root / d).is_dir()]
        if not dirs:
            return findings + [Finding(CONFIG, "no directory to scan")]
        res = tools.run("checkov", "--config-file", CONFIG, "--output", "json", cwd=pkg.root, env=OFFLINE_ENV,
                        timeout=1200)
        try:
            results = reports(res.stdout)
        except ValueError as err:
            return findings + [Finding(CONFIG, f"checkov failed (exit {res.returncode}): {err}: "
                                               f"{res.output[-2000:]}")]
        for report in results:
            framework = report.get("check_type", "?")
            for failed in (report.get("results") or {}).get("failed_checks") or []:
                findings.append(_failed(locate(pkg, dirs, str(failed.get("file_path", "?"))), framework, failed))
            errors = (report.get("summary") or {}).get("parsing_errors", 0)
            if errors:
                findings.append(Finding(CONFIG, f"{framework}: {errors} file(s) checkov could not parse"))
        if "github_actions" in (cfg.get("framework") or []) and WORKFLOWS in dirs:
            findings += self._schema_skipped_workflows(pkg, cfg)
        return findings

    def _schema_skipped_workflows(self, pkg: Package, cfg: dict[str, Any]) -> list[Finding]:
        """Run the github_actions checks on copies without the permissions checkov's
        schema rejects, so no workflow goes unchecked; fail any it still skips."""
        files = {}  # name -> copy text, for the workflows that grant an unknown permission
        for path in sorted((pkg.root / WORKFLOWS).glob("*.y*ml")):
            text = path.read_text(encoding="utf-8")
            doc = yamlio.load(text)
            wanted = _without_unknown_permissions(doc)
            if wanted != doc:
                files[path.name] = _copy_text(text, wanted)
        if not files:
            return []
        with tempfile.TemporaryDirectory(prefix="scaffold-checkov-") as tmp:
            copies = Path(tmp) / WORKFLOWS
            copies.mkdir(parents=True)
            for name, text in files.items():
                (copies / name).write_text(text)
            skips = [a for check in cfg.get("skip-check") or [] for a in ("--skip-check", str(check))]
            res = tools.run("checkov", "--directory", tmp, "--framework", "github_actions", "--output", "json",
                            "--compact", "--skip-download", *skips, cwd=Path(tmp), env=OFFLINE_ENV, timeout=600)
            # cwd=tmp: in the package root checkov would also load its .checkov.yaml (quiet, all dirs)
            try:
                results = reports(res.stdout)
            except ValueError as err:
                return [Finding(f"{WORKFLOWS}/{n}", f"checkov github_actions failed: {err}") for n in files]
        findings, seen = [], set()
        for report in results:
            for kind in ("passed_checks", "failed_checks"):
                for check in (report.get("results") or {}).get(kind) or []:
                    name = Path(str(check.get("file_path", ""))).name
                    seen.add(name)
                    if kind == "failed_checks":
                        findings.append(_failed(f"{WORKFLOWS}/{name}", "github_actions", check))
        findings += [Finding(f"{WORKFLOWS}/{n}", "checkov evaluated no github_actions check on this workflow")
                     for n in sorted(set(files) - seen)]
        return findings

    def _config_findings(self, pkg: Package, text: str) -> list[Finding]:
        out = []
        skips = skips_with_reasons(text)
        for check, reason in skips.items():
            if not reason:
                out.append(Finding(CONFIG, f"skip-check {check} has no written reason"))
        if sorted(skips) != sorted(checkov_policy.skip_ids()):
            out.append(Finding(CONFIG, f"skip-check {sorted(skips)} differs from scaffold's policy "
                                       f"{sorted(checkov_policy.skip_ids())}"))
        return out


def _failed(where: str, framework: str, check: dict[str, Any]) -> Finding:
    return Finding(where, f"{framework} {check.get('check_id')} {check.get('check_name')} ({check.get('resource')})")


def _without_unknown_permissions(doc: Any) -> Any:
    """The workflow with UNKNOWN_PERMISSIONS dropped from top-level and job permissions."""
    if not isinstance(doc, dict):
        return doc

    def strip(perms: Any) -> Any:
        return {k: v for k, v in perms.items() if k not in UNKNOWN_PERMISSIONS} if isinstance(perms, dict) else perms

    out = dict(doc)
    if "permissions" in out:
        out["permissions"] = strip(out["permissions"])
    if isinstance(out.get("jobs"), dict):
        out["jobs"] = {name: ({**job, "permissions": strip(job["permissions"])}
                              if isinstance(job, dict) and "permissions" in job else job)
                       for name, job in out["jobs"].items()}
    return out


def _copy_text(text: str, wanted: Any) -> str:
    """The workflow minus its unknown-permission lines. Line edits keep the
    comments (checkov's inline `checkov:skip=` reasons); the result must equal
    the structural strip ``wanted``, else that is re-emitted (comments lost)."""
    keys = "|".join(UNKNOWN_PERMISSIONS)
    edited = re.sub(rf"(?m)^[ \t]+(?:{keys}):[ \t]*(?:read|write|none)[ \t]*(?:#.*)?\n", "", text)
    return edited if yamlio.load(edited) == wanted else yamlio.dump(wanted)
