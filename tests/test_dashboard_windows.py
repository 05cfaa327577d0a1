"""Dashboards against the rules they visualise (issue #22, defect 6).

Each burn-rate alert's panel must plot exactly the recorded windows its rule compares, with
the rule's thresholds as lines; SLI, error and latency panels carry the SLO's numbers; every
alert panel links its catalog runbook_url; deploys are marked. Panel queries are parsed next
to the generated rule expressions, and evaluated by promtool against the generated
recording rules.
"""

from __future__ import annotations

import copy

import json
import re
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from tests.helpers import require_tool

from scaffold.artifacts import alerts, dashboards
from scaffold.model import slo
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from scaffold.validate import grafana

DASH = "observability/grafana/dashboards"
PROM = "observability/prometheus"
VARIANTS = [{}, {"slo_window_days": 28, "slo_availability": 99.5}]
# PromQL selector of a recorded SLI ratio: name, window, label matchers.
_RATIO = re.compile(r"slo:sli_error:ratio_rate(?P<w>\w+)\{(?P<labels>[^}]*)\}")
_RULE_PAIR = re.compile(_RATIO.pattern + r"\s*>\s*(?P<thr>[0-9.]+)")
_PANEL_BURN = re.compile(_RATIO.pattern + r"\s*/\s*(?P<div>[0-9.]+)")


def matchers(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', text))


def model(pkg: Path) -> ServiceModel:
    return ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))


def rules_by_alert(pkg: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((pkg / PROM).glob("*.rules.yaml")):
        for group in yamlio.load_file(path)["groups"]:
            out.update({r["alert"]: r for r in group["rules"] if "alert" in r})
    return out


def slo_panels(pkg: Path) -> dict[str, dict]:
    d = json.loads((pkg / DASH / "payments-api-slo.json").read_text())
    return {p["title"]: p for p in grafana.panels(d)}


def steps(panel: dict) -> list:
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


@pytest.fixture(scope="module", params=range(len(VARIANTS)), ids=["30d-99.9", "28d-99.5"])
def pkg(request, render) -> Path:
    return render(skip_tasks=True, **VARIANTS[request.param])


def test_each_burn_panel_plots_its_alerts_windows_and_thresholds(pkg):
    """Parse the generated rule and the generated panel: the same recorded series (windows and
    labels), and the threshold lines are the rule's ratio thresholds in burn-rate units."""
    m = model(pkg)
    rules, panels = rules_by_alert(pkg), slo_panels(pkg)
    burn_alerts = [a for a in alerts.alerts(m) if "ErrorBudgetBurn" in a.name]
    assert len(burn_alerts) == 2 * len(slo.slos_for(m))
    plotted = {}
    for alert in burn_alerts:
        s = next(s for s in slo.slos_for(m) if s.name == alert.slo)
        rule = rules[alert.name]
        pairs = [(h["w"], matchers(h["labels"]), Decimal(h["thr"])) for h in _RULE_PAIR.finditer(rule["expr"])]
        assert len(pairs) == 4, rule["expr"]  # two windows per pair, two pairs per tier
        panel = next(p for t, p in panels.items() if t.startswith(f"{alert.name}:"))
        queries = [_PANEL_BURN.fullmatch(t["expr"].strip()) for t in panel["targets"]]
        assert all(queries), [t["expr"] for t in panel["targets"]]
        assert sorted(q["w"] for q in queries) == sorted(w for w, _, _ in pairs)
        for q in queries:
            labels = matchers(q["labels"])
            assert labels.pop("namespace") == "$namespace"
            assert labels == {"service": m.name, "slo": s.name}
            assert next(lab for w, lab, _ in pairs if w == q["w"]) == labels
            assert Decimal(q["div"]) == s.budget
        lines = {Decimal(str(v)) for v in steps(panel)[1:]}
        assert {(v * s.budget).normalize() for v in lines} == {t.normalize() for _, _, t in pairs}
        plotted[alert.name] = sorted(q["w"] for q in queries)
    # the defect: Page and Ticket plotted the same 5m query
    assert plotted["AvailabilityErrorBudgetBurnPage"] == ["1h", "30m", "5m", "6h"]
    assert plotted["AvailabilityErrorBudgetBurnTicket"] == ["1d", "2h", "3d", "6h"]


def test_thresholds_come_from_the_slo(pkg):
    m = model(pkg)
    golden = {p["title"]: p for p in grafana.panels(json.loads((pkg / DASH / "payments-api-golden.json").read_text()))}
    avail = next(s for s in slo.slos_for(m) if s.name == "availability")
    budget = (Decimal(100) - Decimal(str(yamlio.load_file(pkg / ".copier-answers.yml").get("slo_availability", 99.9)))) / 100
    assert Decimal(str(steps(golden["Errors"])[1])) == budget == avail.budget
    assert Decimal(str(steps(golden["Latency quantiles"])[1])) == Decimal(300) / 1000
    for p in (golden["Errors"], golden["Latency quantiles"]):
        assert p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
    panels = slo_panels(pkg)
    for s in slo.slos_for(m):
        assert Decimal(str(steps(panels[f"{s.name}: SLI"])[1])) == s.objective / 100
        factors = {w.factor for w in slo.burn_rate_windows(m.slo_window_days)}
        assert {Decimal(str(v)) for v in steps(panels[f"{s.name}: burn rates"])[1:]} == factors
    assert Decimal(str(steps(panels["HighLatency: p99 latency"])[1])) == Decimal("0.3")


def test_every_alert_panel_links_its_runbook(pkg):
    rules, panels = rules_by_alert(pkg), slo_panels(pkg)
    for name, rule in rules.items():
        panel = next(p for t, p in panels.items() if t.startswith(f"{name}:") or t == name)
        assert [(ln["title"], ln["url"]) for ln in panel["links"]] == [(f"Runbook: {name}", rule["annotations"]["runbook_url"])]
        assert (pkg / "runbooks" / f"{name}.md").is_file()
    for p in panels.values():
        assert "http" not in p["description"], p["title"]


def test_a_new_catalog_alert_gets_panel_link_and_threshold(pkg):
    """An alert added to the catalog with only title/expr/unit (what #17's probe alert does)."""
    m = copy.copy(model(pkg))  # a private copy: the model is shared with other tests
    base = next(a for a in alerts.alerts(m) if a.name == "HighLatency")
    expr = 'probe_duration_seconds{job="payments-api-probe"}'
    new = replace(base, name="ProbeSlow", expr=f"{expr} > 2.5", panel={"title": "probe", "expr": expr, "unit": "s"},
                  annotations={**base.annotations, "runbook_url": m.runbook_url("ProbeSlow")})
    m.__dict__[alerts.CACHE_KEY] = (*alerts.alerts(m), new)
    spec = next(p for p in dashboards.alert_panels(m) if p.title == "ProbeSlow: probe")
    assert spec.links == (("Runbook: ProbeSlow", m.runbook_url("ProbeSlow")),)
    assert spec.thresholds == ((None, "green"), (Decimal("2.5"), "red"))
    assert dashboards.alert_threshold(f"{expr} < 2.5", expr) == ()  # lower-is-bad is not guessed


def _promtool_test(tmp: Path, pkg: Path, tests: list[dict]) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool")
    for path in (pkg / PROM).glob("*.rules.yaml"):
        shutil.copy(path, tmp / path.name)
    rule_files = sorted(p.name for p in tmp.glob("*.rules.yaml"))
    (tmp / "panels.test.yaml").write_text(yamlio.dump({"rule_files": rule_files, "evaluation_interval": "1m",
                                                       "tests": tests}))
    return subprocess.run([promtool, "test", "rules", "panels.test.yaml"], cwd=tmp, capture_output=True, text=True,
                          timeout=300, check=False)


def test_burn_panels_evaluate_against_the_recording_rules(pkg, tmp_path):
    """The panels' queries, $namespace set, run by promtool over the generated recording rules:
    with a constant error ratio of twice the budget every window's burn rate is 2."""
    m = model(pkg)
    ns = m.production.namespace
    panels = slo_panels(pkg)
    series, exprs = [], []
    steps_ = 75
    for s in slo.slos_for(m):
        errors, total = alerts._per_minute(2 * s.budget)
        series += alerts.slo_series(m, s, ns, [errors] * steps_, [total] * steps_)
        for title in [t for t in panels if t.startswith(f"{s.prefix}ErrorBudgetBurn")] + [f"{s.name}: burn rates"]:
            for t in panels[title]["targets"]:
                exprs.append(t["expr"].replace("$namespace", ns))
    assert exprs
    tests = [{"interval": "1m", "input_series": series,
              # round(): float division leaves 2.0000000000000053; promtool 2.42 compares exactly
              "promql_expr_test": [{"expr": f"round({e}, 0.001)", "eval_time": "70m",
                                    "exp_samples": [{"labels": "{" + f'namespace="{ns}",service="{m.name}",slo="{_slo(e)}"' + "}",
                                                     "value": 2}]}
                                   for e in exprs]}]
    res = _promtool_test(tmp_path, pkg, tests)
    assert res.returncode == 0, res.stdout + res.stderr


def _slo(expr: str) -> str:
    return matchers(_RATIO.search(expr)["labels"])["slo"]


def test_deploy_annotation_marks_a_new_image(pkg, tmp_path):
    """A second digest appears at minute 20: the annotation query returns it for 10 minutes,
    then nothing; the first digest's pods go on without a mark."""
    m = model(pkg)
    d = json.loads((pkg / DASH / "payments-api-golden.json").read_text())
    (anno,) = d["annotations"]["list"]
    assert anno["name"] == "Deploys" and anno["datasource"]["uid"] == "${datasource}"
    ns = m.production.namespace
    expr = anno["expr"].replace("$namespace", ns)

    def pod(name: str, image: str, values: str) -> dict:
        return {"series": f'kube_pod_container_info{{namespace="{ns}",pod="{name}",container="app",'
                          f'image_spec="{image}",image="x",container_id="c"}}', "values": values}
    old, new = "ghcr.io/acme/payments-api@sha256:" + "a" * 64, "ghcr.io/acme/payments-api@sha256:" + "b" * 64
    series = [pod("payments-api-7d9f-abcde", old, "1x30"), pod("payments-api-7d9f-fghij", old, "1x40"),
              pod("payments-api-5c8b-klmno", new, "_x20 1x40")]
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": [
        {"expr": expr, "eval_time": "15m", "exp_samples": []},
        {"expr": expr, "eval_time": "25m", "exp_samples": [{"labels": f'{{image_spec="{new}"}}', "value": 1}]},
        {"expr": expr, "eval_time": "35m", "exp_samples": []},
    ]}]
    res = _promtool_test(tmp_path, pkg, tests)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Deploy markers" in next(p for p in grafana.panels(d))["description"]


def test_checker_rejects_links_in_descriptions_and_broken_thresholds(pkg, tmp_path):
    require_tool("promtool")
    d = json.loads((pkg / DASH / "payments-api-slo.json").read_text())
    p = next(p for p in grafana.panels(d) if p["title"].startswith("HighLatency:"))
    p["description"] += " Runbook: https://example.com/r.md"
    p["fieldConfig"]["defaults"]["thresholds"]["steps"].reverse()
    d["annotations"]["list"][0]["expr"] += ")"
    path = tmp_path / "payments-api-slo.json"
    path.write_text(json.dumps(d))
    messages = [f.message for f in grafana.check_dashboard(path, path.name)]
    assert any("a URL in the description" in x for x in messages), messages
    assert any("threshold steps must start at null and ascend" in x for x in messages), messages
    assert any("annotation Deploys" in x and "parse error" in x for x in messages), messages
