"""scaffold/ itself is checked like the code it generates: mypy ([tool.mypy]) and ruff
([tool.ruff]) pass, and the service model is never ``Any``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold.tools import in_ci

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD = ROOT / "scaffold"
# No exceptions: every module of scaffold/ is checked.
NOT_YET_TYPED: set[str] = set()


def _venv_tool(name: str) -> str:
    """The tool beside this interpreter (the dev extra installs it); fails under CI when missing."""
    exe = Path(sys.executable).with_name(name)
    if not exe.is_file():
        msg = f"{name} not installed (make setup installs the dev extra)"
        pytest.fail(msg) if in_ci() else pytest.skip(msg)
    return str(exe)


def untyped_models(root: Path, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """``path:line name`` of every function parameter named ``m`` (the model) that is
    unannotated or annotated ``Any``. Lambdas cannot be annotated: they take their type
    from the annotated table they sit in, so above the answer rules (whose callables take
    raw answer values) no ``Callable[[Any, ...`` may type one."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root.parent).as_posix() in skip:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None:
                text = ast.unparse(node.annotation)
                if "Callable[[Any" in text.replace("'", "").replace('"', "") and "answers" not in path.parts:
                    bad.append(f"{path.relative_to(root.parent)}:{node.lineno} {text}")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript):
                text = ast.unparse(node.value)  # a type alias such as Crit = Callable[[Any, X], Y]
                if text.startswith("Callable[[Any") and "answers" not in path.parts:
                    bad.append(f"{path.relative_to(root.parent)}:{node.lineno} {text}")
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg != "m":
                    continue
                ann = ast.unparse(arg.annotation).strip("'\"") if arg.annotation else None
                if ann in (None, "Any", "typing.Any", "object"):
                    bad.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}(m: {ann})")
    return bad


@pytest.mark.fast
def test_the_model_parameter_is_typed_everywhere() -> None:
    assert untyped_models(SCAFFOLD, NOT_YET_TYPED) == []


@pytest.mark.fast
def test_the_model_scan_finds_an_untyped_m(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "from typing import Any\n"
        "def f(m: Any) -> None: ...\n"
        "def g(x, m) -> None: ...\n"
        "def h(m: 'ServiceModel') -> None: ...\n"
        "T: dict[str, Callable[[Any], str]] = {'x': lambda m: m}\n"
        "U: dict[str, Callable[[ServiceModel], str]] = {'x': lambda m: m}\n"
        "Crit = Callable[[Any, int], list[str]]\n",
        encoding="utf-8")
    assert untyped_models(pkg) == ["pkg/a.py:2 f(m: Any)", "pkg/a.py:3 g(m: None)",
                                   "pkg/a.py:5 dict[str, Callable[[Any], str]]", "pkg/a.py:7 Callable[[Any, int], list[str]]"]


def test_mypy_passes_over_scaffold() -> None:  # not fast: it runs mypy
    """[tool.mypy] in pyproject.toml names the files; its cache keeps a re-run at a few seconds."""
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if run.returncode != 0 and "No module named mypy" in run.stderr:
        msg = "mypy not installed (make setup installs the dev extra)"
        pytest.fail(msg) if in_ci() else pytest.skip(msg)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Success: no issues found" in run.stdout, run.stdout[-2000:]


def test_ruff_passes_over_scaffold() -> None:  # not fast: it runs ruff
    run = subprocess.run([_venv_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "scaffold"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
