"""The validation spine: every real validator over a generated package, one report.

A checker is a small class with ``name``, ``tool`` and ``run(pkg)``. Modules in
this package register theirs with :func:`checker`; :func:`run_all` imports
them all and runs them.

The report is honest: a required tool that is missing is a failure (in CI and
out of it) unless the user skips that checker by name (``--skip``). A checker
may declare a skip as expected: list the tool in ``optional_tools`` (its
absence is then a listed skip), or raise :class:`Skip` with the reason.
Skips are counted and shown, never counted as passes.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import tools, yamlio
from ..model.package import Package


@dataclass(frozen=True)
class Finding:
    file: str
    message: str
    line: int | None = None  # 1-based, where the tool gives one


def error_line(exc: BaseException) -> int | None:
    """The 1-based line a YAML (PyYAML or ruamel) or JSON parse error points at, if any."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and getattr(mark, "line", None) is not None:
        return mark.line + 1
    return getattr(exc, "lineno", None)  # json.JSONDecodeError


class Skip(Exception):
    """Raised by a checker's ``run``: an expected skip with its reason, never a failure."""


class UnknownChecker(ValueError):
    """A checker name given to --only/--skip that no checker has."""


@dataclass
class CheckResult:
    checker: str
    tool: str
    status: str  # pass | fail | skip
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    missing_tool: str = ""  # set when a required tool is not installed (status fail)

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
            "findings": [{"file": f.file, "line": f.line, "message": f.message} for f in self.findings],
        }


class Checker(Protocol):
    name: str
    tool: str
    slow: bool

    def applies(self, pkg: Package) -> bool: ...

    def run(self, pkg: Package) -> list[Finding]: ...


_REGISTRY: dict[str, type[Checker]] = {}


def checker(cls):
    """Class decorator: register a checker under its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def load_checkers() -> dict[str, type[Checker]]:
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    # ``first`` checkers (conflict markers) run before the rest, then by name.
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (not getattr(kv[1], "first", False), kv[0])))


def run_one(factory: Callable[[], Checker], pkg: Package, options: dict | None = None) -> CheckResult:
    chk = factory()
    start = time.monotonic()
    if hasattr(chk, "configure"):
        chk.configure(options or {})  # e.g. crd_dirs, tf_plugin_dir (CLI flags; env vars otherwise)

    def result(status: str, findings: Sequence[Finding] = (), detail: str = "", missing: str = "") -> CheckResult:
        return CheckResult(chk.name, chk.tool, status, list(findings), detail=detail,
                           seconds=time.monotonic() - start, missing_tool=missing)

    try:
        if not chk.applies(pkg):
            return result("skip", detail="not applicable to this package")
        findings = chk.run(pkg)
        # A checker may say what it covered (or could not) in an optional ``detail``; one
        # that could not run part of its job says so (``not_run``): an expected, listed
        # skip, in CI too, never a pass. Findings still fail it.
        status = "fail" if findings else ("skip" if getattr(chk, "not_run", False) else "pass")
        return result(status, findings, getattr(chk, "detail", ""))
    except Skip as skip:
        return result("skip", detail=str(skip))
    except tools.ToolMissing as missing:
        if missing.tool in getattr(chk, "optional_tools", ()):
            return result("skip", detail=f"{missing} (optional)")
        message = f"{missing}; install it, or pass --skip {chk.name} to run without this check"
        return result("fail", [Finding("-", message)], str(missing), missing.tool)
    except yamlio.FileParseError as exc:  # a file this checker reads does not parse: a finding, not a crash
        return result("fail", [parse_finding(pkg, exc)])
    except Exception as exc:  # noqa: BLE001 - a crashing checker is one failed row, not a traceback
        if (line := error_line(exc)) is not None and _is_yaml_error(exc):
            text = " ".join(str(getattr(exc, "problem", None) or exc).split())
            return result("fail", [Finding("-", f"a YAML file it reads does not parse (line {line}): {text[:300]}; "
                                                "see the conflict-markers checker", line)])
        text = " ".join(str(exc).split())
        return result("fail", [Finding("-", f"checker crashed: {exc.__class__.__name__}: {text[:500]}")])


def parse_finding(pkg: Package, exc: yamlio.FileParseError) -> Finding:
    """A file that does not parse, as one finding: its path, line and the parser's problem."""
    try:
        rel = pkg.rel(exc.path)
    except ValueError:
        rel = str(exc.path)
    hint = " (unresolved merge conflict: see the conflict-markers checker)" if has_conflict_markers(exc.path) else ""
    return Finding(rel, f"does not parse as YAML: {exc.problem}{hint}", exc.line)


CONFLICT_START, CONFLICT_MIDDLE, CONFLICT_END = "<<<<<<<", "=======", ">>>>>>>"


def conflict_hunks(text: str) -> list[int]:
    """The 1-based lines where an inline merge conflict (``git merge``, ``copier update
    --conflict inline``) starts: a ``<<<<<<<`` line, then ``=======``, then ``>>>>>>>``."""
    starts, open_at, middle = [], None, False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(CONFLICT_START) and (len(line) == 7 or line[7] == " "):
            open_at, middle = n, False
        elif open_at is not None and line.rstrip() == CONFLICT_MIDDLE:
            middle = True
        elif open_at is not None and middle and line.startswith(CONFLICT_END) and (len(line) == 7 or line[7] == " "):
            starts.append(open_at)
            open_at = None
    return starts


def has_conflict_markers(path: Path) -> bool:
    try:
        return bool(conflict_hunks(Path(path).read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _is_yaml_error(exc: BaseException) -> bool:
    return any(c.__name__ in ("YAMLError", "MarkedYAMLError") for c in type(exc).__mro__)


def check_names(names: Iterable[str], option: str) -> None:
    """Refuse checker names no checker has, the way ``pre-commit run bogus`` does."""
    known = load_checkers()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownChecker(f"{option} {unknown[0]!r}: no such checker; known checkers: {', '.join(sorted(known))}")


def jobs(options: dict | None = None) -> int:
    """Checkers run at once: ``options["jobs"]``, SCAFFOLD_VALIDATE_JOBS, else the cores this
    process may use (most checkers wait on a tool's subprocess; the others share the GIL)."""
    given = (options or {}).get("jobs") or os.environ.get("SCAFFOLD_VALIDATE_JOBS")
    if given:
        return max(1, int(given))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_all(root: Path, *, include_slow: bool = False, only: Iterable[str] = (), skip: Iterable[str] = (),
            progress: Callable[[CheckResult], None] | None = None,
            started: Callable[[str], None] | None = None, options: dict | None = None) -> list[CheckResult]:
    """Run the checkers; ``progress`` is called with each result, ``started`` with each
    checker's name, both in checker order (the report is the same, however many jobs).

    Checkers run in a thread pool of :func:`jobs` workers, the costliest first (a checker's
    ``weight``, default 1), so a long promtool or node run overlaps the short ones. What
    they share is built once (``Package.overlay_build``, the YAML they read is parsed by
    libyaml). A checker must only read the package and keep its state on its instance."""
    wanted, skipped = set(only), set(skip)
    check_names(sorted(wanted), "--only")
    check_names(sorted(skipped), "--skip")
    pkg = Package.load(root)
    pkg.model  # noqa: B018 (bad answers are one error for the whole run (AnswerError), not a crash per checker)
    plan: list[tuple[str, type[Checker], CheckResult | None]] = []
    for name, factory in load_checkers().items():
        if wanted and name not in wanted:
            continue
        if name in skipped:
            plan.append((name, factory, CheckResult(name, factory.tool, "skip", detail="skipped with --skip")))
        elif getattr(factory, "slow", False) and not include_slow and name not in wanted:
            plan.append((name, factory, CheckResult(name, factory.tool, "skip", detail="slow: run with --all")))
        else:
            plan.append((name, factory, None))
    todo = [(name, factory) for name, factory, done in plan if done is None]
    workers = min(jobs(options), max(1, len(todo)))
    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        for name, factory in sorted(todo, key=lambda t: -float(getattr(t[1], "weight", 1))):
            futures[name] = pool.submit(run_one, factory, pkg, options)
        results = []
        for name, _factory, done in plan:
            if done is None:
                if started:
                    started(name)
                done = futures[name].result()
            results.append(done)
            if progress:
                progress(done)
    return results
