"""The node, go and dotnet skeletons: hadolint and real parsers pass them, and
fail a copy with a syntax error or a root USER. The node service also runs."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scaffold import stacks
from scaffold.validate import app as app_checks
from scaffold.validate import load_checkers, run_one
from scaffold.package import Package
from tests.conftest import require_tool
from tests.test_app_python import READY_DEADLINE_S, STOP_TIMEOUT_S, free_port, get

STACKS = ("node", "go", "dotnet")
# A file per stack to break, and the broken line to append.
BREAK = {
    "node": ("app/src/server.js", "function broken( {\n"),
    "go": ("app/main.go", "func broken( {\n"),
    "dotnet": ("app/App/Program.cs", "namespace Broken { class C { void M( } }\n"),
}
CHECKERS = ("app-dockerfile", "app-sources")


def check(root: Path) -> dict[str, list]:
    factories = load_checkers()
    pkg = Package.load(root)
    results = {name: run_one(factories[name], pkg) for name in CHECKERS}
    for res in results.values():
        if res.status == "skip":
            require_tool(res.tool if res.tool != "tree-sitter" else "node")
    return {name: [(f.file, f.message) for f in res.findings] for name, res in results.items()}


@pytest.fixture(scope="module", params=STACKS)
def stack_pkg(request, render) -> tuple[str, Path]:
    return request.param, render(stack=request.param)


def test_skeleton_passes_hadolint_and_parsers(stack_pkg) -> None:
    require_tool("hadolint")
    stack, pkg = stack_pkg
    assert stacks.app_kind(Package.load(pkg).model) == f"{stack}-service"
    assert check(pkg) == {"app-dockerfile": [], "app-sources": []}


def test_syntax_error_is_reported(stack_pkg, tmp_path: Path) -> None:
    stack, pkg = stack_pkg
    copy = tmp_path / "pkg"
    shutil.copytree(pkg, copy, symlinks=True)
    rel, line = BREAK[stack]
    with (copy / rel).open("a") as fh:
        fh.write(line)
    findings = check(copy)["app-sources"]
    assert findings and {f for f, _ in findings} == {rel}, findings


def test_root_user_is_reported(stack_pkg, tmp_path: Path) -> None:
    require_tool("hadolint")
    _, pkg = stack_pkg
    copy = tmp_path / "pkg"
    shutil.copytree(pkg, copy, symlinks=True)
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER 10001:10001", "USER root"))
    messages = [m for _, m in check(copy)["app-dockerfile"]]
    assert any("DL3002" in m for m in messages), messages  # hadolint: last USER should not be root
    assert any("UID >= 10000" in m for m in messages), messages


def test_tree_sitter_reports_the_line() -> None:
    errs = app_checks.tree_sitter_errors("go", b"package main\n\nfunc main() {\n\tx := \n}\n")
    assert errs and errs[0].startswith("line ")


def test_node_service_runs_and_serves_the_slo_series(render) -> None:
    node = require_tool("node")
    pkg = render(stack="node")
    port = free_port()
    env = {"PATH": str(Path(node).parent), stacks.HOST_ENV: "127.0.0.1", stacks.PORT_ENV: str(port),
           stacks.FAULT_ENV: "1"}
    proc = subprocess.Popen([node, "src/server.js"], cwd=pkg / stacks.APP_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        import time

        deadline = time.monotonic() + READY_DEADLINE_S
        for _ in range(100):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            try:
                if get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert proc.poll() is None, "node service exited early"
        assert [get(base + stacks.SAMPLE_ROUTE)[0] for _ in range(3)] == [500] * 3
        status, body = get(base + "/metrics")
        assert status == 200
        samples = [s for fam in text_string_to_metric_families(body) for s in fam.samples]
        model = Package.load(pkg).model
        assert any(s.name == "http_requests_total" and s.value == 3
                   and s.labels == {"code": "500", "method": "GET", "route": stacks.SAMPLE_ROUTE} for s in samples)
        assert any(s.name == "http_request_duration_seconds_bucket" and s.labels.get("le") == model.latency_le
                   and s.value == 3 for s in samples)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == 0
