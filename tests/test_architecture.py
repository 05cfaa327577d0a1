"""The package's shape: imports point down the layers (import-linter's contracts in
pyproject.toml), and templates reach Python only through templating.SURFACE."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import templating
from scaffold.tools import in_ci

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = ("blueprints", "k8s", "observability", "runbooks")
SC = re.compile(r"\bsc\.([a-z_0-9]+)(?:\.([A-Za-z_][A-Za-z_0-9]*))?")


def _template_uses() -> dict[str, set[str]]:
    """``sc.<module>`` -> the attributes templates use on it, from file bodies and file names."""
    texts = [(ROOT / "copier.yml").read_text(encoding="utf-8")]
    for top in TEMPLATE_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            texts.append(str(path.relative_to(ROOT)))
            if path.is_file() and not path.is_symlink():
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    continue
    uses: dict[str, set[str]] = {}
    for text in texts:
        for mod, attr in SC.findall(text):
            uses.setdefault(mod, set()).update({attr} if attr else set())
    return uses


@pytest.mark.fast
def test_every_sc_name_a_template_uses_is_in_the_surface_table() -> None:
    uses = _template_uses()
    assert len(uses) > 10, uses  # the scan finds the templates' calls
    assert sorted(set(uses) - set(templating.SURFACE)) == [], "sc.<name> used by a template, not in templating.SURFACE"
    sc = templating._Modules()
    missing = []
    for mod, attrs in sorted(uses.items()):
        module = getattr(sc, mod)
        assert module is importlib.import_module(f"scaffold.{templating.SURFACE[mod]}")
        missing += [f"sc.{mod}.{a}" for a in sorted(attrs) if not hasattr(module, a)]
    assert missing == [], "templates call names their module does not define"
    with pytest.raises(AttributeError, match="SURFACE"):
        sc.model  # noqa: B018 (only the table's names resolve, not every module)


def test_import_contracts_hold() -> None:  # not fast: it runs lint-imports
    """lint-imports checks [tool.importlinter]: the layers, and no cycle in answers or model."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.is_file():
        msg = "lint-imports not installed (make setup installs the dev extra)"
        pytest.fail(msg) if in_ci() else pytest.skip(msg)
    run = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout, run.stdout[-2000:]


@pytest.mark.fast
def test_recording_rule_names_are_spelled_only_in_conventions() -> None:
    """Rules, alerts, dashboards, canaries and `scaffold try` name the SLI's recorded series
    through scaffold.conventions; a hand-written ``slo:...`` name in code would drift from it
    (docstrings may mention them)."""
    import io
    import tokenize

    hand = re.compile(r"slo:(?:sli_|period_)")
    found = []
    for path in sorted((ROOT / "scaffold").rglob("*.py")):
        if path.name == "conventions.py":
            continue
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            literal = tok.type == tokenize.STRING and not tok.string.lstrip("rbuRBU").startswith(('"""', "'''"))
            if literal and hand.search(tok.string):
                found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert found == [], "recording-rule names written by hand (use scaffold.conventions)"
