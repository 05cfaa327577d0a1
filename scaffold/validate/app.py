"""The app skeleton: hadolint on the Dockerfile, and every source and manifest parses.

No Go or .NET toolchain is assumed, so Go and C# go through real tree-sitter
grammars (PyPI wheels); Python through ``ast``; JavaScript through ``node --check``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from .. import tools
from ..model import stacks
from ..model.package import Package
from . import Finding, checker

HADOLINT_FAIL_LEVELS = ("error", "warning")
SKIP_DIRS = {"node_modules", "bin", "obj", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
_GO_MOD = re.compile(r"^module \S+$", re.M)
_GO_VERSION = re.compile(r"^go \d+\.\d+(\.\d+)?$", re.M)


def _dockerfile(pkg: Package) -> Path:
    return pkg.root / stacks.DOCKERFILE


def final_stage_user(text: str) -> str | None:
    """The USER of the last stage (what the image runs as), or None if unset."""
    user = None
    for line in text.splitlines():
        words = line.strip().split()
        if not words:
            continue
        if words[0].upper() == "FROM":
            user = None
        elif words[0].upper() == "USER" and len(words) > 1:
            user = words[1]
    return user


@checker
class DockerfileChecker:
    name = "app-dockerfile"
    tool = "hadolint"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return _dockerfile(pkg).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        path = _dockerfile(pkg)
        rel = pkg.rel(path)
        res = tools.run("hadolint", "--no-color", "--format", "json", "--failure-threshold", "warning", str(path))
        try:
            results = json.loads(res.stdout or "[]")
        except json.JSONDecodeError:
            return [Finding(rel, f"hadolint: {res.output}")]
        findings = [
            Finding(rel, f"line {r['line']}: {r['code']} ({r['level']}) {r['message']}")
            for r in results
            if r.get("level") in HADOLINT_FAIL_LEVELS
        ]
        if res.returncode and not findings:
            findings.append(Finding(rel, f"hadolint exited {res.returncode}: {res.output}"))
        user = final_stage_user(path.read_text())
        uid = (user or "").split(":")[0]
        if not uid.isdigit() or int(uid) < 10000:
            findings.append(Finding(rel, f"the final stage must run as a numeric non-root UID >= 10000, got USER {user}"))
        return findings


@cache
def _ts_parser(lang: str):
    from tree_sitter import Language, Parser

    grammar = importlib.import_module("tree_sitter_go" if lang == "go" else "tree_sitter_c_sharp")
    return Parser(Language(grammar.language()))


def tree_sitter_errors(lang: str, source: bytes, limit: int = 3) -> list[str]:
    """Syntax errors (ERROR or MISSING nodes) as 'line N: ...' strings."""
    tree = _ts_parser(lang).parse(source)
    if not tree.root_node.has_error:
        return []
    out: list[str] = []
    stack = [tree.root_node]
    while stack and len(out) < limit:
        node = stack.pop()
        if node.is_missing:
            out.append(f"line {node.start_point[0] + 1}: missing {node.type}")
        elif node.is_error:
            snippet = source[node.start_byte : node.end_byte][:40].decode(errors="replace")
            out.append(f"line {node.start_point[0] + 1}: syntax error near {snippet!r}")
        elif node.has_error:
            stack.extend(reversed(node.children))
    return out or ["syntax error"]


def _python(path: Path) -> list[str]:
    try:
        ast.parse(path.read_bytes(), filename=path.name)
    except SyntaxError as err:
        return [f"line {err.lineno}: {err.msg}"]
    return []


def _javascript(path: Path) -> list[str]:
    res = tools.run("node", "--check", str(path))
    if res.returncode == 0:
        return []
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    return [next((ln for ln in lines if "Error" in ln), lines[-1] if lines else "node --check failed")]


def _json(path: Path) -> list[str]:
    try:
        json.loads(path.read_text())
    except json.JSONDecodeError as err:
        return [f"line {err.lineno}: {err.msg}"]
    return []


def _toml(path: Path) -> list[str]:
    try:
        tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        return [str(err)]
    return []


def _xml(path: Path) -> list[str]:
    try:
        ET.parse(path)  # noqa: S314 (our own generated file)
    except ET.ParseError as err:
        return [str(err)]
    return []


def _go_mod(path: Path) -> list[str]:
    text = path.read_text()
    missing = [what for what, rx in (("module line", _GO_MOD), ("go version line", _GO_VERSION)) if not rx.search(text)]
    return [f"no {what}" for what in missing]


def _requirements(path: Path) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        spec = line.split("#", 1)[0].split(" --hash", 1)[0].strip()
        if not spec:
            continue
        try:
            req = Requirement(spec)
        except InvalidRequirement as err:
            out.append(f"{spec!r}: {err}")
            continue
        if not any(s.operator == "==" for s in req.specifier):
            out.append(f"{req.name} is not pinned with ==")
    return out


PARSERS = {
    ".py": _python,
    ".js": _javascript,
    ".mjs": _javascript,
    ".go": lambda p: tree_sitter_errors("go", p.read_bytes()),
    ".cs": lambda p: tree_sitter_errors("c_sharp", p.read_bytes()),
    ".json": _json,
    ".toml": _toml,
    ".csproj": _xml,
    ".slnx": _xml,
}


def parser_for(path: Path):
    if path.name == "go.mod":
        return _go_mod
    if path.name.startswith("requirements") and path.suffix == ".txt":
        return _requirements
    return PARSERS.get(path.suffix)


@checker
class AppSourcesChecker:
    name = "app-sources"
    tool = "tree-sitter"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / stacks.APP_DIR).is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        findings: list[Finding] = []
        checked = 0
        for path in pkg.files(f"{stacks.APP_DIR}/**/*"):
            if SKIP_DIRS & set(path.relative_to(pkg.root).parts):
                continue
            parse = parser_for(path)
            if parse is None:
                continue
            checked += 1
            findings += [Finding(pkg.rel(path), msg) for msg in parse(path)]
        if not checked:
            findings.append(Finding(stacks.APP_DIR, "no source or manifest file found to check"))
        findings += entry_findings(pkg)
        return findings


def entry_findings(pkg: Package) -> list[Finding]:
    """The file the image's ENTRYPOINT starts from must exist (and be package.json's main for node)."""
    m = pkg.model
    if not stacks.app_kind(m):
        return []
    app = pkg.root / stacks.APP_DIR
    rel = f"{stacks.APP_DIR}/{stacks.entry_source(m)}"
    entry = " ".join(stacks.entrypoint(m))
    out = []
    if not (pkg.root / rel).is_file():
        out.append(Finding(rel, f"missing: the {stacks.app_kind(m)} image's entry point ({entry}) starts from it"))
    manifest = app / "package.json"
    if m.stack == "node" and manifest.is_file():
        try:
            main = json.loads(manifest.read_text()).get("main")
        except (json.JSONDecodeError, AttributeError):
            main = None  # a broken package.json is already reported by its parser
        if main is not None and main != stacks.entry_source(m):
            out.append(Finding(pkg.rel(manifest), f'"main" is {main!r}, but the image runs {entry}'))
    return out
