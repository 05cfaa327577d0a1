"""Rules, promtool tests and runbooks, judged by the real checkers (promtool) on rendered packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate import load_checkers, run_one

CHECKERS = ("prometheus-rules", "prometheus-tests", "alert-runbooks", "alert-test-coverage")
EXTRA_SLOS = [
    {"name": "checkout", "objective": 99.5, "error_query": 'sum by (namespace) (rate(http_requests_total{job="payments-api",route="/checkout",code=~"5.."}[{{window}}]))',
     "total_query": 'sum by (namespace) (rate(http_requests_total{job="payments-api",route="/checkout"}[{{window}}]))'},
    {"name": "search", "objective": 95, "latency_ms": 1200},
]
VARIANTS = {
    "defaults": {},
    "28d-99.95": {"slo_window_days": 28, "slo_availability": 99.95, "slo_latency_target": 99.5, "slo_latency_ms": 250},
    "90-rolling": {"slo_availability": 90, "slo_latency_target": 90, "delivery": "rolling"},
    "worker": {"blueprint": "worker"},
    "cronjob": {"blueprint": "cronjob", "slo_window_days": 28},
    "extra-slos": {"slos": EXTRA_SLOS},
}


def check(pkg: Path, *names: str) -> dict[str, list]:
    require_tool("promtool")
    package = Package.load(pkg)
    factories = load_checkers()
    results = {n: run_one(factories[n], package) for n in names or CHECKERS}
    return {n: [(f.file, f.message) for f in r.findings] for n, r in results.items() if r.status != "pass"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rules_tests_and_runbooks_pass(render, variant):
    pkg = render(skip_tasks=True, **VARIANTS[variant])
    assert check(pkg) == {}
    alerts = [r["alert"] for path in (pkg / "observability/prometheus").glob("*.rules.yaml")
              for g in yamlio.load_file(path)["groups"] for r in g["rules"] if "alert" in r]
    assert sorted(p.stem for p in (pkg / "runbooks").glob("*.md")) == sorted(alerts)
    kinds = {d["kind"] for p in (pkg / "k8s/base").glob("*.yaml") for d in yamlio.load_all(p.read_text())}
    assert "PrometheusRule" in kinds
    monitor = {"worker": "PodMonitor", "cronjob": None}.get(variant, "ServiceMonitor")
    assert (monitor in kinds) if monitor else not kinds & {"ServiceMonitor", "PodMonitor"}


def test_extra_slos_get_the_full_set(render):
    pkg = render(skip_tasks=True, slos=EXTRA_SLOS)
    for prefix in ("Checkout", "Search"):
        for suffix in ("ErrorBudgetBurnPage", "ErrorBudgetBurnTicket", "ErrorBudgetExhausted"):
            assert (pkg / "runbooks" / f"{prefix}{suffix}.md").is_file()
    spec = yamlio.load_file(pkg / "observability/slo.yaml")
    assert spec["version"] == "prometheus/v1"
    assert [s["name"] for s in spec["slos"]] == ["availability", "latency", "checkout", "search"]


def test_page_alert_expression_and_labels(render):
    rules = yamlio.load_file(render(skip_tasks=True) / "observability/prometheus/payments-api.rules.yaml")
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "AvailabilityErrorBudgetBurnPage")
    assert "> 0.0144" in rule["expr"] and "> 0.006" in rule["expr"] and "[1h]) * 60 >= 5" in rule["expr"]
    assert "for" not in rule  # a full outage pages as soon as both windows agree
    assert rule["labels"] == {"severity": "critical", "tier": "page", "team": "platform",
                              "service": "payments-api", "slo": "availability"}
    assert rule["annotations"]["runbook_url"].endswith("/runbooks/AvailabilityErrorBudgetBurnPage.md")


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def test_changed_threshold_fails_the_promtool_tests(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    # a page threshold above the test's error ratio: the firing case no longer fires
    _edit(pkg / "observability/prometheus/payments-api.rules.yaml", "> 0.006\n", "> 0.9\n", 2)
    _edit(pkg / "observability/prometheus/payments-api.rules.yaml", "> 0.0144\n", "> 0.9\n", 2)
    failed = check(pkg, "prometheus-tests")
    assert "AvailabilityErrorBudgetBurnPage" in str(failed["prometheus-tests"])


def test_removed_low_traffic_guard_fails_the_low_traffic_case(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    rules = pkg / "observability/prometheus/payments-api.rules.yaml"
    _edit(rules, "* 60 >= 5\n", "* 60 >= 0\n", 100)
    assert "prometheus-tests" in check(pkg, "prometheus-tests")


def test_missing_runbook_or_section_fails(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    (pkg / "runbooks/TargetDown.md").unlink()
    _edit(pkg / "runbooks/HighLatency.md", "## Escalation", "## Next steps")
    findings = str(check(pkg, "alert-runbooks"))
    assert "runbooks/TargetDown.md does not exist" in findings
    assert "missing or empty section '## Escalation'" in findings


def test_missing_silent_case_fails_coverage(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    path = pkg / "observability/prometheus/payments-api.test.yaml"
    doc = yamlio.load_file(path)
    for test in doc["tests"]:
        test["alert_rule_test"] = [c for c in test["alert_rule_test"]
                                   if not (c["alertname"] == "HpaMaxedOut" and not c["exp_alerts"])]
    path.write_text(yamlio.dump(doc))
    assert check(pkg, "alert-test-coverage") == {"alert-test-coverage": [
        ("observability/prometheus/payments-api.rules.yaml", "HpaMaxedOut: no promtool test case where it stays silent")]}


def test_broken_prometheusrule_fails_check_rules(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    _edit(pkg / "k8s/base/prometheusrule.yaml", "for: 15m", "for: 15 minutes")
    findings = check(pkg, "prometheus-rules")["prometheus-rules"]
    assert any(f == "k8s/base/prometheusrule.yaml" and "promtool check rules" in m for f, m in findings)


def test_float_artifact_is_reported(render, tmp_path):
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    _edit(pkg / "observability/prometheus/payments-api.rules.yaml", "> 0.0144\n", "> 0.014400000000000001\n")
    findings = str(check(pkg, "prometheus-rules"))
    assert "float artifact '0.014400000000000001'" in findings


def test_zero_errors_records_a_zero_sli_not_an_absent_one(render, tmp_path):
    """No 5xx series exists yet: promtool shows every availability window records 0."""
    require_tool("promtool")
    from scaffold import tools

    pkg = render(skip_tasks=True)
    rules = pkg / "observability/prometheus/payments-api.rules.yaml"
    ok = 'http_requests_total{job="payments-api",namespace="payments-api-prod",code="200"}'
    windows = ("5m", "30m", "1h")
    case = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": ok, "values": "0+600x70"}],
            "promql_expr_test": [{
                "expr": f'slo:sli_error:ratio_rate{w}{{slo="availability"}}',
                "eval_time": "65m",
                "exp_samples": [{"labels": f'slo:sli_error:ratio_rate{w}{{namespace="payments-api-prod",'
                                           f'service="payments-api",slo="availability"}}', "value": 0}],
            } for w in windows],
        }],
    }
    test_file = tmp_path / "zero.test.yaml"
    test_file.write_text(yamlio.dump(case))
    res = tools.run("promtool", "test", "rules", str(test_file))
    assert res.returncode == 0, res.output
