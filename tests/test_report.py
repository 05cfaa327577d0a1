"""Issue 20: `scaffold validate` reports honestly, and its output fits pipes and CI.

- a required tool that is missing fails the run (in CI and out of it) unless its
  checker is skipped by name; skips are counted; unknown checker and format
  names are refused;
- piped, every finding is one unwrapped line ``path:line: checker: message``
  without ANSI codes; progress goes to stderr, one line per checker;
- SARIF passes Microsoft's sarif-multitool validator; JUnit parses with junitparser.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import mutable_copy, require_tool
from scaffold import tools
from scaffold.cli import app

ANSI = re.compile(r"\x1b\[")
LONG_FIELD = "x" * 300  # an unknown field whose name makes a > 300-character finding


@pytest.fixture()
def pkg(render, tmp_path) -> Path:
    copy = mutable_copy(render(skip_tasks=True, backlog=False), tmp_path)
    return copy


def broken(pkg: Path) -> Path:
    """A typo'd key (line 18 of the Deployment) and an unknown 300-character field in the Service."""
    deployment = pkg / "k8s/base/deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    assert text.splitlines()[17] == "  revisionHistoryLimit: 5"
    deployment.write_text(text.replace("\n  revisionHistoryLimit: 5\n", "\n  revisionHistoryLimt: 5\n"),
                          encoding="utf-8")
    service = pkg / "k8s/base/service.yaml"
    text = service.read_text(encoding="utf-8")
    service.write_text(text.replace("\nspec:\n", f"\nspec:\n  {LONG_FIELD}: 1\n", 1), encoding="utf-8")
    return pkg


def scaffold(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console script, with stdout and stderr piped (not a terminal)."""
    exe = Path(sys.executable).parent / "scaffold"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", **(env or {})})


def hide(monkeypatch, *names: str) -> None:
    real = tools.find
    monkeypatch.setattr(tools, "find", lambda tool: None if tool in names else real(tool))
    monkeypatch.delenv("CI", raising=False)


def test_missing_required_tool_fails_outside_ci(pkg, monkeypatch):
    hide(monkeypatch, "promtool", "amtool", "kubectl")
    checks = ["--only", "prometheus-rules", "--only", "alertmanager-config", "--only", "kustomize"]
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q", *checks])
    assert res.exit_code == 1, res.output
    assert "0 passed, 3 failed, 0 skipped" in res.stdout
    assert "-: prometheus-rules: promtool is not installed" in res.stdout
    assert "pass --skip kustomize" in res.stdout


def test_explicit_skip_is_counted_not_passed(pkg, monkeypatch):
    hide(monkeypatch, "promtool")
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q", "--only", "prometheus-rules", "--only",
                                   "kubernetes", "--skip", "prometheus-rules"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[-2:] == ["skipped: prometheus-rules: skipped with --skip",
                                            "1 passed, 0 failed, 1 skipped"]
    report = json.loads(CliRunner().invoke(app, ["validate", str(pkg), "-q", "--format", "json", "--only",
                                                 "kubernetes", "--only", "prometheus-rules", "--skip",
                                                 "prometheus-rules"]).stdout)
    assert report["ok"] and report["counts"] == {"pass": 1, "fail": 0, "skip": 1}


@pytest.mark.parametrize("args, said", [
    (["--only", "bogus"], "--only 'bogus': no such checker; known checkers: alert-runbooks"),
    (["--skip", "bogus"], "--skip 'bogus': no such checker"),
    (["--format", "bogus"], "--format 'bogus': unknown format; choose one of table, lines, json, sarif, junit"),
    (["--format", "yaml"], "--format 'yaml': unknown format"),
])
def test_unknown_names_are_refused(pkg, args, said):
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q", *args])
    assert res.exit_code == 2
    assert said in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.fast
def test_wrong_path_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert res.exit_code == 2 and res.stderr.strip().startswith(f"error: {tmp_path / 'nope'}: no such file or directory")
    res = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "is not a generated package" in res.stderr


@pytest.mark.fast
def test_list_shows_every_checker_and_its_tool(monkeypatch):
    from scaffold.validate import load_checkers

    hide(monkeypatch, "amtool")
    res = CliRunner().invoke(app, ["validate", "--list"])
    assert res.exit_code == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in res.stdout.splitlines()}
    assert set(rows) == set(load_checkers())
    assert rows["alertmanager-config"][1:3] == ["amtool", "MISSING (apt-get install prometheus-alertmanager)"]
    assert rows["checkov"][3].startswith("slow")


def test_piped_output_one_unwrapped_line_per_finding(pkg):
    require_tool("kubectl")
    res = scaffold("validate", str(broken(pkg)), "--only", "kubernetes", "--only", "kustomize")
    assert res.returncode == 1
    assert not ANSI.search(res.stdout) and not ANSI.search(res.stderr)
    lines = res.stdout.splitlines()
    assert lines[-1] == "0 passed, 2 failed, 0 skipped"
    findings = lines[:-1]
    assert findings and all(re.match(r"^[^\s:]+(:\d+)?: (kubernetes|kustomize): \S", f) for f in findings), findings
    long = [f for f in findings if LONG_FIELD in f]
    assert long and all(len(f) > 300 for f in long)
    # the base manifest's findings carry the line of the offending key
    assert any(f.startswith("k8s/base/deployment.yaml:18: kubernetes: ") and "revisionHistoryLimt" in f
               for f in findings), findings
    service_line = (pkg / "k8s/base/service.yaml").read_text().splitlines().index(f"  {LONG_FIELD}: 1") + 1
    assert any(f.startswith(f"k8s/base/service.yaml:{service_line}: kubernetes: ") and LONG_FIELD in f
               for f in findings), findings
    # one error reported by both Kubernetes versions is one line, and the overlay builds
    # it breaks are one more line naming them (8 rows before: 2 versions x base and 3 overlays)
    typo = [f for f in findings if "revisionHistoryLimt" in f]
    assert len(typo) == 2 and re.search(r"invalid for Kubernetes 1\.\d+ and 1\.\d+ \(strict\)", typo[0]), typo
    assert typo[1].startswith("k8s/overlays: kustomize: ") and typo[1].endswith("(in the dev, staging, prod builds)")
    # progress: one line per checker on stderr, with its time
    progress = res.stderr.splitlines()
    assert [p.split(".")[0] for p in progress] == ["kubernetes", "kustomize"]
    assert all(re.search(r"\.Failed \(\d+\.\ds\)$", p) for p in progress), progress


def test_yaml_error_names_its_line(pkg):
    require_tool("promtool")
    rules = sorted((pkg / "observability/prometheus").glob("*.rules.yaml"))[0]
    lines = rules.read_text(encoding="utf-8").splitlines()
    lines[4] += " :: ["
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = scaffold("validate", str(pkg), "--only", "prometheus-rules", "-q")
    rel = rules.relative_to(pkg)
    assert res.returncode == 1
    assert f"{rel}:5: prometheus-rules: promtool check rules: yaml: line 5:" in res.stdout, res.stdout


def test_sarif_passes_microsofts_validator(pkg, tmp_path):
    multitool = require_tool("sarif-multitool")
    require_tool("kubectl")
    require_tool("promtool")
    res = scaffold("validate", str(broken(pkg)), "-q", "--format", "sarif", "--only", "kubernetes",
                   "--only", "kustomize", "--only", "prometheus-rules", "--only", "workflows-hygiene",
                   "--skip", "workflows-hygiene")
    assert res.returncode == 1
    log = json.loads(res.stdout)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"kubernetes", "kustomize"}
    assert any(r["locations"][0]["physicalLocation"]["region"]["startLine"] == 18 for r in results
               if r["ruleId"] == "kubernetes")
    sarif = tmp_path / "validate.sarif"
    sarif.write_text(res.stdout, encoding="utf-8")

    def judge(path: Path) -> list[str]:
        proc = subprocess.run([multitool, "validate", str(path)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return [line for line in proc.stdout.splitlines() if re.search(r": (error|warning) SARIF\d+", line)]

    assert judge(sarif) == []
    # the validator does judge: a rule whose name repeats its id is reported
    log["runs"][0]["tool"]["driver"]["rules"][0]["name"] = log["runs"][0]["tool"]["driver"]["rules"][0]["id"]
    bad = tmp_path / "bad.sarif"
    bad.write_text(json.dumps(log, indent=2), encoding="utf-8")
    assert any("SARIF1001" in line for line in judge(bad))


def test_junit_parses(pkg):
    junitparser = pytest.importorskip("junitparser")
    require_tool("kubectl")
    res = scaffold("validate", str(broken(pkg)), "-q", "--format", "junit", "--only", "kubernetes",
                   "--only", "kustomize", "--only", "workflows-pins", "--only", "workflows-hygiene",
                   "--skip", "workflows-hygiene")
    assert res.returncode == 1
    xml = junitparser.JUnitXml.fromstring(res.stdout)
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = {case.name: case for suite in suites for case in suite}
    kinds = {name: [type(r).__name__ for r in case.result] for name, case in cases.items()}
    assert kinds == {"kubernetes": ["Failure"], "kustomize": ["Failure"], "workflows-pins": [],
                     "workflows-hygiene": ["Skipped"]}
    assert "k8s/base/deployment.yaml:18: " in cases["kubernetes"].result[0].text
    assert (suites[0].tests, suites[0].failures, suites[0].skipped) == (4, 2, 1)


def test_bad_answers_are_one_error_not_a_crash_per_checker(pkg):
    answers = pkg / ".copier-answers.yml"
    answers.write_text(answers.read_text(encoding="utf-8").replace("\nport: 8080\n", "\nport: 80\n"), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q"])
    assert res.exit_code == 2, res.output
    assert res.stderr == "error: port: must be a whole number from 1024 to 65535; got 80\n"


def test_a_crashing_checker_is_one_failed_row(pkg, monkeypatch):
    from scaffold.validate import kubernetes

    def boom(self, pkg):
        raise RuntimeError("kaput\nsecond line")
    monkeypatch.setattr(kubernetes.KubernetesBase, "run", boom)
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q", "--only", "kubernetes", "--only", "workflows-pins"])
    assert res.exit_code == 1
    assert res.stdout.splitlines() == ["-: kubernetes: checker crashed: RuntimeError: kaput second line",
                                       "1 passed, 1 failed, 0 skipped"]


def test_missing_tool_fails_for_real_with_a_path_that_lacks_it(pkg, tmp_path):
    """The same, as a user sees it: the real command, promtool and amtool not on PATH, CI unset."""
    from test_setup import path_without

    farm = path_without("promtool", tmp_path / "bin")
    (Path(farm) / "amtool").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    exe = Path(sys.executable).parent / "scaffold"
    res = subprocess.run([str(exe), "validate", str(pkg), "--only", "prometheus-rules", "--only",
                          "alertmanager-config", "--only", "workflows-pins"], capture_output=True, text=True,
                         timeout=300, env={**env, "PATH": farm})
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stdout.splitlines()[-1] == "1 passed, 2 failed, 0 skipped"
    assert "-: prometheus-rules: promtool is not installed (apt-get install prometheus); install it, or pass " \
           "--skip prometheus-rules to run without this check" in res.stdout.splitlines()
    res = subprocess.run([str(exe), "validate", str(pkg), "--only", "prometheus-rules", "--only",
                          "alertmanager-config", "--only", "workflows-pins", "--skip", "prometheus-rules",
                          "--skip", "alertmanager-config"], capture_output=True, text=True, timeout=300,
                         env={**env, "PATH": farm})
    assert res.returncode == 0 and res.stdout.splitlines()[-1] == "1 passed, 0 failed, 2 skipped"


def test_parse_errors_carry_their_line(pkg):
    from scaffold import yamlio
    from scaffold.validate import error_line

    with pytest.raises(Exception) as err:
        yamlio.load("a: 1\nb: [2\nc: 3\n")
    assert error_line(err.value) == 3  # ruamel's mark
    dashboard = sorted((pkg / "observability/grafana/dashboards").glob("*.json"))[0]
    lines = dashboard.read_text(encoding="utf-8").splitlines()
    lines[2] += " ,,"
    dashboard.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(pkg), "-q", "--only", "grafana-dashboards"])
    assert res.exit_code == 1
    assert res.stdout.startswith(f"{dashboard.relative_to(pkg)}:3: grafana-dashboards: invalid JSON: ")
