"""Issue 13: each defect of the alerting found under real traffic, reproduced with promtool or amtool.

Every test runs the real tool on the rules scaffold generates (rules.rule_file_text) with
hand-written input series, so it does not depend on the catalog's own test cases.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold.artifacts import alertmanager, prometheus as rules
from scaffold.model import slo
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from scaffold.artifacts import alerts

NAME = "payments-api"
PROD, DEV = f"{NAME}-prod", f"{NAME}-dev"


def model(**answers: Any) -> ServiceModel:
    return ServiceModel.from_answers({"service_name": NAME, **answers})


def series(metric: str, values: str, **labels: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}


def http(code: str, values: str, ns: str = PROD) -> dict[str, str]:
    return series("http_requests_total", values, job=NAME, namespace=ns, code=code, method="GET", route="/")


def promtool(tmp_path: Path, rule_text: str, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess:
    exe = require_tool("promtool")
    (tmp_path / "r.rules.yaml").write_text(rule_text)
    # recording groups first: promtool's group order is otherwise unspecified
    order = [g["name"] for g in yamlio.load(rule_text)["groups"]]
    (tmp_path / "t.test.yaml").write_text(yamlio.dump(
        {"rule_files": ["r.rules.yaml"], "evaluation_interval": "1m", "group_eval_order": order, "tests": tests}))
    return subprocess.run([exe, "test", "rules", "t.test.yaml"], cwd=tmp_path, capture_output=True, text=True)


def rule_text(m: ServiceModel) -> str:
    return rules.rule_file_text(m, rules.rule_file_name(m))


def firing(tmp_path: Path, m: ServiceModel, inputs: list[dict[str, str]], alert: str, at: str,
           interval: str = "1m", text: str | None = None) -> bool:
    """Whether ``alert`` fires at ``at``: promtool is told to expect silence; a failure naming the alert is a firing."""
    proc = promtool(tmp_path, text or rule_text(m), [{"interval": interval, "input_series": inputs,
                                                      "alert_rule_test": [{"eval_time": at, "alertname": alert}]}])
    if proc.returncode == 0:
        return False
    out = proc.stdout + proc.stderr
    assert f"alertname: {alert}" in out and "got:[" in out, out[-3000:]
    return True


def expr_holds(tmp_path: Path, m: ServiceModel, inputs: list[dict[str, str]], expr: str, at: str,
               interval: str = "1m") -> bool:
    """Whether ``expr`` (a `bool` comparison) evaluates to exactly one sample of 1 at ``at``."""
    proc = promtool(tmp_path, rule_text(m), [{"interval": interval, "input_series": inputs, "promql_expr_test": [
        {"expr": expr, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}]}]}])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 or "FAILED" in out, out[-3000:]
    return proc.returncode == 0


# -- 1. the traffic guard ---------------------------------------------------------
def test_1_low_traffic_full_outage_pages(tmp_path):
    """50 requests an hour, every one failing: the old 60/h guard muted the page for hours."""
    inputs = [http("500", "0+0.8333333333x600")]
    assert firing(tmp_path, model(), inputs, "AvailabilityErrorBudgetBurnPage", "60m")


def test_1_one_failed_request_at_low_traffic_does_not_page(tmp_path):
    """60-69 requests an hour: one failed request was above 1.44% of the hour and paged."""
    inputs = [http("200", "0+1x120"), http("500", "0+0x70 1+0x49")]
    for at in ("72m", "75m", "80m"):
        assert not firing(tmp_path, model(), inputs, "AvailabilityErrorBudgetBurnPage", at), at


# -- 2. missing threshold bucket -------------------------------------------------------
def _latency_inputs(le_slow: str, le_fast: str, fast: str, ns: str = PROD) -> list[dict[str, str]]:
    base = {"job": NAME, "namespace": ns}
    h = "http_request_duration_seconds"
    return [series(f"{h}_bucket", f"0+{fast}x60", le=le_fast, **base),
            series(f"{h}_bucket", "0+100x60", le=le_slow, **base),
            series(f"{h}_bucket", "0+100x60", le="+Inf", **base),
            series(f"{h}_count", "0+100x60", **base)]


def test_2_missing_threshold_bucket_is_not_a_perfect_sli(tmp_path):
    """Buckets .25/.5 and a 300 ms threshold: every request takes 0.4 s; the SLI must not read 0."""
    inputs = _latency_inputs("0.5", "0.25", "0")
    assert not expr_holds(tmp_path, model(), inputs, 'sum(slo:sli_error:ratio_rate5m{slo="latency"} == bool 0)', "30m")
    assert firing(tmp_path, model(), inputs, "LatencySLIAbsent", "30m")


def test_2_integer_threshold_bucket_matches_both_spellings(tmp_path):
    """slo_latency_ms=1000: exporters write le="1" or le="1.0"; half the requests are slower."""
    m = model(slo_latency_ms=1000)
    for le in ("1", "1.0"):
        inputs = _latency_inputs("2.5", le, "50")
        assert firing(tmp_path, m, inputs, "LatencyErrorBudgetBurnPage", "30m"), le


# -- 3. idle windows ---------------------------------------------------------------
def test_3_idle_minutes_do_not_blank_the_period_sli(tmp_path):
    """30 minutes at 1% errors, 10 idle minutes, 30 more at 1%: the 30d SLI still reads 1%."""
    inputs = [http("500", "0+1x30 30+0x10 30+1x30"), http("200", "0+99x30 2970+0x10 2970+99x30")]
    assert expr_holds(tmp_path, model(), inputs,
                      'sum(round(slo:sli_error:ratio_rate30d{slo="availability"} * 1000) == bool 10)', "70m")


# -- 4. traffic weighting and data age ------------------------------------------------
def test_4_period_sli_is_weighted_by_traffic(tmp_path):
    """Busy hours (1000/min) without errors, quiet hours (200/min) at 0.5%: the true ratio is 0.083%."""
    ok = "0+1000x60 60000+200x60 72000+1000x60 132000+200x60"
    bad = "0+0x60 0+1x60 60+0x60 60+1x60"
    inputs = [http("200", ok), http("500", bad)]
    assert expr_holds(tmp_path, model(), inputs, 'sum(slo:sli_error:ratio_rate30d{slo="availability"} < bool 0.001)', "240m")
    assert not firing(tmp_path, model(), inputs, "AvailabilityErrorBudgetExhausted", "240m")


def test_4_new_service_is_not_exhausted_within_minutes(tmp_path):
    """A new service at 0.2% errors was ticketed ErrorBudgetExhausted 16 minutes after its first request."""
    inputs = [http("200", "0+998x120"), http("500", "0+2x120")]
    assert not firing(tmp_path, model(), inputs, "AvailabilityErrorBudgetExhausted", "60m")


# -- 5. the Sloth spec -------------------------------------------------------------------
# Field names of Sloth's prometheus/v1 Go structs (github.com/slok/sloth pkg/prometheus/api/v1/v1.go,
# json tags); the loader (internal/storage/io/sloth.go) decodes YAML through them, dropping other keys.
SLOTH_FIELDS: dict[str, set[str]] = {
    "spec": {"version", "service", "labels", "slo_plugins", "slos"},
    "slo": {"name", "description", "objective", "plugins", "labels", "sli", "alerting"},
    "sli": {"raw", "events", "plugin"},
    "events": {"error_query", "total_query"},
    "alerting": {"name", "labels", "annotations", "page_alert", "ticket_alert"},
    "alert": {"disable", "labels", "annotations"},
}
SLOTH_VERSION_LINE = re.compile(r"(?m)^version: +['\"]?prometheus/v1['\"]?\r?\n? *$")  # the loader's IsSpecType


def sloth_load(text: str) -> dict[str, Any]:
    """Read a spec the way Sloth's loader does, failing where Sloth would (or would drop a key)."""
    assert SLOTH_VERSION_LINE.search(text), "not detected as a prometheus/v1 spec"
    doc = yamlio.load(text)

    def known(obj: dict[str, Any], kind: str, where: str) -> None:
        unknown = set(obj) - SLOTH_FIELDS[kind]
        assert not unknown, f"{where}: keys Sloth drops: {sorted(unknown)}"

    known(doc, "spec", "spec")
    assert doc["version"] == "prometheus/v1" and doc["service"] and doc["slos"]
    for s in doc["slos"]:
        known(s, "slo", s["name"])
        assert 0 < float(s["objective"]) <= 100
        known(s["sli"], "sli", f"{s['name']}.sli")
        events = s["sli"]["events"]
        known(events, "events", f"{s['name']}.sli.events")
        for q in ("error_query", "total_query"):
            assert "{{.window}}" in events[q], (s["name"], q)
        known(s["alerting"], "alerting", f"{s['name']}.alerting")
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s["alerting"]["name"])
        for tier in ("page_alert", "ticket_alert"):
            known(s["alerting"][tier], "alert", f"{s['name']}.alerting.{tier}")
    return doc


@pytest.mark.fast
@pytest.mark.parametrize("answers", [{}, {"blueprint": "cronjob"}])
def test_5_slo_yaml_loads_as_sloth_reads_it(answers):
    m = model(**answers)
    text = slo.sloth_spec_text(m)
    doc = sloth_load(text)
    assert [s["name"] for s in doc["slos"]] == [s.name for s in slo.slos_for(m)]
    assert f"--default-slo-period={m.slo_window_days}d" in text  # the window Sloth must be run with


# -- 6. environment-aware alerting --------------------------------------------------------
def amtool_route(tmp_path: Path, m: ServiceModel, labels: dict[str, str]) -> str:
    exe = require_tool("amtool")
    cfg = tmp_path / "alertmanager.yaml"
    cfg.write_text(yamlio.dump(alertmanager.config(m)))
    args = [f"{k}={v}" for k, v in labels.items()]
    proc = subprocess.run([exe, "config", "routes", "test", f"--config.file={cfg}", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _alert_labels(m: ServiceModel, name: str, ns: str) -> dict[str, str]:
    a = next(a for a in alerts.alerts(m) if a.name == name)
    return {"alertname": a.name, **a.labels, "namespace": ns}


def test_6_a_dev_outage_never_pages(tmp_path):
    m = model()
    pager = alertmanager.receiver_names(m)["page"]
    for env in m.environments:
        for a in alerts.alerts(m):
            got = amtool_route(tmp_path, m, _alert_labels(m, a.name, env.namespace)) if a.tier == "page" else None
            if got is not None:
                assert (got == pager) == env.production, (env.name, a.name, got)


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for mt in matchers:
        name, op, value = re.fullmatch(r'(\w+)(=~|!~|!=|=)"(.*)"', mt).groups()
        have = labels.get(name, "")
        if not {"=": have == value, "!=": have != value, "=~": re.fullmatch(value, have) is not None,
                "!~": re.fullmatch(value, have) is None}[op]:
            return False
    return True


def _inhibits(rule: dict[str, Any], source: dict[str, str], target: dict[str, str]) -> bool:
    return (_matches(rule["source_matchers"], source) and _matches(rule["target_matchers"], target)
            and all(source.get(k, "") == target.get(k, "") for k in rule["equal"]))


@pytest.mark.fast
def test_6_a_prod_page_inhibits_nothing_in_another_namespace():
    m = model()
    cfg = alertmanager.config(m)
    assert "namespace" in cfg["route"]["group_by"]
    firing_alerts = [_alert_labels(m, a.name, env.namespace) for a in alerts.alerts(m) for env in m.environments]
    for src in firing_alerts:
        for dst in firing_alerts:
            if src["namespace"] != dst["namespace"]:
                assert not any(_inhibits(r, src, dst) for r in cfg["inhibit_rules"]), (src, dst)


@pytest.mark.fast
def test_6_every_inhibition_can_match_some_pair_of_catalog_alerts():
    m = model()
    fired = [_alert_labels(m, a.name, PROD) for a in alerts.alerts(m)]
    for rule in alertmanager.config(m)["inhibit_rules"]:
        assert any(_inhibits(rule, s, t) for s in fired for t in fired if s is not t), rule


# -- 7. cronjob alerts that clear, OOM under restartPolicy Never ------------------------------
def _cron_inputs(ns: str = PROD) -> list[dict[str, str]]:
    """Run -1 fails at 10m, run -2 succeeds at 25m; kube-state-metrics keeps the failed Job (history limit)."""
    job = "reports"
    return [
        series("kube_job_status_start_time", "0+0x40", namespace=ns, job_name=f"{job}-1"),
        series("kube_job_failed", "_x1 1+0x38", namespace=ns, job_name=f"{job}-1", condition="true"),
        series("kube_job_status_start_time", "_x2 1200+0x37", namespace=ns, job_name=f"{job}-2"),
        series("kube_job_complete", "_x3 1+0x36", namespace=ns, job_name=f"{job}-2", condition="true"),
        series("kube_job_status_completion_time", "_x3 1500+0x36", namespace=ns, job_name=f"{job}-2"),
        series("kube_cronjob_status_last_successful_time", "_x3 1500+0x36", namespace=ns, cronjob=job),
        series("kube_cronjob_created", "0+0x40", namespace=ns, cronjob=job),
    ]


def test_7_cron_failure_clears_after_the_next_successful_run(tmp_path):
    m = ServiceModel.from_answers({"service_name": "reports", "blueprint": "cronjob"})
    text = rules.rule_file_text(m, rules.rule_file_name(m))
    inputs = _cron_inputs("reports-prod")
    assert firing(tmp_path, m, inputs, "CronJobFailed", "15m", interval="10m", text=text)
    assert not firing(tmp_path, m, inputs, "CronJobFailed", "6h", interval="10m", text=text)
    assert not firing(tmp_path, m, inputs, "JobSuccessErrorBudgetBurnPage", "6h", interval="10m", text=text)


def test_7_oom_is_seen_for_a_restart_policy_never_pod(tmp_path):
    m = ServiceModel.from_answers({"service_name": "reports", "blueprint": "cronjob"})
    text = rules.rule_file_text(m, rules.rule_file_name(m))
    lab = {"namespace": "reports-prod", "pod": "reports-29000000-x2x9k", "container": "app"}
    inputs = [series("kube_pod_container_status_terminated_reason", "_x4 1+0x30", reason="OOMKilled", **lab),
              series("kube_pod_container_status_restarts_total", "0+0x35", **lab)]
    assert firing(tmp_path, m, inputs, "ContainerOOMKilled", "6m", text=text)


# -- 8. the Rollouts controller's labels -----------------------------------------------------------
def test_8_rollout_unavailable_matches_the_controller_labels(tmp_path):
    """The controller's own namespace label becomes exported_namespace under the default ServiceMonitor."""
    lab = {"namespace": "argo-rollouts", "exported_namespace": PROD, "name": NAME, "job": "argo-rollouts-metrics"}
    inputs = [series("rollout_info_replicas_desired", "3+0x40", **lab),
              series("rollout_info_replicas_available", "2+0x40", **lab)]
    assert firing(tmp_path, model(), inputs, "ReplicasUnavailable", "30m")


# -- 10. cost and speed -----------------------------------------------------------------------------
def test_10_full_outage_pages_within_two_minutes(tmp_path):
    inputs = [http("200", "0+1000x10 10000+0x30"), http("500", "0+0x10 1000+1000x29")]
    assert firing(tmp_path, model(), inputs, "AvailabilityErrorBudgetBurnPage", "12m")


def test_10_no_more_series_than_sloth(tmp_path):
    """2 SLOs in 3 namespaces: Sloth writes 74 series on this spec (benchmarks/slo_rules.py)."""
    inputs = []
    for env in model().environments:
        inputs += [http("200", "0+1000x30", env.namespace), http("500", "0+1x30", env.namespace)]
        inputs += _latency_inputs("0.5", "0.3", "90", env.namespace)
    assert expr_holds(tmp_path, model(), inputs, 'count({__name__=~"slo:.+"}) <= bool 74', "20m")


def test_10_a_service_without_its_sli_series_is_reported(tmp_path):
    """The pods are up but export no http_requests_total: the SLI is blind."""
    inputs = [series("up", "1+0x30", job=NAME, namespace=PROD, instance="10.0.0.1:8080")]
    assert firing(tmp_path, model(), inputs, "AvailabilitySLIAbsent", "20m")


# -- 9. each environment's PrometheusRule and dashboards ----------------------------------------------
def _overlay_objects(pkg: Path, env: str) -> list[dict[str, Any]]:
    exe = require_tool("kubectl")
    proc = subprocess.run([exe, "kustomize", str(pkg / "k8s/overlays" / env)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yamlio.load_all(proc.stdout) if d]


@pytest.fixture(scope="module")
def overlays(render) -> dict[str, list[dict[str, Any]]]:
    pkg = render(skip_tasks=True)
    return {env.name: _overlay_objects(pkg, env.name) for env in model().environments}


def test_9_each_environment_rule_computes_over_its_own_namespace(overlays, tmp_path):
    outage = [http("200", "0+1000x10 10000+0x30"), http("500", "0+0x10 1000+1000x29")]  # in prod
    for env in model().environments:
        (rule,) = [d for d in overlays[env.name] if d["kind"] == "PrometheusRule"]
        assert rule["metadata"]["namespace"] == env.namespace
        text = yamlio.dump({"groups": rule["spec"]["groups"]})
        fired = firing(tmp_path, model(), outage, "AvailabilityErrorBudgetBurnPage", "15m", text=text)
        assert fired == env.production, env.name


def test_9_each_environment_has_its_own_dashboard_uids(overlays):
    uids = []
    for env in model().environments:
        for cm in (d for d in overlays[env.name] if d["kind"] == "ConfigMap" and
                   d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"):
            (key, body), = cm["data"].items()
            uid = __import__("json").loads(body)["uid"]
            assert key == f"{uid}.json"
            uids.append(uid)
    assert len(uids) == 2 * len(model().environments) and len(set(uids)) == len(uids), uids


def test_9_checker_runs_promtool_on_each_environment_rule(render, tmp_path):

    from scaffold.model.package import Package
    from scaffold.validate import load_checkers, run_one

    require_tool("promtool")
    pkg = mutable_copy(render(skip_tasks=True), tmp_path)
    checker = load_checkers()["prometheus-rules"]
    assert run_one(checker, Package.load(pkg)).findings == []
    patch = pkg / "k8s/overlays/dev/prometheusrule.patch.yaml"
    patch.write_text(patch.read_text().replace('namespace="payments-api-dev"}', 'namespace="payments-api-dev"', 1))
    findings = run_one(checker, Package.load(pkg)).findings
    assert [f.file for f in findings] == ["k8s/overlays/dev/prometheusrule.patch.yaml"], findings


@pytest.mark.fast
@pytest.mark.parametrize("answers", [{}, {"blueprint": "cronjob"}, {"slos": [
    {"name": "checkout", "objective": 99.5, "latency_ms": 800}]}])
def test_9_overlay_patch_text_is_the_scoped_rule_set(answers):
    m = model(**answers)
    for env in m.environments:
        (op,) = yamlio.load(rules.overlay_patch_text(m, env.name))
        assert op["op"] == "replace" and op["path"] == "/spec"
        assert yamlio.load(yamlio.dump(op["value"]["groups"])) == yamlio.load(yamlio.dump(rules.scoped_groups(m, env)))
