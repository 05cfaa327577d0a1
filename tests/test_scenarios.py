"""The detection scenario suite (scaffold/scenarios.py): promtool asserts the timelines docs/slo.md prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import require_tool
from scaffold.artifacts import prometheus as rules, scenarios
from scaffold.model import slo
from scaffold.model.service import ServiceModel
from scaffold.model.package import Package
from scaffold.validate import load_checkers, run_one

EXTRA = [{"name": "checkout", "objective": 99.5,
          "error_query": 'sum by (namespace) (rate(http_requests_total{job="payments-api",route="/checkout",code=~"5.."}[{{window}}]))',
          "total_query": 'sum by (namespace) (rate(http_requests_total{job="payments-api",route="/checkout"}[{{window}}]))'},
         {"name": "search", "objective": 97.25, "latency_ms": 1000}]


def write(m: ServiceModel, root: Path) -> list[Path]:
    (root / "scenarios").mkdir(parents=True)
    for f in rules.rule_file_names(m):
        (root / f).write_text(rules.rule_file_text(m, f))
    out = []
    for f in scenarios.file_names(m, extra=True):
        path = root / "scenarios" / f
        path.write_text(scenarios.test_file_text(m, f))
        out.append(path)
    return out


def promtool_test(path: Path) -> subprocess.CompletedProcess:
    exe = require_tool("promtool")
    return subprocess.run([exe, "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True)


@pytest.mark.slow
def test_the_rendered_suite_passes_and_the_docs_print_its_figures(render):
    require_tool("promtool")
    pkg = render(skip_tasks=True)
    result = run_one(load_checkers()["prometheus-scenarios"], Package.load(pkg))
    assert result.status == "pass", [f.message[-2000:] for f in result.findings]
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    doc = (pkg / "docs/slo.md").read_text()
    for row in scenarios.rows(m):
        line = f"| `{row['slo']}` | {row['title']}"
        assert any(x.startswith(line) and f"| {row['page']} |" in x and f"| {row['ticket']} |" in x
                   for x in doc.splitlines()), line
    full = next(r for r in scenarios.rows(m) if r["slo"] == "availability" and r["scenario"] == "full-outage")
    assert (full["page"], full["page_budget"]) == ("1 min", "2.31%")  # no for: on pages


@pytest.mark.slow
@pytest.mark.parametrize("answers", [{"blueprint": "worker"}, {"slos": EXTRA, "slo_window_days": 28},
                                     {"blueprint": "cronjob", "environments": ["staging", "prod"]}])
def test_the_suite_passes_for_other_blueprints_and_extra_slos(tmp_path, answers):
    m = ServiceModel.from_answers({"service_name": "payments-api", **answers})
    for path in write(m, tmp_path):
        proc = promtool_test(path)
        assert proc.returncode == 0, (path.name, (proc.stdout + proc.stderr)[-3000:])


@pytest.mark.slow
def test_the_cronjob_package_has_the_job_success_suite_and_its_table(render):
    require_tool("promtool")
    pkg = render("nightly", skip_tasks=True, blueprint="cronjob")
    assert sorted(p.name for p in (pkg / "observability/prometheus/scenarios").iterdir()) == ["job-success.test.yaml"]
    result = run_one(load_checkers()["prometheus-scenarios"], Package.load(pkg))
    assert result.status == "pass", [f.message[-2000:] for f in result.findings]
    m = ServiceModel.from_answers({"service_name": "nightly", "blueprint": "cronjob"})
    doc = (pkg / "docs/slo.md").read_text().splitlines()
    rows = scenarios.rows(m)
    assert len(rows) == 6
    for row in rows:
        line = f"| `job-success` | {row['title']} | {row['page']} | {row['page_budget']} |"
        assert any(x.startswith(line) and f"| {row['ticket']} |" in x for x in doc), line


@pytest.mark.slow
def test_a_changed_rule_fails_the_suite(tmp_path):
    """The suite pins timelines: a page threshold twice as high makes promtool fail."""
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    paths = write(m, tmp_path)
    rule_file = tmp_path / rules.rule_file_name(m)
    text = rule_file.read_text()
    assert text.count("> 0.0144\n") == 2
    rule_file.write_text(text.replace("> 0.0144\n", "> 0.0288\n"))
    proc = promtool_test(next(p for p in paths if p.name == "availability.test.yaml"))
    assert proc.returncode == 1 and "AvailabilityErrorBudgetBurnPage" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_changed_job_rule_fails_the_suite(tmp_path):
    """The job-success suite pins the 30m/6h page pair too: the page that clears at +31m."""
    m = ServiceModel.from_answers({"service_name": "nightly", "blueprint": "cronjob"})
    [path] = write(m, tmp_path)
    rule_file = tmp_path / rules.rule_file_name(m)
    text = rule_file.read_text()
    assert text.count("> 0.006\n") == 2
    rule_file.write_text(text.replace("> 0.006\n", "> 0.6\n"))
    proc = promtool_test(path)
    assert proc.returncode == 1 and "JobSuccessErrorBudgetBurnPage" in proc.stdout + proc.stderr


@pytest.mark.fast
def test_expected_timelines_follow_the_issue():
    """The acceptance scenarios of issue 13, as the evaluator predicts them (promtool checks them above)."""
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    rows = {(r["slo"], r["scenario"]): r for r in scenarios.rows(m)}
    assert rows["availability", "low-traffic-outage"]["page"] != "never"
    assert rows["availability", "one-error-low-traffic"]["page"] == "never"
    assert rows["availability", "counter-reset"]["page"] == rows["availability", "counter-reset"]["ticket"] == "never"
    assert rows["availability", "new-service"]["page"] == "never"
    assert rows["latency", "missing-bucket"]["absent"].startswith("LatencySLIAbsent")
    assert slo.MIN_BAD_EVENTS == 5


@pytest.mark.fast
def test_job_success_timelines():
    """The cronjob's scenarios as the evaluator predicts them (promtool checks them above)."""
    m = ServiceModel.from_answers({"service_name": "nightly", "blueprint": "cronjob"})
    runs = {sc.name: (sc, {tl.alert: tl for tl, _ in tls}) for sc, tls in scenarios._runs(m, "job-success")}
    assert set(runs) == {"failed-run", "repeated-failures", "one-failure-among-many", "succeeds-after-failures",
                         "idle", "new-cronjob"}
    page, ticket = "JobSuccessErrorBudgetBurnPage", "JobSuccessErrorBudgetBurnTicket"

    def after(name: str, alert: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        sc, tls = runs[name]
        return tuple(t - sc.onset for t in tls[alert].starts), tuple(t - sc.onset for t in tls[alert].stops)

    # a failed run pages on the next evaluation (no for:), tickets after for: 15m
    assert after("failed-run", page) == ((1,), (31,))  # clears once the run leaves the 30m window
    assert after("failed-run", ticket)[0] == (16,)
    assert after("repeated-failures", page) == ((1,), ())
    # the last of 3 failures ends at +31m, the next run succeeds at +46m: the page clears at +61m
    assert after("succeeds-after-failures", page) == ((1,), (61,))
    assert after("idle", page) == after("idle", ticket) == ((), ())
    assert after("new-cronjob", page)[0] == (1,)
    # no bad-events guard for runs: one failure among 12 runs an hour is over the 1h page threshold
    assert after("one-failure-among-many", page)[0] == (1,)
    row = next(r for r in scenarios.rows(m) if r["scenario"] == "repeated-failures")
    assert row["page_workbook"] and row["ticket_workbook"]
