"""Grafana dashboards: structure of the rendered JSON, and every query parsed by promtool
through the checker (which must fail on a broken query)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold.artifacts import dashboards
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from scaffold.validate import grafana
from scaffold.artifacts import alerts

DASH = "observability/grafana/dashboards"
EXTRA = [{"name": "checkout", "objective": 99.5, "latency_ms": 500}]


@pytest.fixture(scope="module")
def pkg(render) -> Path:
    return render(skip_tasks=True)


def load(pkg: Path, uid: str) -> dict:
    return json.loads((pkg / DASH / f"{uid}.json").read_text())


def all_panels(d: dict) -> list[dict]:
    return list(grafana.panels(d))


@pytest.mark.parametrize("kind", dashboards.KINDS)
def test_structure(pkg, kind):
    d = load(pkg, f"payments-api-{kind}")
    assert d["schemaVersion"] == 41  # the pinned SDK; the default pick emits 36
    assert d["uid"] == f"payments-api-{kind}"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"
    assert variables["namespace"]["current"]["value"] == "payments-api-prod"
    for p in all_panels(d):
        assert p["description"].strip() and p["fieldConfig"]["defaults"]["unit"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs == [chr(65 + i) for i in range(len(refs))], p["title"]
        for t in p["targets"]:
            assert ('"$namespace"' in t["expr"] or "$namespace" in t["expr"] or "service=" in t["expr"]
                    or t["expr"].startswith("vector(")), t["expr"]  # the objective: a constant
    assert grafana.structure(d, d["uid"]) == []


def test_golden_signals_cover_traffic_errors_latency_saturation(pkg):
    d = load(pkg, "payments-api-golden")
    by_title = {p["title"]: p for p in all_panels(d)}
    assert {"Traffic", "Errors", "Latency quantiles", "CPU", "Memory", "CPU throttling", "HPA replicas"} <= set(by_title)
    latency = [t["expr"] for t in by_title["Latency quantiles"]["targets"]]
    assert [e.split(",")[0] for e in latency] == ["histogram_quantile(0.5", "histogram_quantile(0.9", "histogram_quantile(0.99"]
    rate_queries = [t["expr"] for p in all_panels(d) for t in p["targets"] if "rate(" in t["expr"]]
    assert rate_queries and all("[$__rate_interval]" in e for e in rate_queries)


def test_slo_dashboard_has_sli_budget_burn_and_a_panel_per_alert(render):
    pkg = render(skip_tasks=True, slos=EXTRA)
    m = ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))
    titles = [p["title"] for p in all_panels(load(pkg, "payments-api-slo"))]
    for name in ("availability", "latency", "checkout"):
        assert {f"{name}: SLI", f"{name}: error budget remaining", f"{name}: burn rates"} <= set(titles)
    assert alerts.alerts(m), "the catalog defines alerts"
    for alert in alerts.alerts(m):
        assert sum(t.startswith(f"{alert.name}:") or t == alert.name for t in titles) == 1, alert.name


@pytest.mark.parametrize("answers", [{}, {"blueprint": "worker", "slos": EXTRA}, {"blueprint": "cronjob"},
                                     {"slo_window_days": 28, "slo_availability": 99.5}])
def test_checker_passes_with_promtool(render, answers):
    require_tool("promtool")
    pkg = render(skip_tasks=True, **answers)
    files = sorted((pkg / DASH).glob("*.json"))
    assert len(files) == 2
    for path in files:
        assert grafana.check_dashboard(path, path.name) == [], path.name


def _break(pkg: Path, tmp_path: Path, mutate) -> Path:
    path = tmp_path / "payments-api-golden.json"
    d = load(pkg, "payments-api-golden")
    mutate(d)
    path.write_text(json.dumps(d))
    return path


def test_broken_query_fails_and_names_the_panel(pkg, tmp_path):
    require_tool("promtool")

    def mutate(d):
        errors = next(p for p in grafana.panels(d) if p["title"] == "Errors")
        errors["targets"][0]["expr"] = errors["targets"][0]["expr"].rstrip(")")  # unbalanced
    findings = grafana.check_dashboard(_break(pkg, tmp_path, mutate), "x.json")
    assert len(findings) == 1 and "panel 'Errors' query A" in findings[0].message and "parse error" in findings[0].message


def test_structure_problems_are_reported(pkg, tmp_path):
    def mutate(d):
        p = next(p for p in grafana.panels(d) if p["title"] == "Memory")
        del p["fieldConfig"]["defaults"]["unit"]
        p["targets"][1]["refId"] = "A"
        d["schemaVersion"] = 36
        cpu = next(p for p in grafana.panels(d) if p["title"] == "CPU")
        cpu["targets"][0]["expr"] = cpu["targets"][0]["expr"].replace("$__rate_interval", "$undefined_var")
    messages = [f.message for f in grafana.check_dashboard(_break(pkg, tmp_path, mutate), "x.json")]
    assert any("schemaVersion 36" in m for m in messages)
    assert any("'Memory': no unit" in m for m in messages)
    assert any("'Memory': every query needs its own explicit refId" in m for m in messages)
    assert any("undefined variable $undefined_var" in m for m in messages)


@pytest.mark.fast
def test_substitution_leaves_regex_groups_alone():
    expr, unknown = grafana.substitute('label_replace(rate(x{a="$namespace"}[$__rate_interval]), "c", "${1}xx", "c", "(.).*")',
                                       {"namespace": "ns", **grafana.BUILTINS})
    assert expr == 'label_replace(rate(x{a="ns"}[5m]), "c", "${1}xx", "c", "(.).*")' and unknown == []


def test_output_is_deterministic_and_matches_the_configmaps(pkg):
    m = ServiceModel.from_answers(yamlio.load_file(pkg / ".copier-answers.yml"))
    for kind in dashboards.KINDS:
        assert dashboards.to_json(m, kind) == dashboards.to_json(m, kind)
        assert (pkg / DASH / f"{m.dashboard_uid(kind)}.json").read_text() == dashboards.to_json(m, kind)
    docs = yamlio.load_all((pkg / "k8s/base/grafana-dashboards.yaml").read_text())
    assert [d["metadata"]["labels"]["grafana_dashboard"] for d in docs] == ["1", "1"]
    for d in docs:
        (key, text), = d["data"].items()
        assert json.loads(text) == load(pkg, key.removesuffix(".json"))
    assert "grafana-dashboards.yaml" in yamlio.load_file(pkg / "k8s/base/kustomization.yaml")["resources"]


def test_configmaps_build_in_every_overlay(pkg):
    kubectl = require_tool("kubectl")
    import subprocess

    out = subprocess.run([kubectl, "kustomize", str(pkg / "k8s/overlays/prod")], capture_output=True, text=True, check=True).stdout
    cms = [d for d in yamlio.load_all(out) if d["kind"] == "ConfigMap" and d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert sorted(c["metadata"]["name"] for c in cms) == ["payments-api-golden-dashboard", "payments-api-slo-dashboard"]
    assert {c["metadata"]["namespace"] for c in cms} == {"payments-api-prod"}


def test_checker_runs_in_the_spine(pkg, tmp_path):
    require_tool("promtool")
    from scaffold.model.package import Package
    from scaffold.validate import run_one

    assert run_one(grafana.GrafanaDashboards, Package.load(pkg)).status == "pass"
    copy = mutable_copy(pkg, tmp_path)
    path = copy / DASH / "payments-api-slo.json"
    path.write_text(path.read_text().replace("slo:period_error_budget_remaining:ratio", "slo:period_error_budget_remaining:ratio{{"))
    result = run_one(grafana.GrafanaDashboards, Package.load(copy))
    assert result.status == "fail" and all("payments-api-slo.json" in f.file for f in result.findings)
