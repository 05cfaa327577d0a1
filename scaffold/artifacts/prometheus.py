"""Prometheus artifacts built from the SLO list and the alert catalog.

Plain rule files, the promtool test file, the PrometheusRule and the
Service/PodMonitor are all dicts built here and emitted with ``to_yaml``.
Recording-rule names follow Sloth (``slo:sli_error:ratio_rate5m`` ...).
"""

from __future__ import annotations

import copy
import re
import textwrap
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from .. import yamlio
from ..answers import blueprints
from ..conventions import (
    BUDGET_REMAINING,
    DASHBOARD_KINDS,
    SLI_ERROR_RATE5M,
    SLI_ERROR_RATIO_5M,
    SLI_TOTAL_RATE5M,
    env_dashboard_uid,
    metrics_port_name,
    sli_error_ratio,
)
from ..model import slo
from ..model.service import ServiceModel, cached_per_model
from ..model.slo import SLO, dec
from . import alerts

EVALUATION_INTERVAL = "1m"
RAW_WINDOWS = ("30m", "1h")  # ratio windows computed from the raw series (the others from recorded 5m rates)
WINDOW = "{{window}}"
SCRAPE_INTERVAL = "30s"


def rule_file_name(m: ServiceModel, part: str | None = None) -> str:
    return f"{m.name}-{part}.rules.yaml" if part else f"{m.name}.rules.yaml"


def test_file_name(m: ServiceModel, part: str | None = None) -> str:
    return f"{m.name}-{part}.test.yaml" if part else f"{m.name}.test.yaml"


def parts(m: ServiceModel) -> list[str | None]:
    """One rule/test file pair for the built-ins (None), one per extra SLO: promtool
    evaluates every rule of a file for every test group, so files stay small."""
    return [None] + [s["name"] for s in m.extra_slos]


def rule_file_names(m: ServiceModel) -> list[str]:
    return [rule_file_name(m, p) for p in parts(m)]


def test_file_names(m: ServiceModel) -> list[str]:
    return [test_file_name(m, p) for p in parts(m)]


def _part_of(m: ServiceModel, slo: str | None) -> str | None:
    return slo if slo in {s["name"] for s in m.extra_slos} else None


def rule_file_of(m: ServiceModel, alert: Any) -> str:
    """The rule file that holds a catalog alert."""
    return rule_file_name(m, _part_of(m, alert.slo))


def block(expr: str) -> str:
    """Multi-line PromQL as a YAML literal block, readable in the rule files."""
    return LiteralScalarString(expr) if "\n" in expr else expr


def _record(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": block(expr), "labels": dict(labels)}


def slo_group(m: ServiceModel, s: SLO) -> dict[str, Any]:
    """The SLI per window, the period SLI and the budget left (docs/slo.md, "How the SLI is recorded").

    Request SLOs record the 5m error and total rates; the windows from 2h to the SLO
    window are ``sum_over_time`` of those two, so the ratio is traffic-weighted, idle
    minutes (0/0) blank nothing, and a long window reads the two recorded series instead
    of every raw series again. The page windows up to 1h (RAW_WINDOWS) read the raw series:
    an average of 5m rates lags a full outage by two minutes there. The ``or on (namespace)
    0 * slo:sli_total:rate5m`` gives an error rate of 0 where no error series exists yet
    (client libraries create it on the first error); latency has none: a missing bucket
    stays missing (SLIAbsent). Ratio SLOs run user PromQL once, over 5m. Job SLOs count
    runs per window directly."""
    labels = {"service": m.name, "slo": s.name}
    sel = f'{{service="{m.name}",slo="{s.name}"}}'
    window = slo.slo_window(m)
    if s.rate_based:
        # ratio SLOs fall back on their own total query (their tests feed the recorded 5m rates)
        zero = (f"0 * ({s.total(WINDOW)})" if s.kind == "ratio"
                else f"0 * sum by (namespace) ({SLI_TOTAL_RATE5M}{sel})")
        errors = s.errors(WINDOW) if s.kind == "latency" else f"({s.errors(WINDOW)}) or on (namespace) {zero}"
        rules = [_record(SLI_TOTAL_RATE5M, s.total("5m"), labels),
                 _record(SLI_ERROR_RATE5M, errors.replace(WINDOW, "5m"), labels),
                 _record(SLI_ERROR_RATIO_5M, f"{SLI_ERROR_RATE5M}{sel}\n/\n{SLI_TOTAL_RATE5M}{sel}",
                         labels)]
        for w in (*slo.SLI_WINDOWS[1:], window):
            if w in RAW_WINDOWS and s.kind != "ratio":
                expr = f"({errors.replace(WINDOW, w)})\n/\n({s.total(w)})"
            else:
                expr = (f"sum_over_time({SLI_ERROR_RATE5M}{sel}[{w}])\n/\n"
                        f"sum_over_time({SLI_TOTAL_RATE5M}{sel}[{w}])")
            rules.append(_record(sli_error_ratio(w), expr, labels))
    else:
        rules = [_record(sli_error_ratio(w), s.error_ratio(w), labels)
                 for w in (*slo.SLI_WINDOWS, window)]
    # No slo:objective:ratio / slo:error_budget:ratio constants: each environment's rule set
    # would write the same series; dashboards and alerts use the decimals themselves.
    rules += [
        _record(BUDGET_REMAINING,
                f"1 - {sli_error_ratio(window)}{sel} / {dec(s.budget)}", labels),
    ]
    return {"name": f"{m.name}-slo-{s.name}", "interval": EVALUATION_INTERVAL, "rules": rules}


def groups(m: ServiceModel, part: str | None = None) -> list[dict[str, Any]]:
    of_part = [a for a in alerts.alerts(m) if _part_of(m, a.slo) == part]
    out = [slo_group(m, s) for s in slo.slos_for(m) if _part_of(m, s.name) == part]
    suffix = f"-{part}" if part else ""
    out.append({"name": f"{m.name}{suffix}-slo-alerts", "rules": [_alert_rule(a) for a in of_part if a.slo]})
    if part is None:
        out.append({"name": f"{m.name}-symptoms", "rules": [_alert_rule(a) for a in of_part if not a.slo]})
    return out


def _alert_rule(alert: Any) -> dict[str, Any]:
    rule = alert.rule()
    rule["expr"] = block(rule["expr"])
    return rule


def all_groups(m: ServiceModel) -> list[dict[str, Any]]:
    return [g for p in parts(m) for g in groups(m, p)]


def _part_named(m: ServiceModel, file_name: str, namer: Any) -> str | None:
    for p in parts(m):
        if namer(m, p) == file_name:
            return p
    raise ValueError(f"{file_name} is not a rule/test file of {m.name}")


def rule_file(m: ServiceModel, file_name: str | None = None) -> dict[str, Any]:
    part = _part_named(m, file_name, rule_file_name) if file_name else None
    return {"groups": groups(m, part)}


def test_file(m: ServiceModel, file_name: str | None = None) -> dict[str, Any]:
    """promtool unit tests: one test group per distinct input, for the alerts of one rule file."""
    part = _part_named(m, file_name, test_file_name) if file_name else None
    merged: dict[str, dict[str, Any]] = {}
    for a in alerts.alerts(m):
        if _part_of(m, a.slo) != part:
            continue
        for c in a.tests:
            # cases on identical input share one test group: promtool opens one TSDB per group
            key = repr((c.interval, c.input_series))
            group = merged.setdefault(key, {"name": [], "interval": c.interval,
                                            "input_series": [dict(s) for s in c.input_series],
                                            "alert_rule_test": []})
            group["name"].append(f"{a.name} {'fires' if c.fires else 'silent'}: {c.why}")
            group["alert_rule_test"].append({"eval_time": c.eval_time, "alertname": a.name,
                                             "exp_alerts": [dict(e) for e in c.exp_alerts]})
    tests = [{**g, "name": "; ".join(g["name"])} for g in merged.values()]
    # recording groups before the alert groups at every step (promtool's order is otherwise unspecified)
    order = [g["name"] for g in groups(m, part)]
    return {"rule_files": [rule_file_name(m, part)], "evaluation_interval": EVALUATION_INTERVAL,
            "group_eval_order": order, "tests": tests}


def prometheus_rule(m: ServiceModel, groups: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": m.name, "namespace": m.name, "labels": dict(m.labels)},
    }
    if groups:
        out["spec"] = {"groups": all_groups(m)}
    return out


# -- one environment's rules ---------------------------------------------------
def scope_expr(m: ServiceModel, env: Any, expr: str) -> str:
    """An expression restricted to one environment's namespace: the namespace regex over all
    environments becomes that namespace, and the service's own series (job=<name>, the
    recorded slo:* series) gain a namespace matcher. Extra ratio SLOs are scoped where their
    selectors name the service's job."""
    ns = env.namespace
    out = expr.replace(f'namespace=~"{slo.namespace_regex(m)}"', f'namespace="{ns}"')
    out = re.sub(rf'\bjob="{re.escape(m.name)}"(?!,namespace=)', f'job="{m.name}",namespace="{ns}"', out)
    return re.sub(rf'(\{{service="{re.escape(m.name)}",slo="[a-z0-9-]+")\}}', rf'\1,namespace="{ns}"}}', out)


def scoped_groups(m: ServiceModel, env: Any) -> list[dict[str, Any]]:
    """The rule groups one environment's PrometheusRule carries. Outside production the
    alerts' dashboard links point at that environment's dashboards."""
    out = copy.deepcopy(all_groups(m))
    for group in out:
        for rule in group["rules"]:
            rule["expr"] = block(scope_expr(m, env, str(rule["expr"])))
            ann = rule.get("annotations") or {}
            for kind in DASHBOARD_KINDS:
                if "dashboard_url" in ann and ann["dashboard_url"] == m.dashboard_url(kind):
                    ann["dashboard_url"] = f"{m.dashboard_base_url}/d/{env_dashboard_uid(m, kind, env)}"
    return out


def overlay_patch_file(m: ServiceModel) -> str:
    return "prometheusrule.patch.yaml"


def overlay_patch(m: ServiceModel, env: Any) -> dict[str, Any]:
    """The overlay's kustomize patch entry: its PrometheusRule computes over its own namespace only."""
    return {"path": overlay_patch_file(m), "target": {"kind": "PrometheusRule", "name": m.name}}


@cached_per_model()
def overlay_patch_text(m: ServiceModel, env_name: str) -> str:
    """The JSON patch text. The rule files' emitted text, scoped as text (scope_expr's
    substitutions only touch selectors) and re-indented: re-emitting every group once per
    environment would double a large package's render time. Equal to scoped_groups
    (tests/test_alert_defects.py)."""
    env = next(e for e in m.environments if e.name == env_name)
    head = (f"# JSON patch (kustomization.yaml): the {env.name} PrometheusRule selects namespace {env.namespace} only,\n"
            "# so three environments in one Prometheus compute three disjoint rule sets.\n"
            "- op: replace\n  path: /spec\n  value:\n    groups:\n")
    body = "".join(textwrap.indent(rule_file_text(m, name).split("\n", 1)[1], "    ")
                   for name in rule_file_names(m))
    body = scope_expr(m, env, body)
    if not env.production:
        for kind in DASHBOARD_KINDS:
            body = body.replace(f"dashboard_url: {m.dashboard_url(kind)}\n",
                                f"dashboard_url: {m.dashboard_base_url}/d/{env_dashboard_uid(m, kind, env)}\n")
    return head + body


# -- emitted text, cached: copier renders some files more than once, and the
# PrometheusRule reuses the rule files' emitter output instead of re-emitting it.
@cached_per_model()
def rule_file_text(m: ServiceModel, file_name: str) -> str:
    return yamlio.dump_plain(rule_file(m, file_name))


@cached_per_model()
def test_file_text(m: ServiceModel, file_name: str) -> str:
    return yamlio.dump_plain(test_file(m, file_name))


@cached_per_model()
def prometheus_rule_text(m: ServiceModel) -> str:
    head = yamlio.dump(prometheus_rule(m, groups=False))
    body = [rule_file_text(m, name) for name in rule_file_names(m)]
    # each body is "groups:\n  - ..."; re-indent under spec (a uniform shift keeps block scalars intact)
    items = "".join(textwrap.indent(b.split("\n", 1)[1], "  ") for b in body)
    return f"{head}spec:\n  groups:\n{items}"


def monitor_kind(m: ServiceModel) -> str | None:
    """service: ServiceMonitor on the Service; worker: PodMonitor (no Service); cronjob: none."""
    kind = blueprints.get(m.blueprint).monitor
    return None if kind == "none" else kind


def monitor_file(m: ServiceModel) -> str | None:
    kind = monitor_kind(m)
    return f"{kind.lower()}.yaml" if kind else None


def monitor(m: ServiceModel) -> dict[str, Any]:
    """Scrape /metrics on the metrics port; job is set to the service name, which every rule selects on."""
    endpoint = {"port": metrics_port_name(m), "path": "/metrics", "interval": SCRAPE_INTERVAL, "scheme": "http",
                "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": m.name}]}
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(m.selector_labels)}}
    if monitor_kind(m) == "ServiceMonitor":
        spec["endpoints"] = [endpoint]
        if m.canary:  # canary analysis compares the canary's pods with the stable ones by this label
            spec["podTargetLabels"] = ["rollouts-pod-template-hash"]
    else:
        spec["podMetricsEndpoints"] = [endpoint]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": monitor_kind(m),
            "metadata": {"name": m.name, "namespace": m.name, "labels": dict(m.labels)}, "spec": spec}
