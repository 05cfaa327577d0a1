"""The real `copier copy` prompts, driven through a pseudo-terminal (issues 15 and 20).

- answers drive defaults: memory_request=512Mi and replicas_min=12 no longer make
  the next default invalid (Copier validates it, and used to crash and lose every answer);
- a YAML typo and a port of ``http`` get errors that name the problem and lead
  with an example, within the terminal's width; ``dev, staging, prod`` is a list;
- advanced questions sit behind one question whose `no` takes the defaults, and
  ``--defaults`` with ``-d`` overrides of advanced answers still works.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold import yamlio
from scaffold.cli import app
from scaffold.model.package import Package

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

COLUMNS = 100
COPIER = str(Path(sys.executable).parent / "copier")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAR = "\x15"  # Ctrl-U: clear the input line (it holds the default)


class Terminal:
    """A copier process on a pty, read through pyte (a VT100 emulator): prompt_toolkit
    redraws by cursor moves, so what the user sees is the emulated screen, not the bytes."""

    def __init__(self, template: Path, dest: Path):
        env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": str(COLUMNS), "LINES": "40"}
        self.child = pexpect.spawn(COPIER, ["copy", "--trust", "--skip-tasks", "--vcs-ref", "v1.0.0", str(template),
                                            str(dest)], encoding="utf-8", timeout=60, dimensions=(40, COLUMNS), env=env)
        self.screen = pyte.Screen(COLUMNS, 40)
        self.stream = pyte.Stream(self.screen)
        self.transcript = ""

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def wait(self, text: str, timeout: float = 60) -> str:
        """The first screen line holding ``text``, once it shows (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if text in line]
            if found:
                return found[-1]
            if time.monotonic() > deadline or not self.child.isalive():
                raise AssertionError(f"{text!r} never showed; screen:\n" + "\n".join(self.lines()))
            try:
                chunk = self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                chunk = ""
            self.transcript += chunk
            self.stream.feed(chunk)

    def answer(self, prompt: str, keys: str) -> None:
        self.wait(prompt)
        self.child.send(keys)

    def finish(self, timeout: float = 120) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.transcript += self.child.before or ""
        self.child.close()
        return self.child.exitstatus


@pytest.mark.slow
def test_prompts_name_errors_and_derive_defaults(template_repo, tmp_path):
    dest = tmp_path / "payments-api"
    term = Terminal(template_repo, dest)
    try:
        for prompt in ("Blueprint", "Service name", "One-line description", "Owning team", "Language stack",
                       "Generate a minimal runnable app"):
            term.answer(prompt, "\r")
        term.answer("HTTP port", CLEAR + "http\r")
        assert term.wait("port: e.g. 8080 | ") == "port: e.g. 8080 | must be a whole number; got 'http'"
        term.child.send(CLEAR + "80\r")
        assert term.wait("from 1024") == "port: e.g. 8080 | must be a whole number from 1024 to 65535; got 80"
        term.child.send(CLEAR + "8080\r")
        term.answer("Container registry", "\r")
        term.answer("Environments in promotion order", CLEAR + "[dev, staging, prod\r")
        assert term.wait("environments: e.g. ") == \
            "environments: e.g. dev, staging, prod | YAML error at column 20: expected ',' or ']', got the end"
        term.child.send(CLEAR + "dev, staging, prod\r")
        term.answer("Kubernetes minor", "\r")
        term.answer("Customise advanced settings", "y")
        term.answer("Minimum replicas", CLEAR + "12\r")
        assert term.wait("Maximum replicas").startswith("🎤 Maximum replicas")
        assert term.wait("   24") == "   24"  # the default, derived from 12 (a fixed 10 was invalid)
        term.child.send("\r")
        term.answer("Per-environment replica bounds", "\r")
        term.answer("CPU request", "\r")
        term.answer("Memory request", CLEAR + "512Mi\r")
        term.wait("Memory limit")
        assert term.wait("   1Gi") == "   1Gi"  # derived from the request: the fixed 256Mi default crashed here
        term.child.send(CLEAR + "256Mi\r")
        assert term.wait("memory_limit: e.g.") == \
            "memory_limit: e.g. 256Mi | must be at least memory_request (512Mi); got '256Mi'"
        term.child.send(CLEAR + "1Gi\r")
        for prompt in ("Requests/s (service) or jobs/s", "Availability SLO", "Latency SLO threshold", "Percent of requests", "SLO window",
                       "Extra SLOs", "Trace sampling ratio", "Cloud for the Terraform", "GitOps controller", "Delivery", "How traffic",
                       "Public DNS name", "GitHub repository", "Runbook base URL", "Grafana base URL",
                       "Collector sends traces", "Collector sends logs", "File a Backlog.md task", "Assignee of the generated backlog tasks",
                       "AWS account ID", "Region of the clusters", "Terraform state bucket", "SecretStore",
                       "Backstage lifecycle", "PagerDuty service ID", "Backstage System"):
            term.answer(prompt, "\r")
        status = term.finish()
    finally:
        term.child.close(force=True)
    assert status == 0, "\n".join(term.lines())
    assert "Traceback" not in term.transcript
    recorded = yamlio.load_file(dest / ".copier-answers.yml")
    assert recorded["environments"] == ["dev", "staging", "prod"]
    assert (recorded["advanced"], recorded["replicas_min"], recorded["replicas_max"]) == (True, 12, 24)
    assert (recorded["memory_request"], recorded["memory_limit"]) == ("512Mi", "1Gi")
    m = Package.load(dest).model
    assert m.production.replicas_max == 24 and m.resources.memory_limit == "1Gi"
    assert [e.name for e in m.environments] == ["dev", "staging", "prod"]


@pytest.mark.slow
def test_advanced_no_takes_the_defaults(template_repo, tmp_path):
    term = Terminal(template_repo, tmp_path / "svc")
    try:
        for prompt in ("Blueprint", "Service name", "One-line description", "Owning team", "Language stack",
                       "Generate a minimal runnable app", "HTTP port", "Container registry",
                       "Environments in promotion order", "Kubernetes minor"):
            term.answer(prompt, "\r")
        term.answer("Customise advanced settings", "n")
        asked = term.wait("Availability SLO")
        assert asked.startswith("🎤 Availability SLO")
        assert not any(q in "\n".join(term.lines()) for q in ("Minimum replicas", "CPU request", "Memory"))
    finally:
        term.child.close(force=True)


@pytest.mark.parametrize("data, field, expected", [
    (["memory_request=512Mi"], "memory_limit", "1Gi"),
    (["replicas_min=12"], "replicas_max", 24),
    (["memory_request=768Mi", "memory_limit=2Gi"], "memory_limit", "2Gi"),
])
def test_defaults_follow_earlier_answers(template_repo, tmp_path, data, field, expected):
    dest = tmp_path / "svc"
    args = ["new", str(dest), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0", "--defaults",
            "--skip-tasks", "-q", *[x for d in data for x in ("-d", d)]]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    recorded = yamlio.load_file(dest / ".copier-answers.yml")
    assert recorded["advanced"] is True and recorded[field] == expected
    m = Package.load(dest).model
    assert {"memory_limit": m.resources.memory_limit, "replicas_max": m.production.replicas_max}[field] == expected


def test_comma_list_on_the_command_line(template_repo, tmp_path):
    dest = tmp_path / "svc"
    proc = subprocess.run([COPIER, "copy", "--trust", "--skip-tasks", "--defaults", "--vcs-ref", "v1.0.0",
                           "-d", "environments=qa, live", str(template_repo), str(dest)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert yamlio.load_file(dest / ".copier-answers.yml")["environments"] == ["qa", "live"]
    assert sorted(p.name for p in (dest / "k8s/overlays").iterdir()) == ["live", "qa"]


def test_an_advanced_answer_is_never_dropped(template_repo, tmp_path):
    """advanced=no hides the advanced questions (their defaults are taken and not recorded),
    but an advanced answer given anyway is asked, used and recorded."""
    plain, given = tmp_path / "plain", tmp_path / "given"
    for dest, extra in ((plain, []), (given, ["-d", "advanced=false", "-d", "replicas_max=20"])):
        proc = subprocess.run([COPIER, "copy", "--trust", "--skip-tasks", "--defaults", "--vcs-ref", "v1.0.0", *extra,
                               str(template_repo), str(dest)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
    recorded = yamlio.load_file(plain / ".copier-answers.yml")
    assert recorded["advanced"] is False and "replicas_max" not in recorded and "memory_limit" not in recorded
    assert Package.load(plain).model.production.replicas_max == 10
    recorded = yamlio.load_file(given / ".copier-answers.yml")
    assert recorded["replicas_max"] == 20 and Package.load(given).model.production.replicas_max == 20
    assert yamlio.load_file(given / "k8s/base/hpa.yaml")["spec"]["maxReplicas"] == 20
    assert yamlio.load_file(plain / "k8s/base/hpa.yaml")["spec"]["maxReplicas"] == 10
