"""Load the generator code of the template checkout being rendered.

A blueprint tag decides its own output. ``copier update`` renders the old tag and
the new one in one process, so everything that decides generated content (answer
rules, model, builders, alert catalog, pinned-action data, backlog task policy)
must come from *that render's* template checkout, never from whichever
``scaffold`` happens to be installed. The installed package keeps only this
loader, the CLI and the validators.

The contract every published tag depends on (``API`` 1) is deliberately tiny:

* The template checkout holds a ``scaffold/`` Python package whose modules import
  each other only relatively (``from . import model``), so it can be imported
  under any name.
* That package has a module ``entry`` with ``API = 1`` and two functions:
  ``install_jinja(environment)`` (registers the globals and filters templates
  use) and ``run_hook(argv) -> int`` (the post-generation task).

``load(root)`` imports ``<root>/scaffold`` under a private name derived from a
digest of its files (``_scaffold_<digest>``), from a content-addressed copy in a
cache folder. Two renders of different code never share a module; two renders
of the same code (the same tag cloned twice) share one, and keep working after
Copier deletes its temporary clone. A checkout without ``scaffold/entry.py``
(tags from before this contract) gets ``None``: the caller falls back to the
installed code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

API = 1
PACKAGE_DIR = "scaffold"
ENTRY = "entry"
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_lock = threading.Lock()


class LoaderError(RuntimeError):
    """The template's generator code cannot be used by this loader."""


def _files(pkg: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(_SKIP_SUFFIXES):
                out.append(Path(dirpath, name))
    return out


def digest(pkg: Path) -> str:
    """A digest of the package's files: their relative paths and bytes."""
    h = hashlib.sha256()
    for path in _files(pkg):
        rel = path.relative_to(pkg).as_posix().encode()
        data = path.read_bytes()
        h.update(b"%d:%s:%d:" % (len(rel), rel, len(data)))
        h.update(data)
    return h.hexdigest()


def cache_dir() -> Path:
    """``$SCAFFOLD_CACHE_DIR``, else ``$XDG_CACHE_HOME/scaffold`` (``~/.cache/scaffold``)."""
    env = os.environ.get("SCAFFOLD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "scaffold")


def _valid(target: Path, key: str) -> bool:
    try:
        return target.is_dir() and digest(target) == key
    except OSError:
        return False


def _materialise(pkg: Path, key: str) -> Path:
    """A private, content-addressed copy of ``pkg``: Copier deletes its clone after
    the render, while modules and data files may still be read lazily. A valid copy
    is never removed (another process may be importing from it); it is published
    with one atomic rename, and only a copy whose digest is wrong is moved aside."""
    for root in (cache_dir(), Path(tempfile.gettempdir(), f"scaffold-{os.getuid()}")):
        target = root / "generators" / key / PACKAGE_DIR
        try:
            if _valid(target, key):
                return target
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            (root / "generators").mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=root / "generators"))
            shutil.copytree(pkg, staging / PACKAGE_DIR,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*"))
            if digest(staging / PACKAGE_DIR) != key:  # changed while copying
                shutil.rmtree(staging, ignore_errors=True)
                raise LoaderError(f"{pkg} changed while it was being loaded; render again")
            _compile(staging / PACKAGE_DIR)
            try:
                os.rename(staging, target.parent)
            except OSError:  # it exists: another process's valid copy, or a broken one
                if _valid(target, key):
                    shutil.rmtree(staging, ignore_errors=True)
                    return target
                aside = Path(tempfile.mkdtemp(prefix=".broken-", dir=root / "generators"))
                os.rename(target.parent, aside / "copy")
                shutil.rmtree(aside, ignore_errors=True)
                os.rename(staging, target.parent)
            if _valid(target, key):
                return target
        except OSError:
            continue
    raise LoaderError(f"cannot cache the generator code of {pkg}: no writable cache folder "
                      f"(set SCAFFOLD_CACHE_DIR)")


def _compile(folder: Path) -> None:
    """Bytecode for every module of the copy, once, as pip does at install time. Every
    render and hook process imports the generator from this copy, and a Python told not
    to write bytecode (PYTHONDONTWRITEBYTECODE, common in containers and CI) still reads
    it: without this, each process compiled ~100 modules from source (~0.1 s of every hook).
    The digest skips ``__pycache__``; a module that fails to compile fails on import."""
    import compileall

    compileall.compile_dir(folder, quiet=2, workers=1)


def module_name(key: str) -> str:
    return f"_scaffold_{key[:20]}"


def load(template_root: str | os.PathLike[str]) -> ModuleType | None:
    """The template checkout's ``scaffold`` package, imported under a private name,
    or ``None`` when the checkout predates this contract (no ``scaffold/entry.py``)."""
    pkg = Path(template_root) / PACKAGE_DIR
    if not (pkg / f"{ENTRY}.py").is_file() or not (pkg / "__init__.py").is_file():
        return None
    key = digest(pkg)
    name = module_name(key)
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            location = _materialise(pkg, key)
            spec = importlib.util.spec_from_file_location(
                name, location / "__init__.py", submodule_search_locations=[str(location)])
            if spec is None or spec.loader is None:
                raise LoaderError(f"cannot import the generator code of {pkg}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
    return module


def entry(template_root: str | os.PathLike[str] | None) -> ModuleType:
    """The ``entry`` module that decides this render: the template checkout's own,
    or, for a checkout that predates the contract, the installed package's."""
    module = load(template_root) if template_root else None
    if module is None:
        return importlib.import_module(f"{__package__}.{ENTRY}")
    ent = importlib.import_module(f"{module.__name__}.{ENTRY}")
    api = getattr(ent, "API", None)
    if api != API:
        raise LoaderError(f"the template at {template_root} speaks loader API {api!r}; this scaffold "
                          f"speaks {API}: install a scaffold-blueprints release that supports it")
    return ent
