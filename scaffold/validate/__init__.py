"""The validation spine: every real validator over a generated package, one report.

A checker is a small class with ``name``, ``tool`` and ``run(pkg)``. Modules in
this package register theirs with :func:`checker`; :func:`run_all` imports
them all, runs them, and turns a missing tool into a skip, or a failure in CI.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

from .. import tools
from ..package import Package


@dataclass(frozen=True)
class Finding:
    file: str
    message: str


@dataclass
class CheckResult:
    checker: str
    tool: str
    status: str  # pass | fail | skip
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict:
        return {
            "checker": self.checker,
            "tool": self.tool,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
            "findings": [{"file": f.file, "message": f.message} for f in self.findings],
        }


class Checker(Protocol):
    name: str
    tool: str
    slow: bool

    def applies(self, pkg: Package) -> bool: ...

    def run(self, pkg: Package) -> list[Finding]: ...


_REGISTRY: dict[str, Callable[[], Checker]] = {}


def checker(cls):
    """Class decorator: register a checker under its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def load_checkers() -> dict[str, Callable[[], Checker]]:
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    return dict(sorted(_REGISTRY.items()))


def run_one(factory: Callable[[], Checker], pkg: Package, options: dict | None = None) -> CheckResult:
    chk = factory()
    if hasattr(chk, "configure"):
        chk.configure(options or {})  # e.g. crd_dirs, tf_plugin_dir (CLI flags; env vars otherwise)
    start = time.monotonic()
    try:
        if not chk.applies(pkg):
            return CheckResult(chk.name, chk.tool, "skip", detail="not applicable to this package")
        findings = chk.run(pkg)
        # A checker that could not run part of its job says so (``not_run``): an expected,
        # listed skip, in CI too, never a pass. Findings still fail it.
        status = "fail" if findings else ("skip" if getattr(chk, "not_run", False) else "pass")
        # A checker may say what it covered (or could not) in an optional ``detail``.
        return CheckResult(chk.name, chk.tool, status, findings, detail=getattr(chk, "detail", ""),
                           seconds=time.monotonic() - start)
    except tools.ToolMissing as missing:
        status = "fail" if tools.in_ci() else "skip"
        return CheckResult(chk.name, chk.tool, status, [Finding("-", str(missing))] if status == "fail" else [],
                           detail=str(missing), seconds=time.monotonic() - start)


def run_all(root: Path, *, include_slow: bool = False, only: Iterable[str] = (),
            options: dict | None = None) -> list[CheckResult]:
    pkg = Package.load(root)
    wanted = set(only)
    results = []
    for name, factory in load_checkers().items():
        if wanted and name not in wanted:
            continue
        if getattr(factory, "slow", False) and not include_slow and name not in wanted:
            results.append(CheckResult(name, factory.tool, "skip", detail="slow: run with --all"))
            continue
        results.append(run_one(factory, pkg, options))
    return results
