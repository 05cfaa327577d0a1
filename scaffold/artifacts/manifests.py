"""``k8s/base`` as data: one :class:`Manifest` per base manifest, in kustomization order.

This table is the only list of base manifests. Everything that needs one reads it:

* the template: ``blueprints/package/k8s/base/{% yield name from
  sc.manifests.base_files(scaffold_model()) %}{{ name }}{% endyield %}.jinja``
  renders each present entry (its comment line, then its objects; or its ``layout`` partial);
* ``scaffold.k8s.base_resources`` (so ``kustomization.yaml`` lists it);
* the backlog plan (``scaffold.tasks``: an entry no unit claims gets its own unit);
* ``scaffold explain`` (template, builder and answers of a generated file).

Adding a base manifest is two edits: its builder (a function of the model that
returns the objects) and one entry here. CONTRIBUTING.md shows both.

Builders are named ``"<module>.<function>"`` as templates reach them (``sc.k8s.deployment``),
so this module imports none of them: it sits below every area it lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# How a file's objects are laid out. The yield file itself lays out most: an optional comment
# line, then the objects, '---' between them. Another layout is a partial of the top-level k8s/:
CONFIGMAPS = "k8s/configmaps.yaml.j2"  # a comment line, then each object led by '---', emitted plain

TEMPLATE = "blueprints/package/k8s/base/{% yield name from sc.manifests.base_files(scaffold_model()) %}" \
           "{{ name }}{% endyield %}.jinja"


def _always(m: Any) -> bool:
    return True


@dataclass(frozen=True)
class Manifest:
    """One file of ``k8s/base``.

    ``builder`` is ``"<module>.<function>"``: a function of the model returning one
    object, a list of objects, or YAML text already emitted through ``scaffold.yamlio``.
    ``when`` decides whether this package ships the file. ``task`` titles its backlog
    unit when ``scaffold.tasks.UNITS`` has no entry of its own for it."""

    file: str
    builder: str
    when: Callable[[Any], bool] = _always
    comment: str = ""  # the file's first line, a YAML comment (no leading '# ')
    layout: str = ""  # a layout partial (CONFIGMAPS), or '' for the yield file's own
    task: str = ""

    @property
    def path(self) -> str:
        return f"k8s/base/{self.file}"


def _monitor(kind: str) -> Callable[[Any], bool]:
    def when(m: Any) -> bool:
        return bool(_sc("prometheus").monitor_kind(m) == kind)
    when.__qualname__ = f"monitor_kind(m) == {kind!r}"
    return when


BASE: tuple[Manifest, ...] = (
    Manifest("namespace.yaml", "k8s.namespace_objects"),
    Manifest("serviceaccount.yaml", "k8s.service_account"),
    Manifest("rbac.yaml", "k8s.rbac_objects"),
    Manifest("configmap.yaml", "k8s.config_map"),
    Manifest("externalsecret.yaml", "k8s.external_secret_objects"),
    Manifest("networkpolicy.yaml", "k8s.network_policies"),
    Manifest("cronjob.yaml", "k8s.cron_job", when=lambda m: m.workload_kind == "CronJob"),
    # canary too: the Rollout's workloadRef points at it, so scanners still see the pods
    Manifest("deployment.yaml", "k8s.deployment", when=lambda m: m.workload_kind == "Deployment"),
    Manifest("service.yaml", "k8s.services", when=lambda m: m.has_http),
    Manifest("hpa.yaml", "k8s.hpa", when=lambda m: m.scales),
    Manifest("pdb.yaml", "k8s.pdb", when=lambda m: m.scales),
    Manifest("httproute.yaml", "k8s.http_route", when=lambda m: m.has_route and m.ingress == "gateway"),
    Manifest("ingress.yaml", "k8s.ingress", when=lambda m: m.has_route and m.ingress != "gateway"),
    # observability: a ConfigMap per dashboard, PrometheusRule, Service/PodMonitor
    Manifest("grafana-dashboards.yaml", "dashboards.configmaps", layout=CONFIGMAPS,
             comment='Grafana dashboards for the sidecar (label grafana_dashboard: "1"); '
                     "the JSON of observability/grafana/dashboards/."),
    Manifest("prometheusrule.yaml", "prometheus.prometheus_rule_text"),
    Manifest("servicemonitor.yaml", "prometheus.monitor", when=_monitor("ServiceMonitor")),
    Manifest("podmonitor.yaml", "prometheus.monitor", when=_monitor("PodMonitor")),
    # delivery: Argo Rollouts canary with SLO analysis
    Manifest("rollout.yaml", "canary.rollout", when=lambda m: m.canary,
             comment="Argo Rollouts canary over the Deployment (workloadRef); SLO analysis aborts it."),
    Manifest("analysistemplate.yaml", "canary.analysis_templates", when=lambda m: m.canary,
             comment="Canary analysis on the SLO's own SLI recording rules (observability/prometheus)."),
    Manifest("otel-collector.yaml", "telemetry.objects",
             comment="OpenTelemetry Collector, a gateway per namespace: the app exports OTLP here; "
                     "its backends are the traces_endpoint and logs_endpoint answers."),
    # post-deploy: the synthetic probe of the live URL
    Manifest("probe.yaml", "verify.probe", when=lambda m: m.has_http,
             comment="Synthetic probe of the live URL (blackbox exporter); SyntheticProbeFailing alerts on it; "
                     "its URL and interval follow the hostname and environments answers."),
)

BY_FILE: dict[str, Manifest] = {e.file: e for e in BASE}
assert len(BY_FILE) == len(BASE), "a k8s/base file is listed twice in scaffold.manifests.BASE"


def _sc(module: str) -> Any:
    """A sibling artifact module by name (``k8s``, ``prometheus``, ...), imported on first use:
    the builders' modules import this table, so it cannot import them at the top."""
    import importlib

    return importlib.import_module(f"{__package__}.{module}")


def builder(entry: Manifest) -> Callable[[Any], Any]:
    module, _, func = entry.builder.rpartition(".")
    return getattr(_sc(module), func)  # type: ignore[no-any-return]


def present(m: Any) -> list[Manifest]:
    """The entries this package ships, in kustomization order."""
    return [e for e in BASE if e.when(m)]


def base_files(m: Any) -> list[str]:
    """The files of ``k8s/base`` (kustomization.yaml aside), in kustomization order."""
    return [e.file for e in present(m)]


def entry(name: str) -> Manifest:
    return BY_FILE[name]


def documents(m: Any, entry: Manifest) -> Any:
    """What the layout partial emits: a list of objects, or YAML text as the builder made it."""
    out = builder(entry)(m)
    if isinstance(out, (str, list)):
        return out
    return [out]
