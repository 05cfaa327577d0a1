"""The batched and in-process checkers find what the tools' own CLIs find (issue #21).

`scaffold validate` runs kubernetes-validate as a library, every CRD object through one
node process, promtool's tests split across cores, actionlint once over all workflows,
and the checkers in a thread pool. On one broken package (a mutation per batched tool),
each checker's findings are compared with the tool's command line run the way a user
would: per file, as its docs show. So a speed-up cannot hide a finding.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold.validate import crd_schemas
from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate import kubernetes, prometheus, run_all, workflows

pytestmark = pytest.mark.slow
TESTS = "observability/prometheus"


@pytest.fixture(scope="module")
def broken(default_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = mutable_copy(default_package, tmp_path_factory.mktemp("batched"), default_package.name)
    # kubernetes-validate: an unknown field in a built-in kind
    dep = root / "k8s/base/deployment.yaml"
    dep.write_text(dep.read_text().replace("\nspec:\n", "\nspec:\n  bogusField: 1\n", 1))
    # CRD validators (node, ajv): an unknown field in a ServiceMonitor endpoint
    sm = root / "k8s/base/servicemonitor.yaml"
    doc = yamlio.load_file(sm)
    doc["spec"]["endpoints"][0]["bogusKey"] = "x"
    doc["spec"]["jobLabel"] = 7  # a wrong type too
    sm.write_text(yamlio.dump(doc))
    # promtool test rules: two tests expect a label the rules never set, first and last
    # (this file is not the package's full suite any more: only the promtool test reads it)
    test_file = next((root / TESTS).glob("*.test.yaml"))
    tdoc = yamlio.load_file(test_file)
    tdoc["tests"] = tdoc["tests"][:3] + tdoc["tests"][-3:]  # six tests are enough to split (and quick)
    mutated = 0
    for test in (tdoc["tests"][0], tdoc["tests"][-1]) if len(tdoc["tests"]) > 1 else ():
        for case in test.get("alert_rule_test") or []:
            if case.get("exp_alerts"):
                case["exp_alerts"][0]["exp_labels"]["team"] = "nobody"
                mutated += 1
                break
    if mutated < 2:  # the last test may only stay silent: expect an alert in it instead
        case = next(c for c in tdoc["tests"][-1].get("alert_rule_test") or [])
        case["exp_alerts"] = [{"exp_labels": {"team": "nobody"}}]
    test_file.write_text(yamlio.dump_plain(tdoc))
    # actionlint: a bad expression and an unknown runner key in one workflow
    ci = root / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace("runs-on:", "timeout-minutes: soon\n    runs-on:", 1))
    return root


def _results(root: Path, *names: str) -> dict:
    return {r.checker: r for r in run_all(root, only=names)}


def test_kubernetes_library_finds_what_the_cli_finds(broken: Path):
    exe = str(Path(sys.executable).parent / "kubernetes-validate")
    pkg = Package.load(broken)
    manifests = [p for p in sorted((broken / "k8s/base").glob("*.yaml")) if p.name != "kustomization.yaml"]
    cli: set[tuple[str, str]] = set()
    for version in kubernetes.versions_for(pkg):
        proc = subprocess.run([exe, "--strict", "--quiet", "-k", version, *map(str, manifests)],
                              capture_output=True, text=True)
        for line in (proc.stdout + proc.stderr).splitlines():
            if m := re.match(r"ERROR (\S+) did not validate .*?: (.*)$", line):
                cli.add((str(Path(m.group(1)).relative_to(broken)), m.group(2)))
    assert cli, "the mutation must break the manifest for the CLI"
    res = _results(broken, "kubernetes")["kubernetes"]
    ours = {(f.file, f.message.split("(strict): ", 1)[-1]) for f in res.findings if "(strict)" in f.message}
    assert ours == cli


def test_one_node_process_finds_what_one_run_per_object_finds(broken: Path):
    node = require_tool("node")
    res = _results(broken, "crds")["crds"]
    sm = next(d for d in yamlio.load_all((broken / "k8s/base/servicemonitor.yaml").read_text())
              if d.get("kind") == "ServiceMonitor")
    src = crd_schemas.source_for(sm["apiVersion"], sm["kind"])
    proc = subprocess.run([node, str(crd_schemas.NODE_SCRIPT)], input=json.dumps([{"schema": src.ref, "object": sm}]),
                          capture_output=True, text=True, cwd=crd_schemas.TOOLS_DIR, check=True)
    cli = {f"ServiceMonitor {sm['metadata']['name']}: {e['path'] or '/'}: {e['message']}"
           for e in json.loads(proc.stdout)[0]}
    assert len(cli) >= 2, cli
    ours = {re.sub(r" \(also in .*\)$", "", f.message) for f in res.findings if f.message.startswith("ServiceMonitor")}
    assert ours == cli


def _failures(output: str) -> set[str]:
    return set(re.findall(r"alertname: \S+, time: \S+", output))


def test_promtool_tests_split_across_cores_fail_as_one_run(broken: Path):
    require_tool("promtool")
    pkg = Package.load(broken)
    paths = pkg.files(prometheus.TESTS_GLOB)
    cli = set()
    for path in paths:
        proc = subprocess.run(["promtool", "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True)
        assert proc.returncode != 0
        cli |= _failures(proc.stdout + proc.stderr)
    assert len(cli) >= 2, cli
    for parts in (2,):
        findings = prometheus.promtool_tests(pkg, paths, parts)
        assert {f.file for f in findings} == {pkg.rel(p) for p in paths}
        assert set().union(*(_failures(f.message) for f in findings)) == cli
        assert not any("-pkg.test.yaml" in f.message or "promtool-" in f.message for f in findings)


def _all_failures(output: str) -> set[str]:
    """Failed alert cases and failed expression cases (promtool prints the expression)."""
    return _failures(output) | set(re.findall(r"expr: \".*?\", time: \S+", output))


def test_promtool_tests_with_rules_cut_to_each_test_fail_as_the_whole_files(default_package: Path, tmp_path: Path):
    """Each test is evaluated with only the rules it can observe (promtool_scope): on rules
    broken three ways, plus queries of a record and of ALERTS, the scoped runs fail exactly
    the cases the CLI fails over the whole files, for one part and for two."""
    promtool = require_tool("promtool")
    root = mutable_copy(default_package, tmp_path, default_package.name)
    rules_file = next((root / TESTS).glob("*.rules.yaml"))
    text = rules_file.read_text()
    text = text.replace("> 0.25", "> 0.99", 1)  # CpuThrottlingHigh never fires now
    page = text.index("- alert: AvailabilityErrorBudgetBurnPage")
    text = text[:page] + text[page:].replace("> 0.0", "> 0.9", 4)  # both page tiers need a ~90 % error ratio
    latency = text.index("record: slo:sli_error:rate5m", text.index('slo: latency'))  # a broken record:
    text = text[:latency] + text[latency:].replace("expr: ", "expr: 0 * ", 1)  # every latency tier's guard reads it
    rules_file.write_text(text)
    test_file = next((root / TESTS).glob(f"{root.name}.test.yaml"))
    tdoc = yamlio.load_file(test_file)
    ns = f"{root.name}-prod"
    series = [{"series": f'http_requests_total{{job="{root.name}",namespace="{ns}",code="500"}}', "values": "0+60x20"}]
    tdoc["tests"] += [
        {"interval": "1m", "input_series": series, "promql_expr_test": [
            {"expr": "slo:sli_error:rate5m", "eval_time": "10m", "exp_samples": [{"labels": "x", "value": 42}]}]},
        {"interval": "1m", "input_series": series, "promql_expr_test": [
            {"expr": 'ALERTS{alertstate="firing"}', "eval_time": "10m", "exp_samples": [{"labels": "x", "value": 1}]}]},
    ]
    test_file.write_text(yamlio.dump_plain(tdoc))
    pkg = Package.load(root)
    paths = pkg.files(prometheus.TESTS_GLOB)
    cli = set()
    for path in paths:
        proc = subprocess.run([promtool, "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True)
        cli |= _all_failures(proc.stdout + proc.stderr)
    assert any("CpuThrottlingHigh" in c for c in cli) and any("AvailabilityErrorBudgetBurnPage" in c for c in cli)
    assert any("slo:sli_error:rate5m" in c for c in cli) and any("ALERTS" in c for c in cli)
    assert any("LatencyErrorBudgetBurnTicket" in c for c in cli), "the broken record must fail the latency tiers"
    plan = prometheus._plan(paths[0], 2)
    assert plan and any(docs is not None for run in plan for _, docs in run), "the tests must run cut"
    for parts in (1, 2):
        findings = prometheus.promtool_tests(pkg, paths, parts)
        assert set().union(*(_all_failures(f.message) for f in findings)) == cli
        assert not any("promtool-" in f.message or "-rules-" in f.message for f in findings)


def test_actionlint_once_over_all_workflows_finds_what_per_file_runs_find(broken: Path):
    exe, shellcheck = require_tool("actionlint"), require_tool("shellcheck")
    pkg = Package.load(broken)
    cli = set()
    for wf in workflows.workflow_files(pkg):
        proc = subprocess.run([exe, "-no-color", "-oneline", "-shellcheck", shellcheck, pkg.rel(wf)], cwd=broken,
                              capture_output=True, text=True)
        cli |= {line for line in proc.stdout.splitlines() if line.strip()}
    assert cli, "the mutation must break ci.yml for actionlint"
    res = _results(broken, "workflows-actionlint")["workflows-actionlint"]
    assert {f.message for f in res.findings} == cli


def test_the_thread_pool_reports_what_one_checker_at_a_time_reports(broken: Path, monkeypatch):
    names = ("kubernetes", "kustomize", "crds", "workflows-actionlint", "alertmanager-routes")  # promtool: above
    monkeypatch.setenv("SCAFFOLD_VALIDATE_JOBS", "1")
    serial = run_all(broken, only=names)
    monkeypatch.setenv("SCAFFOLD_VALIDATE_JOBS", "3")
    order: list[str] = []
    pooled = run_all(broken, only=names, progress=lambda r: order.append(r.checker))
    assert order == [r.checker for r in serial] == sorted(names)
    assert [(r.checker, r.status, r.findings) for r in pooled] == [(r.checker, r.status, r.findings) for r in serial]
    assert {r.checker for r in pooled if r.status == "fail"} >= {"kubernetes", "crds", "workflows-actionlint"}
