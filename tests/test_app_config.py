"""Issue #22 defect 1: the ConfigMap carries what the app reads, and the app reads it.

The ConfigMap used to set APP_PORT and LOG_FORMAT, which no skeleton read (they
read PORT). Now its keys are stacks.config_env; the ``app-config`` checker finds
each key read in every stack's source (tests/test_app_stacks.py runs validate on
all twelve skeletons), and here the python and node services are started from
the ConfigMap itself and bind the ports it names.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scaffold.artifacts import k8s
from scaffold.model import stacks
from scaffold.model.package import Package
from scaffold.validate import load_checkers, run_one
from tests.helpers import mutable_copy, require_tool
from tests.test_app_python import free_port, get, stop

READY_TRIES, STOP_TIMEOUT_S = 100, 10.0


def configmap_data(pkg: Path) -> dict[str, str]:
    (doc,) = [d for d in yaml.safe_load_all((pkg / "k8s/base/configmap.yaml").read_text()) if d]
    return {str(k): str(v) for k, v in doc["data"].items()}


@pytest.mark.parametrize("stack", ["python", "node"])
def test_skeleton_binds_the_ports_its_configmap_names(render, node_runtime_modules: Path, stack: str) -> None:
    pkg = render() if stack == "python" else render(stack="node")
    model = Package.load(pkg).model
    data = configmap_data(pkg)
    assert data == k8s.config_data(model) and {"PORT", "METRICS_PORT"} <= set(data), data
    assert set(data) - set(stacks.config_env(model)) <= set(stacks.OTEL_SDK_ENV), data
    assert not {"APP_PORT", "LOG_FORMAT"} & set(data)
    # The ConfigMap's own keys and values; only the port numbers move to free ones (a shared machine).
    port, metrics_port = free_port(), free_port()
    env = {**data, "PORT": str(port), "METRICS_PORT": str(metrics_port), stacks.HOST_ENV: "127.0.0.1"}
    if stack == "python":
        cmd = [sys.executable, "main.py"]
        base_env = {k: v for k, v in os.environ.items() if k not in ("PORT", "METRICS_PORT", stacks.FAULT_ENV)}
    else:
        node = require_tool("node")
        cmd = [node, stacks.entry_source(model)]
        base_env = {"PATH": str(Path(node).parent), "NODE_PATH": str(node_runtime_modules)}  # its OpenTelemetry SDK
    proc = subprocess.Popen(cmd, cwd=pkg / stacks.APP_DIR, env={**base_env, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        status = 0
        for _ in range(READY_TRIES):
            if proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status = get(f"http://127.0.0.1:{port}/readyz")[0]
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200, f"{stack} never answered on PORT {port}: {proc.stdout.read() if proc.poll() is not None else ''}"
        assert get(f"http://127.0.0.1:{metrics_port}/metrics")[0] == 200  # METRICS_PORT is read too
    finally:
        stop(proc)


def test_app_config_flags_a_key_nothing_reads(default_package: Path, tmp_path: Path) -> None:
    """Mutation: the old ConfigMap keys, and a container env nobody reads, are each one finding."""
    root = mutable_copy(default_package, tmp_path)
    clean = run_one(load_checkers()["app-config"], Package.load(root))
    assert clean.status == "pass", clean.findings
    cm = root / "k8s/base/configmap.yaml"
    cm.write_text(cm.read_text().replace("  PORT: '8080'\n", "  PORT: '8080'\n  APP_PORT: '8080'\n  LOG_FORMAT: json\n"))
    dep = root / "k8s/base/deployment.yaml"
    dep.write_text(dep.read_text().replace("          envFrom:\n", "          env:\n            - name: POD_NAME\n"
                                           "              value: x\n          envFrom:\n", 1))
    result = run_one(load_checkers()["app-config"], Package.load(root))
    assert result.status == "fail"
    assert sorted((f.file, f.message.split(" ")[0]) for f in result.findings) == [
        ("k8s/base/configmap.yaml", "APP_PORT"), ("k8s/base/configmap.yaml", "LOG_FORMAT"),
        ("k8s/base/deployment.yaml", "POD_NAME")]
