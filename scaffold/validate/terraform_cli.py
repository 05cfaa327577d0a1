"""Checker "terraform-cli": the real terraform binary over the package's terraform/ tree.

1. ``terraform fmt -check -recursive`` on the package itself (read-only);
2. in a temporary copy, for every module and environment root:
   ``terraform init -backend=false`` from a local filesystem provider mirror,
   ``terraform validate`` (roots; it covers the modules they call) and
   ``terraform test`` (the generated ``tests/*.tftest.hcl``, mocked providers).

Nothing reaches the network or a real backend: a private CLI config allows only the
filesystem mirror (no ``direct`` installation), ``-backend=false`` never configures the
state store, TF_DATA_DIR/HOME live in the temporary folder and every TF_* variable of the
caller is dropped.

No plugin cache (TF_PLUGIN_CACHE_DIR) is used: an init whose lock file lacks the
provider's checksums (every relaxed copy, every module) installs into the cache again,
removing the cached package first, and a ``terraform test`` of another folder linked to it
then fails with "there is no package ... cached". Without the cache each folder links the
unpacked mirror itself (no copy, ~0.7 s per init here), so the folders share nothing
writable and run in parallel. The mirror is ``--tf-plugin-dir``, SCAFFOLD_TF_PLUGIN_DIR, or found on
the machine (Terraform's implied mirror folders, /opt/tf-plugins, then a same-filesystem
search for ``terraform-provider-*``, like ``find / -xdev``).

What cannot run is said, never passed: no terraform, or no provider in the mirror for
a folder (gcp and azure here), makes the checker an expected, listed skip (in CI too);
a mirror provider outside a root's pinned major is used with the constraint relaxed in
the copy only, and the detail says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .. import tools
from ..artifacts.terraform import hcl
from ..model.package import Package
from . import Finding, checker
from . import terraform as tfcheck

PLUGIN_DIR_ENV = "SCAFFOLD_TF_PLUGIN_DIR"
DEFAULT_HOST = "registry.terraform.io"
KNOWN_MIRRORS = ("/opt/tf-plugins", "~/.terraform.d/plugins", "~/.local/share/terraform/plugins",
                 "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins")
NOT_ON_MACHINE = "not run (terraform not on this machine)"
_SKIP_WALK = {"proc", "sys", "dev", "run", "tmp", "node_modules", ".git", "__pycache__", ".venv", "site-packages"}
TIMEOUT = 600


# -- versions and constraints ------------------------------------------------------
def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text.split("-")[0])[:3])


def _pad(v: tuple[int, ...], n: int = 3) -> tuple[int, ...]:
    return (v + (0, 0, 0))[:n]


def satisfies(version: str, constraint: str) -> bool:
    """Terraform's version constraint syntax: comma-separated ``=``, ``!=``, ``>``, ``>=``,
    ``<``, ``<=`` and ``~>`` (the rightmost given part may grow)."""
    v = _pad(parse_version(version))
    for part in (p.strip() for p in constraint.split(",") if p.strip()):
        m = re.match(r"^(~>|>=|<=|!=|=|>|<)?\s*v?([0-9][0-9.]*)$", part)
        if not m:
            raise ValueError(f"unsupported version constraint {part!r}")
        op, given = m.group(1) or "=", parse_version(m.group(2))
        c = _pad(given)
        ok = {"=": v == c, "!=": v != c, ">": v > c, ">=": v >= c, "<": v < c, "<=": v <= c}.get(op)
        if op == "~>":
            fixed = max(len(given) - 1, 1)
            ok = v >= c and v[:fixed] == c[:fixed]
        if not ok:
            return False
    return True


# -- the provider mirror ------------------------------------------------------------
def mirror_root(binary: Path) -> Path | None:
    """The mirror folder of a provider file, unpacked
    (<mirror>/<host>/<ns>/<type>/<version>/<os_arch>/terraform-provider-...) or packed
    (<mirror>/<host>/<ns>/<type>/terraform-provider-<type>_<version>_<os>_<arch>.zip)."""
    parents = binary.parents
    if binary.suffix == ".zip" and len(parents) > 3:
        return parents[3]
    if len(parents) > 5 and re.match(r"^\d+\.\d+", parents[1].name):
        return parents[5]
    return None


def mirror_providers(mirror: Path) -> dict[str, list[str]]:
    """'registry.terraform.io/hashicorp/aws' -> versions, from a mirror's layout."""
    found: dict[str, set[str]] = {}
    for binary in mirror.glob("*/*/*/*/*/terraform-provider-*"):
        host, ns, typ, version = binary.relative_to(mirror).parts[:4]
        found.setdefault(f"{host}/{ns}/{typ}", set()).add(version)
    for archive in mirror.glob("*/*/*/terraform-provider-*.zip"):
        host, ns, typ = archive.relative_to(mirror).parts[:3]
        m = re.match(rf"^terraform-provider-{re.escape(typ)}_([^_]+)_", archive.name)
        if m:
            found.setdefault(f"{host}/{ns}/{typ}", set()).add(m.group(1))
    return {k: sorted(v, key=parse_version) for k, v in sorted(found.items())}


@cache
def discover_mirror() -> Path | None:
    """A provider mirror on this machine: the known folders first, then every folder of
    the root filesystem (one device, like ``find / -xdev``), for a terraform-provider-* file."""
    for candidate in KNOWN_MIRRORS:
        path = Path(candidate).expanduser()
        if path.is_dir() and mirror_providers(path):
            return path
    return walk_for_mirror("/")


def walk_for_mirror(start: str) -> Path | None:
    """The first provider mirror under ``start``, on its filesystem only."""
    try:
        root_dev = os.stat(start).st_dev
    except OSError:
        return None
    for top, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_WALK and not d.startswith(".cache")
                         and _same_device(os.path.join(top, d), root_dev))
        for f in files:
            if f.startswith("terraform-provider-"):
                root = mirror_root(Path(top) / f)
                if root is not None and mirror_providers(root):
                    return root
    return None


def _same_device(path: str, dev: int) -> bool:
    try:
        return os.lstat(path).st_dev == dev and not os.path.islink(path)
    except OSError:
        return False


def cli_config(mirror: Path) -> str:
    """Only the filesystem mirror: with no ``direct`` block nothing is fetched from a registry."""
    return ("provider_installation {\n  filesystem_mirror {\n"
            f"    path    = {hcl(str(mirror))}\n"
            "    include = [\"*/*/*\"]\n  }\n}\n")


# -- running terraform ----------------------------------------------------------------
@dataclass
class DirPlan:
    rel: str  # relative to terraform/
    kind: str  # module | root
    missing: list[str] = field(default_factory=list)  # provider sources not in the mirror
    relaxed: list[tuple[str, str, str]] = field(default_factory=list)  # (source, constraint, version)


def required_providers(path: Path) -> dict[str, tuple[str, str]]:
    """local name -> (source, version constraint) from a folder's terraform blocks."""
    out: dict[str, tuple[str, str]] = {}
    for f in sorted(path.glob("*.tf")):
        try:
            doc = tfcheck.parse(f)
        except Exception:  # noqa: BLE001 - python-hcl2 reports it; terraform will too
            continue
        for block in doc.get("terraform", []):
            for rp in block.get("required_providers", []):
                for name, spec in rp.items():
                    if isinstance(spec, dict):
                        out[name] = (str(spec.get("source", f"hashicorp/{name}")), str(spec.get("version", "")))
    return out


def full_source(source: str) -> str:
    return source if source.count("/") == 2 else f"{DEFAULT_HOST}/{source}"


def plan_dir(path: Path, rel: str, kind: str, available: dict[str, list[str]]) -> DirPlan:
    plan = DirPlan(rel, kind)
    for source, constraint in required_providers(path).values():
        versions = available.get(full_source(source), [])
        if not versions:
            plan.missing.append(source)
            continue
        if constraint and not any(satisfies(v, constraint) for v in versions):
            plan.relaxed.append((source, constraint, versions[-1]))
    return plan


def relax(path: Path, source: str, constraint: str, version: str) -> bool:
    """In the copy only: the provider's constraint becomes the mirror's exact version."""
    pattern = re.compile(r'(source\s*=\s*"' + re.escape(source) + r'"\s*\n\s*version\s*=\s*)"'
                         + re.escape(constraint) + '"')
    for f in sorted(path.glob("*.tf")):
        text = f.read_text(encoding="utf-8")
        new, n = pattern.subn(lambda m: f'{m.group(1)}"= {version}"', text)
        if n:
            f.write_text(new, encoding="utf-8")
            return True
    return False


def clean_env(work: Path, data_dir: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "CHECKPOINT_"))}
    env.update(HOME=str(work / "home"), TF_CLI_CONFIG_FILE=str(config), TF_DATA_DIR=str(data_dir),
               CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    return env


def _terraform(exe: str, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    return proc.returncode, (proc.stdout + "\n" + proc.stderr).strip()


def summarize(output: str) -> str:
    """The errors and failed runs of terraform's -no-color output, on one line."""
    keep = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("Error:"):
            detail = next((lines[j].strip() for j in range(i + 1, min(i + 12, len(lines)))
                           if lines[j].strip() and not lines[j].strip().startswith(("on ", "│", "╵", "├"))
                           and not re.match(r"^\d+:", lines[j].strip())), "")
            keep.append(f"{s[6:].strip()}{': ' + detail if detail else ''}")
        elif re.search(r'run "[^"]+"\.\.\. fail', s):
            keep.append(s)
    if not keep:
        keep = output.strip().splitlines()[-1:] or ["failed"]
    return "; ".join(dict.fromkeys(keep))[:600]


def run_dir(exe: str, work: Path, plan: DirPlan, config: Path) -> list[tuple[str, str]]:
    """(step, problem) for one folder of the copy: init, validate (roots), test."""
    cwd = work / "terraform" / plan.rel
    env = clean_env(work, work / "data" / plan.rel.replace("/", "_"), config)
    steps = [("init", ["init", "-backend=false", "-input=false", "-no-color"])]
    if plan.kind == "root":
        steps.append(("validate", ["validate", "-no-color"]))
    if any((cwd / "tests").glob("*.tftest.hcl")):
        steps.append(("test", ["test", "-no-color"]))
    for step, args in steps:
        code, output = _terraform(exe, args, cwd, env)
        if code != 0:
            return [(step, summarize(output))]
    return []


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    ran: dict[str, list[str]] = field(default_factory=dict)  # step -> folders
    not_run: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_RESULTS: dict[str, Outcome] = {}


def _tree_key(tree: Path, *extra: object) -> str:
    import hashlib

    h = hashlib.sha256(repr(extra).encode())
    for f in sorted(p for p in tree.rglob("*") if p.is_file() and ".terraform" not in p.parts):
        h.update(str(f.relative_to(tree)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def check(pkg: Package, plugin_dir: Path | None = None, only: tuple[str, ...] = ()) -> Outcome:
    """``only``: folders relative to terraform/ (tests use it to run one folder).

    Results are kept per process by the tree's content, terraform and mirror: the same
    package validated twice (the CLI, then `scaffold blueprint test`) runs terraform once."""
    mirror_hint = plugin_dir or os.environ.get(PLUGIN_DIR_ENV)
    key = _tree_key(pkg.root / "terraform", tools.find("terraform"), str(mirror_hint), only)
    if key not in _RESULTS:
        _RESULTS[key] = _check(pkg, plugin_dir, only)
    return _RESULTS[key]


def _check(pkg: Package, plugin_dir: Path | None, only: tuple[str, ...]) -> Outcome:
    out = Outcome()
    exe = tools.find("terraform")
    if exe is None:
        out.not_run.append(f"terraform fmt/validate/test: {NOT_ON_MACHINE}")
        return out
    tree = pkg.root / "terraform"
    code, output = _terraform(exe, ["fmt", "-check", "-recursive", "-list=true", "-no-color"], tree,
                              {**{k: v for k, v in os.environ.items() if not k.startswith("TF_")},
                               "CHECKPOINT_DISABLE": "1"})
    if code != 0:
        listed = [line.strip() for line in output.splitlines() if line.strip().endswith((".tf", ".tfvars", ".hcl"))]
        for f in listed or ["-"]:
            out.findings.append(Finding(f"terraform/{f}" if f != "-" else "terraform",
                                        "terraform fmt -check: not formatted (run `terraform fmt -recursive`)"
                                        if f != "-" else f"terraform fmt -check failed: {summarize(output)}"))
    out.ran["fmt"] = ["terraform/"]
    folders = [(f"modules/{p.name}", "module") for p in sorted((tree / "modules").glob("*")) if p.is_dir()]
    folders += [(f"environments/{p.name}", "root") for p in sorted((tree / "environments").glob("*")) if p.is_dir()]
    if only:
        folders = [f for f in folders if f[0] in only]
    mirror = plugin_dir or (Path(os.environ[PLUGIN_DIR_ENV]) if os.environ.get(PLUGIN_DIR_ENV) else None) \
        or discover_mirror()
    available = mirror_providers(mirror) if mirror and mirror.is_dir() else {}
    plans = [plan_dir(tree / rel, rel, kind, available) for rel, kind in folders]
    runnable = [p for p in plans if not p.missing]
    missing: dict[str, list[str]] = {}
    for p in plans:
        for source in p.missing:
            missing.setdefault(source, []).append(p.rel)
    for source, rels in sorted(missing.items()):
        out.not_run.append(f"terraform validate: not run (provider {source} not available), nor init and test, "
                           f"for {', '.join(rels)} (provider mirror: {mirror or 'none found on this machine'})")
    if not runnable:
        return out
    with tempfile.TemporaryDirectory(prefix="scaffold-terraform-") as tmp:
        work = Path(tmp)
        shutil.copytree(tree, work / "terraform", symlinks=True,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.backup"))
        (work / "home").mkdir()
        config = work / "cli.tfrc"
        # No mirror (cloud: none needs no provider): an empty one, so nothing is ever fetched.
        (work / "no-mirror").mkdir()
        config.write_text(cli_config(mirror or work / "no-mirror"), encoding="utf-8")
        relaxed: dict[tuple[str, str, str], list[str]] = {}
        for p in list(runnable):
            for source, constraint, version in p.relaxed:
                if relax(work / "terraform" / p.rel, source, constraint, version):
                    (work / "terraform" / p.rel / ".terraform.lock.hcl").unlink(missing_ok=True)
                    relaxed.setdefault((source, constraint, version), []).append(p.rel)
                else:  # an unusual layout of required_providers: say so rather than fail init
                    runnable.remove(p)
                    out.not_run.append(f"terraform validate: not run for {p.rel} (provider {source}: the mirror "
                                       f"has {version}, outside `{constraint}`, which could not be relaxed)")
                    break
        for (source, constraint, version), rels in sorted(relaxed.items()):
            out.notes.append(f"{source}: the mirror has {version}, outside `{constraint}` of {', '.join(rels)}; "
                             f"validated with that constraint relaxed to `= {version}` in a temporary copy only")
        if not runnable:
            return out
        # Folders share nothing writable (own TF_DATA_DIR, no plugin cache), so they run
        # two at a time in any order.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda p: run_dir(exe, work, p, config), runnable))
    for p, problems in zip(runnable, results):
        for step, problem in problems:
            out.findings.append(Finding(f"terraform/{p.rel}", f"terraform {step}: {problem}"))
        if not problems:
            out.ran.setdefault("init+validate+test" if p.kind == "root" else "init+test", []).append(p.rel)
    return out


@checker
class TerraformCli:
    name = "terraform-cli"
    tool = "terraform"
    slow = True  # seconds per folder: provider schema loads in init, validate and test
    weight = 30

    def __init__(self) -> None:
        self.detail = ""
        self.not_run = False
        self.plugin_dir: Path | None = None

    def configure(self, options: dict) -> None:
        if options.get("tf_plugin_dir"):
            self.plugin_dir = Path(options["tf_plugin_dir"])

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / "terraform").is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        outcome = check(pkg, self.plugin_dir)
        self.not_run = bool(outcome.not_run)
        parts = [f"{step}: {', '.join(rels)}" for step, rels in outcome.ran.items()]
        parts += outcome.notes + outcome.not_run
        self.detail = "; ".join(parts)
        return outcome.findings
