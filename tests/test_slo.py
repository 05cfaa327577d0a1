"""SLO math: decimal-exact factors, thresholds and budgets; SLO queries per blueprint."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from scaffold.artifacts import prometheus as rules
from scaffold.model import slo
from scaffold import yamlio
from scaffold.model.service import ServiceModel


def model(**answers):
    return ServiceModel.from_answers({"service_name": "payments-api", **answers})


@pytest.mark.fast
@pytest.mark.parametrize("days, factors", [
    (30, ["14.4", "6", "3", "1"]),
    (28, ["13.44", "5.6", "2.8", "0.93"]),  # 0.9333.. rounded down: never less sensitive
])
def test_burn_factors_scale_to_the_window(days, factors):
    tiers = slo.burn_rate_windows(days)
    assert [slo.dec(t.factor) for t in tiers] == factors
    assert [(t.tier, t.short, t.long) for t in tiers] == [
        ("page", "5m", "1h"), ("page", "30m", "6h"), ("ticket", "2h", "1d"), ("ticket", "6h", "3d")]
    assert [t.severity for t in tiers] == ["critical", "critical", "warning", "warning"]


@pytest.mark.fast
@pytest.mark.parametrize("objective, days, expected", [
    ("99.9", 30, ["0.0144", "0.006", "0.003", "0.001"]),
    ("99.95", 30, ["0.0072", "0.003", "0.0015", "0.0005"]),
    ("99.5", 30, ["0.072", "0.03", "0.015", "0.005"]),
    ("95", 30, ["0.72", "0.3", "0.15", "0.05"]),
    ("99.9", 28, ["0.01344", "0.0056", "0.0028", "0.00093"]),
    ("99.95", 28, ["0.00672", "0.0028", "0.0014", "0.000465"]),
    ("99.99", 28, ["0.001344", "0.00056", "0.00028", "0.000093"]),
])
def test_thresholds_are_decimal_exact(objective, days, expected):
    got = [slo.dec(slo.threshold(t.factor, objective)) for t in slo.burn_rate_windows(days)]
    assert got == expected
    # a float path gives the artifacts this guards against
    assert repr(14.4 * (1 - 0.999)) != "0.0144"


@pytest.mark.fast
def test_float_inputs_are_taken_as_printed():
    assert slo.dec(slo.threshold(14.4, 99.9)) == "0.0144"


@pytest.mark.fast
@pytest.mark.parametrize("objective, days, minutes", [
    ("99.9", 30, "43.2"), ("99.9", 28, "40.32"), ("99.95", 30, "21.6"), ("99.5", 30, "216"), ("95", 28, "2016"),
])
def test_error_budget_minutes(objective, days, minutes):
    assert slo.dec(slo.error_budget_minutes(objective, days)) == minutes


@pytest.mark.fast
def test_dec_never_prints_exponents():
    assert slo.dec(Decimal("0.00000093")) == "0.00000093"
    assert slo.dec(Decimal("6.000")) == "6"
    assert slo.dec(Decimal("1E+1")) == "10"


@pytest.mark.fast
def test_service_slos_select_the_service_metrics():
    availability, latency = slo.slos_for(model())
    assert availability.objective == Decimal("99.9") and availability.target == Decimal("0.999")
    assert 'http_requests_total{job="payments-api",code=~"5.."}[5m]' in availability.errors("5m")
    assert 'http_request_duration_seconds_bucket{job="payments-api",le=~"0\\\\.3"}[1h]' in latency.errors("1h")
    assert latency.total("1h") == 'sum by (namespace) (rate(http_request_duration_seconds_count{job="payments-api"}[1h]))'
    assert latency.objective == Decimal("99")


@pytest.mark.fast
def test_worker_and_cronjob_slos():
    names = [(s.name, s.kind) for s in slo.slos_for(model(blueprint="worker"))]
    assert names == [("availability", "availability"), ("latency", "latency")]
    assert 'worker_jobs_total{job="payments-api",outcome="error"}' in slo.slos_for(model(blueprint="worker"))[0].errors("5m")
    (job,) = slo.slos_for(model(blueprint="cronjob"))
    assert job.name == "job-success" and not job.rate_based
    assert 'kube_job_failed{namespace=~"payments-api-(dev|staging|prod)",job_name=~"payments-api-[0-9]+",condition="true"}' in job.errors("5m")


@pytest.mark.fast
def test_extra_slos_follow_the_answer():
    m = model(slos=[
        {"name": "checkout", "objective": 99.5, "error_query": 'sum(rate(x_total{code="500"}[{{window}}]))',
         "total_query": "sum(rate(x_total[{{window}}]))"},
        {"name": "search-api", "objective": 97.25, "latency_ms": 1200},
    ])
    checkout, search = slo.slos_for(m)[2:]
    assert checkout.error_ratio("1h") == ('((sum(rate(x_total{code="500"}[1h]))) or 0 * (sum(rate(x_total[1h]))))'
                                         ' / (sum(rate(x_total[1h])))')
    assert search.prefix == "SearchApi" and 'le=~"1\\\\.2"' in search.errors("5m")
    assert slo.dec(search.budget) == "0.0275"


def _numbers(text: str) -> list[str]:
    return re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text)


@pytest.mark.fast
@pytest.mark.parametrize("answers", [
    {}, {"slo_window_days": 28, "slo_availability": 99.95, "slo_latency_target": 99.5},
    {"slo_availability": 99.99, "slo_latency_target": 95.5, "slo_window_days": 28},
    {"blueprint": "cronjob", "slo_availability": 99.7},
])
def test_no_float_artifacts_in_rules(answers):
    m = model(**answers)
    text = yamlio.dump(rules.rule_file(m))
    numbers = _numbers(text)
    assert numbers
    for n in numbers:  # every literal is the shortest exact decimal: no 0.014400000000000001
        assert len(n.replace(".", "").strip("0")) <= 6, n
        assert slo.dec(Decimal(n)) == n, n
    wanted = {slo.dec(slo.threshold(t.factor, s.objective)) for s in slo.slos_for(m)
              for t in slo.burn_rate_windows(m.slo_window_days)}
    assert wanted <= set(numbers) | {w for w in wanted if "." not in w}
