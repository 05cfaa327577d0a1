"""Shared fixtures: a git-tagged temporary clone of the working tree, and
session-cached renders of it, the way Copier's own tests do it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

# Backlog tasks are dated the minute they are filed (scaffold.backlog.sync.created_date): two
# renders a test compares must not straddle a minute boundary on a loaded machine, so the
# suite files on one fixed minute. Tests of the filing date set their own, through plumbum's
# environment as Copier's tasks see it (tests/test_backlog.py).
os.environ.setdefault("SOURCE_DATE_EPOCH", "1780000000")

from scaffold import tools
from tests.helpers import SLOW_FIXTURES, require_tool, snapshot_template, trust_source

# scaffold is first imported just above, after SOURCE_DATE_EPOCH is set (tests.helpers imports it
# lazily). Test modules import helpers from tests.helpers, never from conftest (tests/test_testkit.py).
assert tools


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = snapshot_template(tmp_path_factory.mktemp("template") / "scaffold")
    trust_source(repo)
    return repo


Render = Callable[..., Path]


@pytest.fixture(scope="session")
def render(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """render(name=..., **answers) -> a generated package, cached per answer set.

    Returned trees are shared across tests: treat them as read-only, copy to mutate.
    """
    import copier

    cache: dict[str, Path] = {}

    def _render(name: str = "payments-api", *, skip_tasks: bool = False, **answers: Any) -> Path:
        key = json.dumps([name, skip_tasks, answers], sort_keys=True)
        if key not in cache:
            dest = tmp_path_factory.mktemp("pkg") / name
            copier.run_copy(str(template_repo), str(dest), data=answers, defaults=True,
                            unsafe=True, quiet=True, vcs_ref="v1.0.0", skip_tasks=skip_tasks)
            cache[key] = dest
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default_package(render: Render) -> Path:
    return render()


@pytest.fixture(scope="session")
def node_runtime_modules(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The node skeleton's runtime dependencies (OpenTelemetry), installed once per run from
    its own package-lock.json (`npm ci --omit=dev`, as its Dockerfile does); tests put this
    folder on NODE_PATH so the shared rendered packages stay untouched."""
    import shutil
    import subprocess

    npm = require_tool("npm")
    dest = tmp_path_factory.mktemp("node-runtime")
    app = render(stack="node") / "app"
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, dest / name)
    res = subprocess.run([npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=dest,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return dest / "node_modules"


# -- the fast marker stays honest -------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`pytest -m fast` must stay a quick unit run: a fast test may not reach (directly or
    through another fixture) a fixture that clones the template or renders a package."""
    wrong = []
    for item in items:
        if item.get_closest_marker("fast") is None:
            continue
        used = sorted(SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        if used:
            wrong.append(f"{item.nodeid} uses {', '.join(used)}")
    if wrong:
        raise pytest.UsageError("@pytest.mark.fast tests must not render or clone the template "
                                "(drop the marker or the fixture):\n  " + "\n  ".join(wrong))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Inside a @pytest.mark.fast test (its fixtures included) require_tool() and starting a
    process fail: a test that runs an external tool or a subprocess is not a unit test."""
    from tests import helpers

    helpers.FAST_TEST = item.get_closest_marker("fast") is not None
    if helpers.FAST_TEST:
        subprocess.Popen = _NoProcess  # type: ignore[misc]


def pytest_runtest_teardown(item: pytest.Item) -> None:
    from tests import helpers

    helpers.FAST_TEST = False
    subprocess.Popen = _POPEN  # type: ignore[misc]


_POPEN = subprocess.Popen


class _NoProcess(_POPEN):  # type: ignore[misc, valid-type]
    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        pytest.fail(f"a @pytest.mark.fast test started a process ({args!r}): drop the marker")
