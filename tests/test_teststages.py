"""ci.yml's test stages (issue 17): integration/e2e, DAST and the SLO load test, run
against the built container before anything is pushed.

- the thresholds come from the SLO answers, and follow them when they change;
- the generated load test runs here against the python skeleton: a healthy app
  passes, the same app behind a proxy that makes it slower than the SLO fails,
  naming the threshold it crossed;
- the jobs' own ``run:`` steps run through tests/gha.py with a ``docker`` stub that
  starts the skeleton as a local process (no docker daemon here), and the ZAP step
  against canned reports: a high-risk alert fails the gate, a medium one does not;
- publish (push, then sign and promote) needs every stage.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scaffold.model import stacks
from scaffold.artifacts import teststages
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from tests import gha
from tests.test_app_python import free_port, running_app
from tests.helpers import mutable_copy

WF = ".github/workflows/ci.yml"
STOP_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def pkg(render) -> Path:
    return render()


@pytest.fixture(autouse=True)
def no_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The skeleton keeps serving 5 s after SIGTERM (for load balancers); not needed here."""
    monkeypatch.setenv("SHUTDOWN_DRAIN_SECONDS", "0")


def ci(root: Path) -> dict:
    return yamlio.load_file(root / WF)


def _model(**answers) -> ServiceModel:
    return ServiceModel.from_answers({"service_name": "payments-api", **answers})


# -- the thresholds are the SLO answers ---------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize(("answers", "latency", "errors", "need"), [
    ({}, "p(99)<300", "rate<0.001", 1000),
    ({"slo_latency_ms": 450}, "p(99)<450", "rate<0.001", 1000),
    ({"slo_latency_target": 99.9, "slo_availability": 99.5}, "p(99.9)<300", "rate<0.005", 1000),
    ({"slo_latency_target": 95, "slo_availability": 99}, "p(95)<300", "rate<0.01", 100),
    ({"slo_availability": 99.999}, "p(99)<300", "rate<0.00001", teststages.LOAD_MAX_MIN_REQUESTS),
])
def test_thresholds_follow_the_slo_answers(answers: dict, latency: str, errors: str, need: int) -> None:
    cfg = teststages.load_config(_model(**answers))
    assert cfg["thresholds"] == {"http_req_duration": [latency], "http_req_failed": [errors]}
    assert cfg["min_requests"] == need and cfg["iterations"] >= need


def test_rendered_threshold_follows_slo_latency_ms(pkg: Path) -> None:
    """Acceptance: change slo_latency_ms, and the generated load test's threshold follows. The
    package's file is the builder's output for its answers; the builder follows the answer."""
    from scaffold.artifacts import workflows

    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    assert (pkg / teststages.LOAD_CONFIG).read_text() == teststages.render_load_config(ServiceModel.from_answers(answers))
    for ms in (300, 450):
        m = ServiceModel.from_answers({**answers, "slo_latency_ms": ms})
        assert json.loads(teststages.render_load_config(m))["thresholds"]["http_req_duration"] == [f"p(99)<{ms}"]
        load = workflows.ci(m)["jobs"]["load"]
        assert f"p(99)<{ms}" in load["name"]
        assert any((s.get("env") or {}).get("CONFIG") == teststages.LOAD_CONFIG for s in load["steps"])


# -- the load test, run here against the skeleton --------------------------------------------
@contextlib.contextmanager
def delaying_proxy(upstream: str, delay_s: float) -> Iterator[str]:
    """A reverse proxy on 127.0.0.1 that answers every GET ``delay_s`` late: the app, slower."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(delay_s)
            with urllib.request.urlopen(upstream + self.path, timeout=10) as resp:
                body, status = resp.read(), resp.status
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT_S)


def load_test(root: Path, base: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / teststages.LOAD_SCRIPT), "--base-url", base,
                           "--config", str(root / teststages.LOAD_CONFIG), *extra],
                          capture_output=True, text=True, timeout=180)


@pytest.mark.live
def test_load_test_fails_when_the_app_is_slower_than_the_slo(pkg: Path) -> None:
    """The healthy case is test_load_job_steps_pass_against_the_skeleton (the job's own step)."""
    with running_app(pkg / stacks.APP_DIR) as (base, _):
        # Twice the SLO threshold per request: p(99) cannot stay under it. Bounded to 3 s.
        with delaying_proxy(base, 2 * 0.300) as slow:
            slowed = load_test(pkg, slow, "--vus", "20", "--max-duration", "3")
        quick = load_test(pkg, base, "--iterations", "100", "--vus", "4")  # the same app, not slowed
    assert slowed.returncode == 99, slowed.stdout + slowed.stderr
    assert "FAIL http_req_duration p(99)<300" in slowed.stdout, slowed.stdout
    assert "PASS http_req_failed rate<0.001" in slowed.stdout, "slower, but not failing"
    assert "PASS http_req_duration p(99)<300" in quick.stdout, quick.stdout


@pytest.mark.live
def test_load_test_fails_on_errors_over_the_budget(pkg: Path) -> None:
    with running_app(pkg / stacks.APP_DIR, fault="0.2") as (base, _):
        res = load_test(pkg, base, "--iterations", "100", "--vus", "4")
    assert res.returncode == 99, res.stdout + res.stderr
    assert "FAIL http_req_failed rate<0.001" in res.stdout, res.stdout


@pytest.mark.live
def test_python_skeleton_listen_backlog_holds_the_load_tests_vus(pkg: Path) -> None:
    """Defect found by the load test: http.server listens with a backlog of 5, so 10 VUs saw
    dropped SYNs retried a second later (p(99) ~1 s on a busy machine). ss shows a listening
    socket's backlog as its Send-Q."""
    with running_app(pkg / stacks.APP_DIR) as (base, _):
        port = base.rsplit(":", 1)[1]
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    backlog = int(out.split()[2])
    assert backlog >= 2 * teststages.LOAD_VUS, out


@pytest.mark.parametrize(("thresholds", "message"), [
    ({"http_req_duration": ["p(99)>300"]}, "thresholds.http_req_duration: 'p(99)>300' is not supported"),
    ({"http_req_failed": ["p(99)<3"]}, "thresholds.http_req_failed: 'p(99)<3' is not supported; allowed: rate<X"),
    ({"http_reqs": ["count<3"]}, "thresholds: unknown metric 'http_reqs'"),
])
def test_load_test_refuses_a_bad_threshold(pkg: Path, tmp_path: Path, thresholds: dict, message: str) -> None:
    cfg = {**json.loads((pkg / teststages.LOAD_CONFIG).read_text()), "thresholds": thresholds}
    (tmp_path / "t.json").write_text(json.dumps(cfg))
    res = subprocess.run([sys.executable, str(pkg / teststages.LOAD_SCRIPT), "--base-url", "http://127.0.0.1:9",
                          "--config", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and message in res.stderr, res.stderr


# -- the CI graph ---------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("answers", [{}, {"stack": "node"}, {"blueprint": "worker"}, {"blueprint": "cronjob"}])
def test_nothing_is_pushed_before_the_stages_pass(answers: dict) -> None:
    from scaffold.artifacts import workflows

    jobs = workflows.ci(_model(**answers))["jobs"]
    stages = {"integration"} | ({"dast", "load"} if answers.get("blueprint", "service") == "service" else set())
    assert stages | {"test-image"} <= set(jobs) and not {"dast", "load"} - stages & set(jobs)
    builds = [jid for jid, j in jobs.items() for s in j.get("steps", []) if "build-push-action" in s.get("uses", "")]
    assert builds == ["test-image", "publish"], "one build to test, one to push (on the default branch)"
    assert stages <= set(jobs["publish"]["needs"])  # sign and deploy need publish
    assert "publish" in jobs["sign"]["needs"] and "publish" in jobs["deploy"]["needs"]
    for jid in stages | {"test-image"}:
        j = jobs[jid]
        assert "if" not in j, f"{jid} must run on pull requests and pushes alike"
        assert dict(j["permissions"]) == {"contents": "read"}, f"{jid} must not be able to push"
        text = json.dumps(j, default=str)
        assert "docker/login-action" not in text and "docker push" not in text
    build = [s for s in jobs["test-image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@")]
    assert build and build[0]["with"]["push"] is False and build[0]["with"]["outputs"].startswith("type=docker,")


def test_only_a_service_gets_the_load_and_dast_files(render) -> None:
    root = render(name="orders-svc", skip_tasks=True, blueprint="worker", environments=["qa", "prod"], gitops="flux")
    assert (root / teststages.INTEGRATION_SCRIPT).is_file()
    assert not (root / "tests" / "load").exists() and not (root / "tests" / "dast").exists()


# -- the jobs' own steps, with docker stubbed ------------------------------------------------
DOCKER_STUB = r"""
state="$STUB_STATE"
cmd="$1"; shift
printf 'docker %s %s\n' "$cmd" "$*" >> "$state/calls"
case "$cmd" in
  load|network) exit 0 ;;
  run)
    detach=false; vol=""
    while [ "$#" -gt 0 ]; do
      case "$1" in --detach) detach=true ;; --volume) vol="$2"; shift ;; esac
      shift
    done
    if [ -n "$vol" ]; then  # the ZAP baseline: a canned report in the mounted directory
      if [ -n "${STUB_ZAP_REPORT:-}" ]; then cp "$STUB_ZAP_REPORT" "${vol%%:*}/zap-report.json"; fi
      exit "${STUB_ZAP_RC:-0}"
    fi
    [ "$detach" = true ] || { echo "stub: only detached app containers" >&2; exit 2; }
    (
      cd "$STUB_APP_DIR"
      HOST=127.0.0.1 "$STUB_PYTHON" main.py > "$state/log" 2>&1 < /dev/null &
      echo "$!" > "$state/pid"
      wait "$!"
      echo "$?" > "$state/exit"
    ) > /dev/null 2>&1 < /dev/null &
    ;;
  stop)
    kill -TERM "$(cat "$state/pid")"
    ;;
  wait)
    for _ in $(seq 1 200); do
      if [ -s "$state/exit" ]; then cat "$state/exit"; exit 0; fi
      sleep 0.1
    done
    echo "stub: the app did not exit" >&2; exit 1
    ;;
  logs) cat "$state/log" ;;
  *) echo "stub: docker $cmd not stubbed" >&2; exit 2 ;;
esac
"""


def run_stage(pkg: Path, tmp_path: Path, job_id: str, **stub_env: str) -> list[gha.StepRun]:
    """The job's run: steps, on free ports, with docker starting app/main.py locally."""
    job = copy.deepcopy(ci(pkg)["jobs"][job_id])
    port, metrics = str(free_port()), str(free_port())
    for s in job["steps"]:
        env = s.get("env") or {}
        if "PORT" in env:
            env["PORT"] = port
        if "METRICS_PORT" in env:
            env["METRICS_PORT"] = metrics
        if "READY_INTERVAL" in env:
            env["READY_INTERVAL"] = "0.2"
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    state.mkdir()
    gha.stub(bin_dir, "docker", DOCKER_STUB)
    env = gha.clean_env(PATH=f"{bin_dir}:{os.environ['PATH']}", STUB_STATE=str(state),
                        STUB_APP_DIR=str(pkg / stacks.APP_DIR), STUB_PYTHON=sys.executable)
    env.pop(stacks.FAULT_ENV, None)
    env["SHUTDOWN_DRAIN_SECONDS"] = "0"  # the skeleton's SIGTERM drain; 5 s in a pod
    env.update(stub_env)
    temp = tmp_path / "runner"
    temp.mkdir()
    try:
        return gha.run_job(job, cwd=pkg, env=env, ctx=gha.Context(), temp=temp, timeout=180)
    finally:
        pid = state / "pid"
        if pid.is_file() and not (state / "exit").is_file():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid.read_text()), signal.SIGTERM)
            for _ in range(100):
                if (state / "exit").is_file():
                    break
                time.sleep(0.1)


def ran(runs: list[gha.StepRun]) -> dict[str, gha.StepRun]:
    return {r.name: r for r in runs if r.ran}


@pytest.mark.live
def test_integration_job_steps_pass_against_the_skeleton(pkg: Path, tmp_path: Path) -> None:
    runs = run_stage(pkg, tmp_path, "integration")
    steps = ran(runs)
    assert all(r.returncode == 0 for r in steps.values()), [(r.name, r.stdout, r.stderr) for r in steps.values()]
    assert set(steps) == {s["name"] for s in ci(pkg)["jobs"]["integration"]["steps"] if "run" in s}
    out = steps["Integration and end-to-end checks"].stdout
    assert 'PASS http_requests_total{route="/hello",code="200"} counts the request' in out
    assert "PASS a log line records the request to /hello" in steps["Every log line is JSON"].stdout


@pytest.mark.live
def test_integration_job_fails_when_the_main_route_fails(pkg: Path, tmp_path: Path) -> None:
    runs = run_stage(pkg, tmp_path, "integration", **{stacks.FAULT_ENV: "1"})
    checks = ran(runs)["Integration and end-to-end checks"]
    assert checks.returncode == 1 and "FAIL GET /hello answers 200: got 500" in checks.stdout, checks.stdout
    assert not any(r.ran for r in runs[runs.index(checks) + 1:]), "steps after a failure must not run"


def zap_report(tmp_path: Path, risk: int, rule: str = "10038") -> Path:
    path = tmp_path / f"zap-{risk}.json"
    path.write_text(json.dumps({"@programName": "ZAP", "site": [{"@name": "http://app:8080", "alerts": [
        {"pluginid": rule, "name": "Content Security Policy (CSP) Header Not Set", "riskcode": str(risk),
         "confidence": "3", "count": "2"}]}]}))
    return path


@pytest.mark.live
@pytest.mark.parametrize(("risk", "gates"), [(3, True)])  # risk 2 passing: test_dast_gate_rules
def test_dast_job_gates_on_high_risk_alerts(pkg: Path, tmp_path: Path, risk: int, gates: bool) -> None:
    runs = run_stage(pkg, tmp_path, "dast", STUB_ZAP_REPORT=str(zap_report(tmp_path, risk)), STUB_ZAP_RC="0")
    steps = ran(runs)
    gate = steps["Gate: fail on high-risk alerts"]
    assert steps["ZAP baseline scan of the running container"].returncode == 0
    assert gate.returncode == (1 if gates else 0), gate.stdout + gate.stderr
    if gates:
        assert "FAIL [10038] Content Security Policy (CSP) Header Not Set: risk High" in gate.stdout
    calls = (tmp_path / "state" / "calls").read_text()
    assert f"{teststages.ZAP_IMAGE} zap-baseline.py -t http://app:8080/hello -c zap-rules.tsv" in calls


@pytest.mark.live
def test_dast_job_fails_when_zap_does_not_complete(pkg: Path, tmp_path: Path) -> None:
    runs = run_stage(pkg, tmp_path, "dast", STUB_ZAP_RC="3")
    scan = ran(runs)["ZAP baseline scan of the running container"]
    assert scan.returncode == 1 and "the ZAP baseline did not complete (exit 3)" in scan.stdout


@pytest.mark.parametrize(("rules", "alert", "gates"), [
    ("10038\tIGNORE\tCSP\n", {"riskcode": "3", "confidence": "2"}, False),
    ("10038\tFAIL\tCSP\n", {"riskcode": "1", "confidence": "2"}, True),
    ("", {"riskcode": "3", "confidence": "0"}, False),  # ZAP's own false-positive mark
    ("", {"riskcode": "3", "confidence": "1"}, True),
    ("", {"riskcode": "2", "confidence": "3"}, False),  # medium: reported, not gated
])
def test_dast_gate_rules(pkg: Path, tmp_path: Path, rules: str, alert: dict, gates: bool) -> None:
    (tmp_path / "rules.tsv").write_text((pkg / teststages.DAST_RULES).read_text() + rules)
    (tmp_path / "r.json").write_text(json.dumps({"site": [{"alerts": [{"pluginid": "10038", "name": "CSP", **alert}]}]}))
    res = subprocess.run([sys.executable, str(pkg / teststages.DAST_GATE), str(tmp_path / "r.json"),
                          "--rules", str(tmp_path / "rules.tsv")], capture_output=True, text=True, timeout=30)
    assert res.returncode == (1 if gates else 0), res.stdout + res.stderr


@pytest.mark.live
def test_load_job_steps_pass_against_the_skeleton(pkg: Path, tmp_path: Path) -> None:
    steps = ran(run_stage(pkg, tmp_path, "load"))
    load = steps["Load test: the SLO's latency and error budget are the thresholds"]
    assert load.returncode == 0, load.stdout + load.stderr
    assert "PASS http_req_duration p(99)<300" in load.stdout and "all thresholds hold" in load.stdout


# -- scaffold validate judges the new artifacts ------------------------------------------------
def test_validate_test_stages_catches_drift(pkg: Path, tmp_path: Path) -> None:

    from scaffold.model.package import Package
    from scaffold.validate import load_checkers, run_one

    def findings(root: Path) -> list[str]:
        result = run_one(load_checkers()["test-stages"], Package.load(root))
        return [f"{f.file}: {f.message}" for f in result.findings]

    assert findings(pkg) == []
    dest = mutable_copy(pkg, tmp_path, ignore=("backlog", "node_modules"))
    cfg = dest / teststages.LOAD_CONFIG
    cfg.write_text(cfg.read_text().replace("p(99)<300", "p(99)<900"))
    rules = dest / teststages.DAST_RULES
    rules.write_text(rules.read_text() + "10038\tSKIP\tCSP\n")
    (dest / teststages.DAST_GATE).write_text("def broken(:\n")
    got = findings(dest)
    assert any(f.startswith(f"{teststages.LOAD_CONFIG}: thresholds.http_req_duration is ['p(99)<900'], "
                            "but the SLO") for f in got), got
    assert any(f.startswith(teststages.DAST_RULES) and "SKIP" in f for f in got), got
    assert any(f.startswith(teststages.DAST_GATE) for f in got), got
    (dest / teststages.LOAD_SCRIPT).unlink()
    assert f"{teststages.LOAD_SCRIPT}: missing: .github/workflows/ci.yml runs it" in findings(dest)


# -- the integration checks hold for the other skeletons too -----------------------------------
def integration(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / teststages.INTEGRATION_SCRIPT), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.live
@pytest.mark.parametrize(("stack", "blueprint"), [("node", "service"), ("node", "worker"), ("python", "worker")])
def test_integration_checks_pass_on_other_skeletons(render, node_runtime_modules: Path, tmp_path: Path, stack: str,
                                                   blueprint: str) -> None:
    from tests.test_app_stacks import METRICS_BASE, NODE_PATH, node_process, render_kind

    NODE_PATH[:] = [str(node_runtime_modules)]  # the node skeleton's runtime dependencies (OpenTelemetry)

    root = render_kind(render, stack, blueprint)
    model = ServiceModel.from_answers(yamlio.load_file(root / ".copier-answers.yml"))
    start = (node_process(root / stacks.APP_DIR, stacks.entry_source(model)) if stack == "node"
             else running_app(root / stacks.APP_DIR))
    with start as (base, proc):
        args = ["http", "--blueprint", blueprint, "--base-url", base]
        if blueprint == "service":
            args += ["--metrics-url", METRICS_BASE[base], "--route", stacks.SAMPLE_ROUTE]
        checks = integration(root, *args)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_TIMEOUT_S) == 0
        (tmp_path / "container.log").write_text(proc.stdout.read() if proc.stdout else "")
    assert checks.returncode == 0, checks.stdout + checks.stderr
    logs = integration(root, "logs", "--blueprint", blueprint, str(tmp_path / "container.log"))
    assert logs.returncode == 0, logs.stdout + logs.stderr
