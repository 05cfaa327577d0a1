"""The loader contract (scaffold/loader.py) and what depends on it: every
published tag relies on it, so its behaviour is pinned here."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import loader
from tests.helpers import ROOT, git, mutable_copy

PKG = ROOT / "scaffold"


def _copy_pkg(dest: Path) -> Path:
    shutil.copytree(PKG, dest / "scaffold", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCAFFOLD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.fast
def test_no_module_reaches_for_the_installed_package_by_name() -> None:
    """The class of defect behind #12: an absolute `scaffold` import inside the
    package would mix the installed code into a tag's render."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "find_spec", "__import__"):
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(n == "scaffold" or n.startswith("scaffold.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"absolute scaffold imports inside the package: {offenders}"


@pytest.mark.fast
def test_load_isolates_different_code_and_shares_identical_code(tmp_path: Path, cache: Path) -> None:
    a = _copy_pkg(tmp_path / "a")
    b = _copy_pkg(tmp_path / "b")
    same = _copy_pkg(tmp_path / "same")
    k8s = b / "scaffold" / "artifacts" / "k8s.py"
    k8s.write_text(k8s.read_text().replace("HPA_CPU_UTILIZATION = 70", "HPA_CPU_UTILIZATION = 55"))
    ma, mb, msame = loader.load(a), loader.load(b), loader.load(same)
    assert ma is not None and mb is not None
    assert ma.__name__ != mb.__name__ and ma is msame
    ka = __import__(f"{ma.__name__}.artifacts.k8s", fromlist=["k8s"])
    kb = __import__(f"{mb.__name__}.artifacts.k8s", fromlist=["k8s"])
    assert (ka.HPA_CPU_UTILIZATION, kb.HPA_CPU_UTILIZATION) == (70, 55)
    import scaffold.artifacts.k8s

    assert scaffold.artifacts.k8s is not ka and scaffold.artifacts.k8s is not kb


@pytest.mark.fast
def test_loaded_code_outlives_the_template_clone(tmp_path: Path, cache: Path) -> None:
    """Copier deletes its clone after a render; lazily imported modules and data
    files must still load from the cached copy."""
    src = _copy_pkg(tmp_path / "clone")
    k8s = src / "scaffold" / "artifacts" / "k8s.py"
    k8s.write_text(k8s.read_text() + "\nMARK = 'outlives'\n")
    mod = loader.load(src)
    shutil.rmtree(src)
    assert __import__(f"{mod.__name__}.artifacts.k8s", fromlist=["k8s"]).MARK == "outlives"
    wf = __import__(f"{mod.__name__}.artifacts.workflows", fromlist=["workflows"])
    assert wf.PIN_FILE.is_file()


@pytest.mark.fast
def test_the_cached_copy_holds_bytecode_even_where_python_writes_none(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each render and hook process imports the generator from its cached copy; under
    PYTHONDONTWRITEBYTECODE (containers, CI) each compiled every module from source."""
    import importlib.util

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    src = _copy_pkg(tmp_path / "clone")
    (src / "scaffold" / "marker_for_bytecode.py").write_text("VALUE = 1\n")
    mod = loader.load(src)
    assert mod is not None
    target = cache / "generators" / loader.digest(src / "scaffold") / "scaffold"
    for rel in ("entry.py", "marker_for_bytecode.py", "artifacts/k8s.py"):
        assert Path(importlib.util.cache_from_source(str(target / rel))).is_file(), rel
    assert loader._valid(target, loader.digest(src / "scaffold"))  # bytecode is not part of the digest


@pytest.mark.fast
def test_a_tampered_cache_is_not_used(tmp_path: Path, cache: Path) -> None:
    src = _copy_pkg(tmp_path / "clone")
    key = loader.digest(src / "scaffold")
    target = cache / "generators" / key / "scaffold"
    target.mkdir(parents=True)
    (target / "__init__.py").write_text("raise SystemExit('tampered')\n")
    for name in [n for n in sys.modules if n.startswith(loader.module_name(key))]:
        del sys.modules[name]  # loaded by an earlier test: same code, same module
    mod = loader.load(src)
    assert mod is not None and loader.digest(target) == key


@pytest.mark.fast
def test_legacy_checkout_falls_back_and_api_mismatch_is_one_line(tmp_path: Path, cache: Path) -> None:
    legacy = _copy_pkg(tmp_path / "legacy")
    (legacy / "scaffold" / "entry.py").unlink()
    assert loader.load(legacy) is None
    import scaffold.entry

    assert loader.entry(legacy) is scaffold.entry
    future = _copy_pkg(tmp_path / "future")
    entry = future / "scaffold" / "entry.py"
    entry.write_text(entry.read_text().replace("API = 1", "API = 2"))
    with pytest.raises(loader.LoaderError, match=r"speaks loader API 2; this scaffold speaks 1"):
        loader.entry(future)


def test_check_reads_a_hash_commit_as_text(template_repo: Path, tmp_path: Path) -> None:
    """Copier writes an untagged commit such as 6e75821 unquoted; YAML 1.2 reads it as
    the float inf. Find a commit whose short hash looks like that, copy it, check it."""
    import copier

    repo = mutable_copy(template_repo, tmp_path, "tpl")
    git(repo, "config", "core.abbrev", "7")
    for i in range(3000):  # bounded: about 1 in 45 short hashes has the digits-e-digits shape
        short = git(repo, "rev-parse", "--short=7", "HEAD").strip()
        if re.fullmatch(r"[0-9]+e[0-9]+", short):
            break
        git(repo, "commit", "-q", "--allow-empty", "-m", f"try {i}")
    else:
        pytest.fail("no float-looking short hash in 3000 commits")
    git(repo, "tag", "-d", "v1.0.0")
    dest = tmp_path / "payments-api"
    copier.run_copy(str(repo), str(dest), defaults=True, unsafe=True, quiet=True, skip_tasks=True)
    text = (dest / ".copier-answers.yml").read_text()
    assert re.search(rf"^_commit: {short}$", text, re.M), text[:300]
    proc = subprocess.run([sys.executable, "-m", "scaffold", "check", str(dest), "--format", "json",
                           "--trusted-source", str(repo)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"drift": []' in proc.stdout.replace("\n", "").replace("  ", "") or '"drift":[]' in proc.stdout


def _evil_template(tmp_path: Path, template_repo: Path) -> tuple[Path, Path]:
    """A template whose generator code writes a marker file when it is loaded."""
    evil = mutable_copy(template_repo, tmp_path, "evil")
    marker = tmp_path / "pwned"
    init = evil / "scaffold" / "__init__.py"
    init.write_text(init.read_text() + f"\nopen({str(marker)!r}, 'w').write('ran')\n")
    git(evil, "commit", "-qam", "evil")
    git(evil, "tag", "-f", "v1.0.0")
    return evil, marker


def test_check_refuses_an_untrusted_source(render, template_repo: Path, tmp_path: Path) -> None:
    pkg = mutable_copy(render(), tmp_path, "payments-api")
    evil, marker = _evil_template(tmp_path, template_repo)
    answers = pkg / ".copier-answers.yml"
    answers.write_text(re.sub(r"^_src_path: .*$", f"_src_path: {evil}", answers.read_text(), flags=re.M))
    proc = subprocess.run([sys.executable, "-m", "scaffold", "check", str(pkg), "--include-backlog"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert "is not a trusted template source" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_check_refuses_an_option_as_commit(render, tmp_path: Path) -> None:
    pkg = mutable_copy(render(), tmp_path, "payments-api")
    answers = pkg / ".copier-answers.yml"
    target = tmp_path / "clobbered"
    answers.write_text(re.sub(r"^_commit: .*$", f"_commit: --output={target}", answers.read_text(), flags=re.M))
    proc = subprocess.run([sys.executable, "-m", "scaffold", "check", str(pkg)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode != 0 and "_commit" in proc.stderr and "--output" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not target.exists()


def test_check_explains_a_relative_source(render, tmp_path: Path) -> None:
    pkg = mutable_copy(render(), tmp_path, "payments-api")
    answers = pkg / ".copier-answers.yml"
    answers.write_text(re.sub(r"^_src_path: .*$", "_src_path: ../nowhere/scaffold", answers.read_text(), flags=re.M))
    proc = subprocess.run([sys.executable, "-m", "scaffold", "check", str(pkg)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert "is a relative path that does not resolve" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
