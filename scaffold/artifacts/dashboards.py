"""Grafana dashboards, built with grafana-foundation-sdk and emitted as stable JSON.

Two dashboards per service: golden signals (traffic, errors, latency,
saturation) and SLO (SLI, error budget remaining, burn rates, one panel per
catalog alert). Queries live here as data (:class:`PanelSpec`) so the checker
and the tests can reason about them; the SDK turns them into dashboard JSON.
Every query filters on ``namespace="$namespace"`` and ranges use
``$__rate_interval``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as gcm
from grafana_foundation_sdk.models import dashboard as gm

from ..conventions import (
    BUDGET_REMAINING,
    CONTAINER,
    DASHBOARD_KINDS,
    SLI_ERROR_RATIO_5M,
    env_dashboard_uid,
    sli_error_ratio,
)
from ..model import slo
from ..model.service import ServiceModel, cached_per_model
from . import alerts

KINDS = DASHBOARD_KINDS
DS_VAR = "datasource"
NS_VAR = "namespace"
RATE = "$__rate_interval"
QUANTILES = ("0.5", "0.9", "0.99")
PANEL_W, PANEL_H, GRID_W = 12, 8, 24


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str


# A threshold step: from `value` up (None: from -infinity), the panel colours `color`.
Step = tuple[Decimal | None, str]


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str
    unit: str
    targets: tuple[Target, ...]
    kind: str = "timeseries"  # or "stat"
    min: float | None = None
    max: float | None = None
    thresholds: tuple[Step, ...] = ()  # drawn as lines on a time series, colouring a stat
    links: tuple[tuple[str, str], ...] = ()  # (title, url): the panel's links menu


def above(*values: Decimal | str) -> tuple[Step, ...]:
    """Higher is worse (error ratio, latency, burn rate): green below the lowest value,
    orange from each value, red from the highest."""
    vs = sorted({Decimal(str(v)) for v in values})
    return ((None, "green"), *((v, "red" if i == len(vs) - 1 else "orange") for i, v in enumerate(vs)))


def below(value: Decimal | str | int) -> tuple[Step, ...]:
    """Lower is worse (an SLI, a budget left): red under the value, green from it."""
    return ((None, "red"), (Decimal(str(value)), "green"))


def slo_of_kind(m: ServiceModel, kind: str) -> slo.SLO | None:
    return next((s for s in slo.slos_for(m) if s.kind == kind), None)


# Deploy markers on every dashboard: a deploy is a container image the namespace did not run
# DEPLOY_LOOKBACK ago. kube-state-metrics' kube_pod_container_info carries the pod spec's image
# (image_spec), which every overlay pins by digest and cd.yml changes on each promotion; it works
# alike for a Deployment, an Argo Rollout's ReplicaSets and a CronJob's pods, and a rollback
# (an older digest coming back) is marked too.
DEPLOY_LOOKBACK = "10m"
DEPLOY_NOTE = (f"Deploy markers (annotation \"Deploys\"): a container image digest that {{name}} did not run in the namespace "
               f"{DEPLOY_LOOKBACK} before (kube-state-metrics kube_pod_container_info, image_spec label).")


def deploy_expr(m: ServiceModel) -> str:
    c = container_selector(m)
    now = f"count by (image_spec) (kube_pod_container_info{{{c}}})"
    return f"{now} unless on (image_spec) count by (image_spec) (kube_pod_container_info{{{c}}} offset {DEPLOY_LOOKBACK})"


def deploy_annotation(m: ServiceModel) -> dict[str, Any]:
    """A Prometheus annotation query (Grafana's own field names for the Prometheus data source)."""
    return {"name": "Deploys", "datasource": {"type": "prometheus", "uid": f"${{{DS_VAR}}}"}, "enable": True,
            "hide": False, "iconColor": "purple", "expr": deploy_expr(m), "step": "1m",
            "titleFormat": f"Deploy of {m.name}", "textFormat": "{{image_spec}}", "tagKeys": "image_spec",
            "useValueForTime": False}


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[PanelSpec, ...] = field(default_factory=tuple)


def _ns() -> str:
    return f'namespace="${NS_VAR}"'


def app_selector(m: ServiceModel) -> str:
    """App metrics: the ServiceMonitor's job label is the Service name (m.name)."""
    return f'{_ns()}, job="{m.name}"'


def container_selector(m: ServiceModel) -> str:
    return f'{_ns()}, pod=~"{m.name}-.*", container="{CONTAINER}"'


# -- golden signals ----------------------------------------------------------

def _traffic_errors_latency(m: ServiceModel) -> list[Row]:
    sel = app_selector(m)
    if m.blueprint == "service":
        total, dur = "http_requests_total", "http_request_duration_seconds"
        errors = f'sum(rate({total}{{{sel}, code=~"5.."}}[{RATE}]))'
        traffic = PanelSpec(
            "Traffic", f"HTTP requests per second served by {m.name}, by status class.", "reqps",
            (Target(f'sum by (code) (label_replace(rate({total}{{{sel}}}[{RATE}]), "code", "${{1}}xx", "code", "(.).*"))', "{{code}}"),),
        )
        err_desc = f"Share of {m.name}'s HTTP requests answered 5xx (the availability SLI)."
        lat_desc = f"{m.name} request latency quantiles from the {dur} histogram; the SLO threshold is {m.slo_latency_ms} ms."
        what = "request"
    elif m.blueprint == "worker":
        total, dur = "worker_jobs_total", "worker_job_duration_seconds"
        errors = f'sum(rate({total}{{{sel}, outcome="error"}}[{RATE}]))'
        traffic = PanelSpec(
            "Throughput", f"Jobs per second processed by {m.name}, by outcome.", "ops",
            (Target(f"sum by (outcome) (rate({total}{{{sel}}}[{RATE}]))", "{{outcome}}"),),
        )
        err_desc = f"Share of {m.name}'s jobs that ended in error (the availability SLI)."
        lat_desc = f"{m.name} job duration quantiles from the {dur} histogram; the SLO threshold is {m.slo_latency_ms} ms."
        what = "job"
    else:
        return _cronjob_signals(m)
    all_ = f"sum(rate({total}{{{sel}}}[{RATE}]))"
    availability = slo_of_kind(m, "availability")
    assert availability is not None  # every service has an availability SLO (slo.slos_for)
    budget = availability.budget
    error_ratio = PanelSpec(
        "Errors", f"{err_desc} Threshold line: the error budget, {slo.dec(budget * 100)}% (1 - the availability objective).",
        "percentunit",
        (Target(f"({slo.or_zero(errors, all_)}) / {all_}", "error ratio"),), min=0, thresholds=above(budget),
    )
    latency = PanelSpec(
        "Latency quantiles", f"{lat_desc} Threshold line: {slo.dec(m.latency_seconds)} s.", "s",
        tuple(Target(f"histogram_quantile({q}, sum by (le) (rate({dur}_bucket{{{sel}}}[{RATE}])))",
                     f"p{_pct(q)} {what}") for q in QUANTILES),
        min=0, thresholds=above(m.latency_seconds),
    )
    return [Row("Traffic and errors", (traffic, error_ratio)), Row("Latency", (latency,))]


def _cronjob_signals(m: ServiceModel) -> list[Row]:
    owned = f'{_ns()}, job_name=~"{m.name}-[0-9]+"'
    runs = PanelSpec(
        "Runs", f"Jobs created by the {m.name} CronJob and still retained by Kubernetes.", "short",
        (Target(f'count(kube_job_owner{{{_ns()}, owner_kind="CronJob", owner_name="{m.name}"}})', "retained jobs"),), min=0,
    )
    failed = PanelSpec(
        "Failed runs", f"Retained {m.name} jobs whose last attempt failed (kube-state-metrics).", "short",
        (Target(f"sum(kube_job_status_failed{{{owned}}} > 0) or vector(0)", "failed jobs"),), min=0,
    )
    duration = PanelSpec(
        "Run duration", f"Wall-clock duration of each finished {m.name} job.", "s",
        (Target(f"kube_job_status_completion_time{{{owned}}} - kube_job_status_start_time{{{owned}}}", "{{job_name}}"),), min=0,
    )
    since = PanelSpec(
        "Time since last schedule", f"Seconds since the {m.name} CronJob last scheduled a job.", "s",
        (Target(f'time() - kube_cronjob_status_last_schedule_time{{{_ns()}, cronjob="{m.name}"}}', "since last schedule"),),
        kind="stat",
    )
    return [Row("Runs and failures", (runs, failed)), Row("Duration", (duration, since))]


def _saturation(m: ServiceModel) -> Row:
    c = container_selector(m)
    cpu = PanelSpec(
        "CPU", f"CPU cores used per pod, against the {m.resources.cpu_request} request.", "short",
        (Target(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{c}}}[{RATE}]))", "{{pod}}"),
         Target(f'max(kube_pod_container_resource_requests{{{c}, resource="cpu"}})', "request")), min=0,
    )
    memory = PanelSpec(
        "Memory", f"Working-set bytes per pod, against the {m.resources.memory_limit} limit (OOMKill above it).", "bytes",
        (Target(f"sum by (pod) (container_memory_working_set_bytes{{{c}}})", "{{pod}}"),
         Target(f'max(kube_pod_container_resource_limits{{{c}, resource="memory"}})', "limit")), min=0,
    )
    throttling = PanelSpec(
        "CPU throttling", "Share of CFS periods in which the container was throttled at its CPU limit.", "percentunit",
        (Target(f"sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{{{c}}}[{RATE}])) / "
                f"sum by (pod) (rate(container_cpu_cfs_periods_total{{{c}}}[{RATE}]))", "{{pod}}"),), min=0, max=1,
    )
    panels = [cpu, memory, throttling]
    if m.scales:
        hpa = f'{_ns()}, horizontalpodautoscaler="{m.name}"'
        panels.append(PanelSpec(
            "HPA replicas", "Current and desired replicas against the HorizontalPodAutoscaler bounds.", "short",
            (Target(f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}", "current"),
             Target(f"kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}}", "desired"),
             Target(f"kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}}", "min"),
             Target(f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}", "max")), min=0,
        ))
    return Row("Saturation", tuple(panels))


def golden_rows(m: ServiceModel) -> list[Row]:
    return [*_traffic_errors_latency(m), _saturation(m)]


# -- SLO ---------------------------------------------------------------------

def slo_names(m: ServiceModel) -> list[str]:
    return [s.name for s in slo.slos_for(m)]


def _slo_sel(m: ServiceModel, name: str) -> str:
    return f'service="{m.name}", slo="{name}"'


def _slo(m: ServiceModel, name: str) -> Any:
    """The SLO's objective and budget are constants of the answers: the rules record none
    (three environments' rule sets would write the same constant series)."""
    return next(s for s in slo.slos_for(m) if s.name == name)


def _slo_row(m: ServiceModel, name: str) -> Row:
    sel = _slo_sel(m, name)
    live = f"{_ns()}, {sel}"
    window = slo.slo_window(m)
    s = _slo(m, name)
    factors = [w.factor for w in slo.burn_rate_windows(m.slo_window_days)]
    runbooks = tuple((f"Runbook: {a.name}", a.annotations["runbook_url"]) for a in alerts.alerts(m) if a.slo == name)
    sli = PanelSpec(
        f"{name}: SLI", f"Share of good events for the {name} SLO over 5m and over the {window} window; "
        f"threshold line: the objective, {slo.dec(s.objective)}%.",
        "percentunit",
        (Target(f"1 - {SLI_ERROR_RATIO_5M}{{{live}}}", "SLI 5m"),
         Target(f"1 - {sli_error_ratio(window)}{{{live}}}", f"SLI {window}")),
        thresholds=below(s.target), links=runbooks,
    )
    budget = PanelSpec(
        f"{name}: error budget remaining", f"Share of the {window} error budget of the {name} SLO still unspent (below 0: exhausted).",
        "percentunit",
        (Target(f"{BUDGET_REMAINING}{{{live}}}", "remaining"),), kind="stat", max=1,
        thresholds=below(0), links=runbooks,
    )
    burn = PanelSpec(
        f"{name}: burn rates", f"How fast the {name} SLO spends its error budget per window (1 = exactly on budget over {window}); "
        f"threshold lines: the alerts' burn-rate factors {', '.join(slo.dec(f) for f in factors)}.",
        "short",
        tuple(Target(f"{sli_error_ratio(w)}{{{live}}} / {slo.dec(s.budget)}", f"burn {w}")
              for w in (*slo.SLI_WINDOWS, window)),
        min=0, thresholds=above(*factors), links=runbooks,
    )
    return Row(f"SLO {name}", (sli, budget, burn))


def alert_panels(m: ServiceModel) -> list[PanelSpec]:
    """One panel per catalog alert, from Alert.panel (title, expr, unit, optional targets and
    thresholds), scoped to $namespace, with the alert's runbook_url as the panel's link."""
    panels = []
    for alert in alerts.alerts(m):
        p = _panel_fields(alert.panel)
        severity = dict(alert.labels).get("severity", "")
        targets = p["targets"] or ((p["expr"], alert.name),)
        steps = p["thresholds"] or alert_threshold(alert.expr, p["expr"])
        desc = f"What the {alert.name} alert ({severity}) evaluates."
        if steps:
            desc += " Threshold lines: " + ", ".join(label for _, label in steps) + "."
        runbook = dict(alert.annotations).get("runbook_url")
        panels.append(PanelSpec(
            f"{alert.name}: {p['title']}" if p["title"] else alert.name,
            desc, p["unit"] or "short",
            tuple(Target(dashboard_expr(m, e), legend) for e, legend in targets),
            thresholds=above(*(v for v, _ in steps)) if steps else (),
            links=((f"Runbook: {alert.name}", runbook),) if runbook else (),
        ))
    return panels


_COMPARISON = re.compile(r"^(?P<q>.*\S)\s*(?P<op>>=|>|<=|<)\s*(?P<v>-?\d+(?:\.\d+)?)$", re.DOTALL)


def alert_threshold(alert_expr: str, panel_expr: str) -> tuple[tuple[Decimal, str], ...]:
    """The threshold of an alert whose rule is ``<panel query> <op> <number>``: a catalog
    entry without explicit thresholds (a new alert) gets its line from its own rule."""
    hit = _COMPARISON.match(" ".join(alert_expr.split()))
    if not hit or hit.group("q") != " ".join(panel_expr.split()) or not hit.group("op").startswith(">"):
        return ()
    return ((Decimal(hit.group("v")), f"{hit.group('op')} {hit.group('v')}"),)


def dashboard_expr(m: ServiceModel, expr: str) -> str:
    """Adapter from a rule-style query (all environments, fixed ranges) to a panel query:
    one namespace ($namespace) and ranges of $__rate_interval."""
    expr = expr.replace(f'namespace=~"{slo.namespace_regex(m)}"', _ns())
    expr = re.sub(r'\{((?:job|service)="' + re.escape(m.name) + r'")', lambda g: "{" + _ns() + "," + g.group(1), expr)
    return re.sub(r"\[\d+[smhdw]\]", f"[{RATE}]", expr)


def _panel_fields(panel: Any) -> dict[str, Any]:
    get = panel.get if isinstance(panel, dict) else lambda k, d=None: getattr(panel, k, d)
    return {"title": str(get("title", "") or ""), "expr": str(get("expr")), "unit": str(get("unit", "") or ""),
            "targets": tuple(tuple(t) for t in get("targets", ()) or ()),
            "thresholds": tuple((Decimal(str(v)), str(label)) for v, label in get("thresholds", ()) or ())}


def slo_rows(m: ServiceModel) -> list[Row]:
    rows = [_slo_row(m, n) for n in slo_names(m)]
    alerts = alert_panels(m)
    if alerts:
        rows.append(Row("Alerts", tuple(alerts)))
    return rows


# -- building ----------------------------------------------------------------

def rows_for(m: ServiceModel, kind: str) -> list[Row]:
    if kind == "golden":
        return golden_rows(m)
    if kind == "slo":
        return slo_rows(m)
    raise ValueError(f"unknown dashboard kind {kind!r}; expected one of {KINDS}")


def _ds() -> gm.DataSourceRef:
    return gm.DataSourceRef(type_val="prometheus", uid=f"${{{DS_VAR}}}")


def _ref_id(i: int) -> str:
    """A, B, ... Z, AA, AB ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _panel(spec: PanelSpec, panel_id: int, x: int, y: int) -> Any:
    builder = (stat.Panel() if spec.kind == "stat" else timeseries.Panel())
    builder = builder.id(panel_id).title(spec.title).description(spec.description).unit(spec.unit).datasource(_ds())
    builder = builder.grid_pos(gm.GridPos(h=PANEL_H, w=PANEL_W, x=x, y=y))
    if spec.min is not None:
        builder = builder.min(spec.min)
    if spec.max is not None:
        builder = builder.max(spec.max)
    if spec.thresholds:
        steps = [gm.Threshold(value=None if v is None else float(v), color=c) for v, c in spec.thresholds]
        builder = builder.thresholds(gd.ThresholdsConfig().mode(gm.ThresholdsMode.ABSOLUTE).steps(steps))
        if isinstance(builder, timeseries.Panel):  # spec.kind != "stat"
            builder = builder.thresholds_style(gc.GraphThresholdsStyleConfig().mode(gcm.GraphThresholdsStyleMode.LINE))
    if spec.links:
        builder = builder.links([gd.DashboardLink(title).url(url).target_blank(True) for title, url in spec.links])
    for i, t in enumerate(spec.targets):
        builder = builder.with_target(
            prometheus.Dataquery().expr(t.expr).legend_format(t.legend).ref_id(_ref_id(i)).range().datasource(_ds())
        )
    return builder


def _namespace_query(m: ServiceModel) -> str:
    if m.blueprint == "cronjob":
        return f'label_values(kube_cronjob_info{{cronjob="{m.name}"}}, namespace)'
    return f'label_values(kube_deployment_spec_replicas{{deployment="{m.name}"}}, namespace)'


def build(m: ServiceModel, kind: str) -> Any:
    title = {"golden": "golden signals", "slo": "SLOs"}[kind]
    prod_ns = m.production.namespace
    d = (
        gd.Dashboard(f"{m.name}: {title}")
        .uid(m.dashboard_uid(kind))
        .description(f"{m.description} Generated by scaffold from the answers: change them with `copier update`.")
        .tags(["scaffold", m.team, m.name, kind])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .with_variable(
            # No `current`: Grafana then picks the default Prometheus data source.
            gd.DatasourceVariable(DS_VAR).label("Data source").type("prometheus")
        )
        .with_variable(
            gd.QueryVariable(NS_VAR).label("Namespace").datasource(_ds())
            .query(_namespace_query(m))
            .refresh(gm.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(gm.VariableSort.ALPHABETICAL_ASC)
            .regex(f"/^{slo.namespace_regex(m)}$/")
            .current(gm.VariableOption(selected=True, text=prod_ns, value=prod_ns))
        )
    )
    y, panel_id = 0, 0
    for row in rows_for(m, kind):
        panel_id += 1
        d = d.with_row(gd.Row(row.title).id(panel_id).grid_pos(gm.GridPos(h=1, w=GRID_W, x=0, y=y)))
        y += 1
        for i, spec in enumerate(row.panels):
            x = (i % (GRID_W // PANEL_W)) * PANEL_W
            if i and x == 0:
                y += PANEL_H
            panel_id += 1
            d = d.with_panel(_panel(spec, panel_id, x, y))
        y += PANEL_H
    return d.build()


@cached_per_model(maxsize=64)  # the JSON file and its ConfigMap both need it; it grows with every SLO
def to_json(m: ServiceModel, kind: str) -> str:
    """Deterministic: sorted keys, fixed indent, trailing newline."""
    doc = json.loads(json.dumps(build(m, kind), cls=JSONEncoder))
    # The SDK's AnnotationQuery lacks the Prometheus data source's fields (titleFormat, step...).
    doc["annotations"] = {"list": [deploy_annotation(m)]}
    first = next(p for p in doc["panels"] if p.get("type") != "row")
    first["description"] += " " + DEPLOY_NOTE.format(name=m.name)
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def files(m: ServiceModel) -> dict[str, str]:
    """Dashboard file name -> JSON text."""
    return {f"{m.dashboard_uid(k)}.json": to_json(m, k) for k in KINDS}


def _pct(q: str) -> str:
    return format(float(q) * 100, "g")


def configmaps(m: ServiceModel) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard for the Grafana sidecar (label grafana_dashboard: "1")."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    out = []
    for kind in KINDS:
        uid = m.dashboard_uid(kind)
        out.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"{uid}-dashboard",
                "namespace": m.name,  # like every base object; overlays set the real one
                "labels": {**m.labels, "grafana_dashboard": "1"},
                "annotations": {"grafana_folder": m.team},
            },
            "data": {f"{uid}.json": LiteralScalarString(to_json(m, kind))},
        })
    return out


# -- one environment's dashboards ------------------------------------------------
def env_json(m: ServiceModel, kind: str, env: Any) -> str:
    doc = json.loads(to_json(m, kind))
    doc["uid"] = env_dashboard_uid(m, kind, env)
    if not env.production:
        doc["title"] = f"{doc['title']} ({env.name})"
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def overlay_patch_file(kind: str) -> str:
    return f"dashboard-{kind}.patch.yaml"


def overlay_patches(m: ServiceModel, env: Any) -> list[dict[str, Any]]:
    """Kustomize patch entries replacing each dashboard ConfigMap's data with the environment's JSON."""
    return [{"path": overlay_patch_file(kind), "target": {"kind": "ConfigMap", "name": f"{m.dashboard_uid(kind)}-dashboard"}}
            for kind in KINDS]


def overlay_patch_text(m: ServiceModel, env_name: str, kind: str) -> str:
    from ruamel.yaml.scalarstring import LiteralScalarString

    from .. import yamlio

    env = next(e for e in m.environments if e.name == env_name)
    uid = env_dashboard_uid(m, kind, env)
    head = f"# JSON patch (kustomization.yaml): the {env.name} copy of the {kind} dashboard, uid {uid}.\n"
    return head + yamlio.dump(env_data_ops(m, kind, env, LiteralScalarString(env_json(m, kind, env))))


def env_data_ops(m: ServiceModel, kind: str, env: Any, text: Any) -> list[dict[str, Any]]:
    """The base key gives way to the environment's own (one file name per uid in Grafana's
    sidecar folder); any other key a team adds to the ConfigMap stays (issue 22)."""
    base_key, key = f"{m.dashboard_uid(kind)}.json", f"{env_dashboard_uid(m, kind, env)}.json"
    if key == base_key:
        return [{"op": "replace", "path": f"/data/{key}", "value": text}]
    return [{"op": "remove", "path": f"/data/{base_key}"}, {"op": "add", "path": f"/data/{key}", "value": text}]


def env_renamed_keys(m: ServiceModel, env: Any) -> set[tuple[str, str, str]]:
    """(kind, name, path) of the base keys an overlay replaces by design: each dashboard's file name."""
    return {("ConfigMap", f"{m.dashboard_uid(kind)}-dashboard", f"/data/{m.dashboard_uid(kind)}.json")
            for kind in KINDS if env_dashboard_uid(m, kind, env) != m.dashboard_uid(kind)}
