"""Run a generated deploy job's own ``run:`` scripts against stubbed CLIs.

:func:`run_job` reads ``.github/workflows/cd.yml`` of a rendered package, takes
the job's steps in order, resolves the ``${{ }}`` expressions of their ``env:``
(inputs, secrets, step outputs) and runs each ``run:`` with bash -eo pipefail,
the way a GitHub runner does, with the stubs of ``stub.py`` first on PATH.
``uses:`` steps are actions: they are not run (the stubs stand in for what they
install). ``if:`` is honoured for the forms the generated workflows use.

The stubbed CLIs are tiny bash wrappers that hand their arguments over a loopback
socket (bash's /dev/tcp) to :class:`StubServer`, which runs ``stub.py``'s functions in
this process: a canary's simulated plan makes ~1000 CLI calls, and a Python interpreter
per call cost most of the run. The stubs' behaviour and state files are the same.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import socket
import subprocess
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from scaffold import yamlio

from . import stub

STUB = Path(__file__).with_name("stub.py")
TOOLS = ("kubectl", "git", "kustomize", "cosign", "gh", "argocd", "flux", "sleep", "curl")
OLD_DIGEST = "sha256:" + "a" * 58 + "0a1d00"
NEW_DIGEST = "sha256:" + "b" * 58 + "1beef1"


@dataclass
class Run:
    steps: list[tuple[str, int]] = field(default_factory=list)  # (name, exit code); -1 = skipped
    calls: list[list[str]] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    log: str = ""

    @property
    def green(self) -> bool:
        return all(rc in (0, -1) for _, rc in self.steps)

    def ran(self, name: str) -> bool:
        return any(n == name and rc != -1 for n, rc in self.steps)

    def tool_calls(self, tool: str) -> list[list[str]]:
        return [c[1:] for c in self.calls if c[0] == tool]


WRAPPER = """#!/bin/bash
# {tool}: handed to tests/deploy_sim's StubServer (NUL-separated: count, tool, args; reply rc, out, err)
exec 3<>/dev/tcp/127.0.0.1/{port} || exit 97
printf '%s\\0' "$#" {tool} "$@" >&3
IFS= read -r -d '' rc <&3 || exit 98
IFS= read -r -d '' out <&3
IFS= read -r -d '' err <&3
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$rc"
"""


class StubServer:
    """Serves stub.py's CLIs on 127.0.0.1 for one job run (state in ``sim``); one call at a time."""

    def __init__(self, sim: Path) -> None:
        self.sim = sim
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(30)
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while True:
            fields = data.split(b"\0")
            if len(fields) > 1 and len(fields) - 1 >= int(fields[0]) + 2:
                break
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        tool, *args = [f.decode() for f in fields[1:int(fields[0]) + 2]]
        rc, out, err = self.call(tool, args)
        conn.sendall(f"{rc}\0{out}\0{err}\0".encode())

    def call(self, tool: str, args: list[str]) -> tuple[int, str, str]:
        """What ``stub.py TOOL ARGS...`` prints and exits with, run in this process."""
        stub.SIM, stub.STATE = self.sim, self.sim / "state.json"
        out, err = io.StringIO(), io.StringIO()
        rc = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                stub.record(tool, args)
                stub.TOOLS.get(tool, lambda a: None)(args)
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # noqa: BLE001 - a stub bug fails the call, as the crashed process did
                traceback.print_exc()
                rc = 1
        return rc, out.getvalue(), err.getvalue()


def gitops_objects(pkg: Path) -> list[list[str]]:
    """(kind, namespace, name) of every GitOps object and every workload the package deploys."""
    objs = []
    for path in sorted((pkg / "gitops").glob("*.yaml")):
        for doc in yamlio.load_all(path.read_text()):
            if doc and doc.get("metadata"):  # gitops/kustomization.yaml (kustomize's) has none
                objs.append([doc["kind"].lower(), doc["metadata"].get("namespace", ""), doc["metadata"]["name"]])
    return objs


def workload_objects(pkg: Path, namespace: str) -> list[list[str]]:
    objs = []
    for path in sorted((pkg / "k8s" / "base").glob("*.yaml")):
        for doc in yamlio.load_all(path.read_text()):
            if doc and doc.get("kind") in ("Deployment", "Rollout", "CronJob"):
                objs.append([doc["kind"].lower(), namespace, doc["metadata"]["name"]])
    return objs


def _expr(value: str, ctx: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        key = m.group(1).strip()
        if key.startswith("steps."):
            return ctx.get(key, "")
        if key not in ctx:
            raise KeyError(f"unresolved expression ${{{{ {key} }}}}")
        return ctx[key]
    return re.sub(r"\$\{\{(.*?)\}\}", sub, str(value))


def _should_run(cond: str | None, failed: bool, ctx: dict[str, str]) -> bool:
    if cond is None:
        return not failed
    c = cond.strip()
    if c.startswith("${{"):
        c = c[3:-2].strip()
    if c.startswith("vars."):
        return not failed
    if "failure()" in c:
        if not failed:
            return False
        m = re.search(r"steps\.(\w+)\.outputs\.(\w+) != ''", c)
        return not m or ctx.get(f"steps.{m.group(1)}.outputs.{m.group(2)}", "") != ""
    raise ValueError(f"if: form not understood: {cond}")


def run_job(pkg: Path, job_id: str, tmp: Path, *, scenario: dict, secrets: dict[str, str] | None = None) -> Run:
    """Run ``job_id`` of the package's cd.yml with the stubs, in a copy of the package."""
    cd = yamlio.load_file(pkg / ".github" / "workflows" / "cd.yml")
    job = cd["jobs"][job_id]
    work = tmp / "work"
    shutil.copytree(pkg, work, symlinks=True)
    tmp.mkdir(parents=True, exist_ok=True)
    sim = tmp / "sim"
    bindir = tmp / "bin"
    sim.mkdir()
    bindir.mkdir()
    server = StubServer(sim)
    for tool in TOOLS:
        wrapper = bindir / tool
        wrapper.write_text(WRAPPER.format(tool=tool, port=server.port))
        wrapper.chmod(0o755)
    namespace = next(s for s in job["steps"] if "NAMESPACE" in (s.get("env") or {}))["env"]["NAMESPACE"]
    rollout = pkg / "k8s" / "base" / "rollout.yaml"
    steps, starting = [], 0
    metrics: list[dict] = []
    if rollout.is_file():
        canary = yamlio.load_file(rollout)["spec"]["strategy"]["canary"]
        steps, starting = canary["steps"], canary.get("analysis", {}).get("startingStep", 0)
        for doc in yamlio.load_all((pkg / "k8s" / "base" / "analysistemplate.yaml").read_text()):
            metrics += doc["spec"]["metrics"]
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    image = next(s for s in job["steps"] if "IMAGE" in (s.get("env") or {}))["env"]["IMAGE"]
    deploy_branch = next((s["env"]["DEPLOY_BRANCH"] for s in job["steps"] if "DEPLOY_BRANCH" in (s.get("env") or {})),
                         "main")
    first = scenario.get("first_deploy", False)
    state = {
        "clock": 0, "image": image, "digest": NEW_DIGEST, "old_digest": OLD_DIGEST,
        "delivery": "canary" if rollout.is_file() else "rolling", "gitops": answers.get("gitops", "argocd"),
        "first_deploy": first, "branch": deploy_branch, "steps": steps, "starting_step": starting,
        "metrics": metrics, "prometheus_result": scenario["prometheus_result"],
        "objects": gitops_objects(pkg) + workload_objects(pkg, namespace),
        "remote": {} if first else {deploy_branch: "p" * 40},
        "commits": {} if first else {"p" * 40: OLD_DIGEST},
        "head": "", "pushes": [], "applies": [] if first else [{"branch": deploy_branch, "digest": OLD_DIGEST, "at": -10**6}],
        "aborted_at": None, "abort_patches": 0,
        # the live URL's answers to the smoke test, one per attempt (the last repeats)
        "live_codes": list(scenario.get("live_codes", [200])), "curls": [],
    }
    (sim / "state.json").write_text(json.dumps(state))
    ctx = {"inputs.digest": NEW_DIGEST, "github.token": "ghs_stub", "inputs.task-id": "t"}
    for name, value in (secrets if secrets is not None else {"KUBECONFIG": "apiVersion: v1"}).items():
        ctx[f"secrets.{name}"] = value
    for name in ("REGISTRY_USERNAME", "REGISTRY_PASSWORD", "KUBECONFIG"):
        ctx.setdefault(f"secrets.{name}", "")
    run = Run()
    base_env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp / "home"), "SIM_DIR": str(sim),
                "GITHUB_REPOSITORY": answers.get("github_repo", "acme/x"), "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_WORKSPACE": str(work), "LANG": "C.UTF-8"}
    (tmp / "home").mkdir()
    with server:
        _run_steps(job, run, ctx, base_env, tmp, work)
    run.calls = [json.loads(line) for line in (sim / "calls.jsonl").read_text().splitlines()] \
        if (sim / "calls.jsonl").exists() else []
    run.state = json.loads((sim / "state.json").read_text())
    return run


def _run_steps(job: dict, run: Run, ctx: dict[str, str], base_env: dict[str, str], tmp: Path, work: Path) -> None:
    failed = False
    for i, st in enumerate(job["steps"]):
        name = st.get("name", f"step {i}")
        if "run" not in st or not _should_run(st.get("if"), failed, ctx):
            run.steps.append((name, -1))
            continue
        out = tmp / f"output-{i}"
        out.write_text("")
        env = {**base_env, "GITHUB_OUTPUT": str(out),
               **{k: _expr(v, ctx) for k, v in (st.get("env") or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st["run"]],
                              cwd=work, env=env, capture_output=True, text=True, timeout=120)
        run.log += f"--- {name} (rc {proc.returncode})\n{proc.stdout}{proc.stderr}"
        run.steps.append((name, proc.returncode))
        if st.get("id"):
            for line in out.read_text().splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    ctx[f"steps.{st['id']}.outputs.{k}"] = v
        if proc.returncode != 0:
            failed = True
