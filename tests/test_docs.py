"""Generated docs: every figure is recomputed here independently (Fractions, not
scaffold's Decimal code) and compared with the rendered markdown tables."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from scaffold.artifacts import resilience
from scaffold.model.service import ServiceModel
from scaffold import yamlio

DOCS = ("slo.md", "incident-response.md", "postmortem-template.md", "disaster-recovery.md", "capacity.md")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # plain decimal: no float artifacts, no exponent


def table(md: str, header_start: str) -> list[list[str]]:
    """Rows of the markdown table whose header row starts with ``header_start``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("`*") for c in line.strip("|").split("|")])
    return rows


def fmt(x: Fraction) -> str:
    """A terminating fraction as the shortest plain decimal."""
    for places in range(0, 12):
        scaled = x * 10 ** places
        if scaled.denominator == 1:
            s = str(scaled.numerator).rjust(places + 1, "0")
            return (s[:-places] + "." + s[-places:]) if places else s
    raise AssertionError(f"{x} does not terminate")


def budget_minutes(objective: str, days: int) -> Fraction:
    return (100 - Fraction(objective)) / 100 * days * 24 * 60


@pytest.mark.parametrize("answers, objective, days, expected", [
    ({}, "99.9", 30, "43.2"),
    ({"slo_availability": 99.5, "slo_window_days": 28}, "99.5", 28, "201.6"),
    ({"slo_availability": 99.95, "slo_window_days": 28}, "99.95", 28, "20.16"),
])
def test_error_budget_minutes(render, answers, objective, days, expected):
    assert fmt(budget_minutes(objective, days)) == expected  # the test's own arithmetic
    md = (render(skip_tasks=True, **answers) / "docs/slo.md").read_text()
    rows = {r[0]: r for r in table(md, "| SLO | objective | per")}
    assert rows["availability"][1] == f"{fmt(Fraction(objective))}%"
    assert rows["availability"][2].split(" min")[0] == expected
    assert rows["availability"][3] == f"{fmt(budget_minutes(objective, 7))} min"
    assert rows["availability"][4] == f"{fmt(budget_minutes(objective, 1))} min"
    latency = rows["latency"]
    assert latency[2].split(" min")[0] == fmt(budget_minutes("99", days))


@pytest.mark.parametrize("answers, days, factors", [
    ({}, 30, ["14.4", "6", "3", "1"]),
    ({"slo_availability": 99.5, "slo_window_days": 28}, 28, ["13.44", "5.6", "2.8", "0.93"]),
])
def test_burn_rate_table(render, answers, days, factors):
    md = (render(skip_tasks=True, **answers) / "docs/slo.md").read_text()
    rows = [r for r in table(md, "| SLO | tier |") if r[0] == "availability"]
    assert [r[5] for r in rows] == factors
    assert [r[1] for r in rows] == ["page", "page", "ticket", "ticket"]
    assert [r[3] for r in rows] == ["1h / 5m", "6h / 30m", "1d / 2h", "3d / 6h"]
    objective = Fraction(str(answers.get("slo_availability", "99.9")))
    for r in rows:
        assert NUMBER.match(r[6]), r[6]
        assert Fraction(r[6]) == Fraction(r[5]) * (1 - objective / 100)
        hours = Fraction(days * 24) / Fraction(r[5])
        assert abs(Fraction(r[7].removesuffix(" h")) - hours) <= Fraction(1, 20)  # rounded to 0.1 h
    if days == 28:
        assert "13.44, 5.6, 2.8, 0.9333" in md and "rounded down" in md


def test_docs_are_complete_and_have_no_template_leftovers(render):
    pkg = render(skip_tasks=True)
    for name in DOCS:
        text = (pkg / "docs" / name).read_text()
        assert "{{" not in text and "{%" not in text and "None" not in text, name
    slo_md = (pkg / "docs/slo.md").read_text()
    assert "## Error-budget policy" in slo_md and "feature freeze" in slo_md
    ir = (pkg / "docs/incident-response.md").read_text()
    levels = [r[0] for r in table(ir, "| level |")]
    assert levels == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert "platform-pager" in ir  # the escalation names the receiver the Alertmanager config defines
    am = yamlio.load_file(pkg / "observability/alertmanager/alertmanager.yaml")
    assert "platform-pager" in {r["name"] for r in am["receivers"]}
    assert "Blameless" in (pkg / "docs/postmortem-template.md").read_text()


def test_disaster_recovery_per_environment(render):
    pkg = render(skip_tasks=True, environments=["dev", "qa", "staging", "prod"])
    m = ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))
    rows = table((pkg / "docs/disaster-recovery.md").read_text(), "| environment |")
    assert [r[0] for r in rows] == ["dev", "qa", "staging", "prod"]
    policies = {p.environment: p for p in resilience.policies(m)}
    for r in rows:
        p = policies[r[0]]
        assert r[4] == f"{p.rpo_hours} h" and r[6].startswith(f"{p.retention_days} days")
        assert r[7] == str(p.retention_days * 24 // p.tier.interval_hours)
        assert f"{p.retention_days * 24}h0m0s" in r[6]
    prod, staging, dev = policies["prod"], policies["staging"], policies["dev"]
    assert [staging.tier.name, policies["qa"].tier.name] == ["pre-production", "lab"]
    # production is strictest on every axis
    assert prod.rpo_hours < staging.rpo_hours <= dev.rpo_hours
    assert prod.rto_minutes < staging.rto_minutes < dev.rto_minutes
    assert prod.retention_days > staging.retention_days > dev.retention_days


@pytest.mark.parametrize("answers, per_core", [
    ({"cpu_request": "250m", "replicas_min": 3, "replicas_max": 20}, 200),
    ({"blueprint": "worker", "cpu_request": "500m", "replicas_max": 8}, 20),
])
def test_capacity_load_at_max_replicas(render, answers, per_core):
    from scaffold.artifacts import k8s

    pkg = render(skip_tasks=True, **answers)
    md = (pkg / "docs/capacity.md").read_text()
    cores = Fraction(int(answers["cpu_request"].rstrip("m")), 1000)
    per_pod = cores * per_core * Fraction(k8s.HPA_CPU_UTILIZATION, 100)
    assert f"one pod carries {fmt(per_pod)} " in md
    m = ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))
    rows = {r[0]: r for r in table(md, "| environment | HPA min |")}
    for env in m.environments:
        r = rows[env.name]
        assert (int(r[1]), int(r[2])) == (env.replicas_min, env.replicas_max)
        assert Fraction(r[6]) == per_pod * env.replicas_max  # the load at which the HPA is pinned
        assert Fraction(r[5]) == per_pod * env.replicas_min
        assert Fraction(r[7]) == cores * env.replicas_max


def test_cronjob_docs(render):
    pkg = render(skip_tasks=True, blueprint="cronjob")
    slo_md = (pkg / "docs/slo.md").read_text()
    assert [r[0] for r in table(slo_md, "| SLO | objective | per")] == ["job-success"]
    assert "does not scale horizontally" in (pkg / "docs/capacity.md").read_text()
