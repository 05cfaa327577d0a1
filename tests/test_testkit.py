"""The test kit keeps its own rules: helpers come from one module, and `-m fast` stays a unit run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from types import SimpleNamespace

import pytest

from tests import helpers
from tests.helpers import ROOT, SLOW_FIXTURES, build_file_tree, mutable_copy, require_tool

pytestmark = pytest.mark.fast

TESTS = ROOT / "tests"


def _conftest():
    """tests/conftest.py loaded apart (its functions, not pytest's registered plugin)."""
    spec = importlib.util.spec_from_file_location("_conftest_under_test", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_helpers_are_imported_from_tests_helpers_only():
    wrong = [f"{p.name}:{n}" for p in sorted(TESTS.rglob("*.py")) if p.name != "conftest.py"
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.match(r"\s*(from\s+(tests\.)?conftest\s+import|import\s+(tests\.)?conftest\b)", line)]
    assert wrong == [], "import helpers from tests.helpers, not conftest: " + ", ".join(wrong)


def _item(nodeid, fast, fixtures):
    marker = object() if fast else None
    return SimpleNamespace(nodeid=nodeid, fixturenames=fixtures,
                           get_closest_marker=lambda name: marker if name == "fast" else None)


def test_collection_refuses_a_fast_test_that_renders():
    hook = _conftest().pytest_collection_modifyitems
    fine = [_item("t::unit", True, ["tmp_path"]), _item("t::slow", False, ["render", "tmp_path"])]
    hook(None, fine)  # no complaint
    for fixture in sorted(SLOW_FIXTURES):
        with pytest.raises(pytest.UsageError, match=rf"t::bad uses {fixture}"):
            hook(None, [*fine, _item("t::bad", True, ["tmp_path", fixture])])


def test_a_fast_test_may_not_use_an_external_tool():
    assert helpers.FAST_TEST  # set by conftest for this (fast) test
    with pytest.raises(pytest.fail.Exception, match="require_tool\\('promtool'\\) in a @pytest.mark.fast test"):
        require_tool("promtool")


def test_a_fast_test_may_not_start_a_process():
    with pytest.raises(pytest.fail.Exception, match="fast test started a process"):
        subprocess.run(["true"], check=False)


def test_mutable_copy_is_private_and_keeps_symlinks(tmp_path):
    src = build_file_tree(tmp_path / "rendered", {"k8s/base/a.yaml": "a: 1\n", "app/main.py": "print()\n",
                                                  "bin.dat": b"\0\1"})
    (src / "link").symlink_to("k8s/base/a.yaml")
    copy = mutable_copy(src, tmp_path / "work", ignore=("app",))
    assert copy == tmp_path / "work" / "pkg"
    (copy / "k8s/base/a.yaml").write_text("a: 2\n")
    assert (src / "k8s/base/a.yaml").read_text() == "a: 1\n"
    assert (copy / "link").is_symlink() and not (copy / "app").exists()
    assert (copy / "bin.dat").read_bytes() == b"\0\1"
    assert mutable_copy(src, tmp_path / "work", "named").name == "named"
