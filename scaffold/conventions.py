"""Names that more than one layer spells: the app container, its ports, alert
severities and dashboard uids. Imports nothing of scaffold's, so any module may
import it (the import-linter contract in pyproject.toml keeps it at the bottom).

Generated files read these names; changing one changes output everywhere it is
used, which is the point of having one definition.
"""

from __future__ import annotations

from typing import Protocol

# The app's container in every pod template, and what dashboards and alerts select on.
CONTAINER = "app"
PORT_NAME = "http"
METRICS_PORT_NAME = "metrics"  # the Service/container port the monitors scrape; no route points at it

# Alert tier -> the Alertmanager severity label.
PAGE, TICKET = "page", "ticket"
SEVERITY = {PAGE: "critical", TICKET: "warning"}

# The dashboards every service has; each has a uid per environment.
DASHBOARD_KINDS = ("golden", "slo")


class _Ports(Protocol):
    """What :func:`metrics_port_name` reads of a ServiceModel (this module imports none of ours)."""

    @property
    def port(self) -> int: ...
    @property
    def metrics_port(self) -> int: ...


class _Named(Protocol):
    """What :func:`env_dashboard_uid` reads of a ServiceModel."""

    @property
    def name(self) -> str: ...
    def dashboard_uid(self, kind: str) -> str: ...


class _Env(Protocol):
    """What :func:`env_dashboard_uid` reads of an Environment."""

    @property
    def name(self) -> str: ...
    @property
    def production(self) -> bool: ...


def metrics_port_name(m: _Ports) -> str:
    """The named port the ServiceMonitor/PodMonitor scrapes (the app port when
    metrics share it)."""
    return METRICS_PORT_NAME if m.metrics_port != m.port else PORT_NAME


def env_dashboard_uid(m: _Named, kind: str, env: _Env) -> str:
    """Production keeps the base uid (the links in docs, Backstage and prod alerts); every other
    environment gets its own, so three overlays in one Grafana do not overwrite one dashboard."""
    if env.production:
        return m.dashboard_uid(kind)
    return f"{m.name[: 38 - len(kind) - len(env.name)].rstrip('-')}-{kind}-{env.name}"


# Recording rules, named as Sloth names them: the SLI's 5m rates, its error ratio per
# window and the budget left. Rules, alerts, dashboards, canaries and `scaffold try`
# all spell them through these.
SLI_TOTAL_RATE5M = "slo:sli_total:rate5m"
SLI_ERROR_RATE5M = "slo:sli_error:rate5m"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"


def sli_error_ratio(window: str) -> str:
    """The recorded error ratio of an SLI over ``window`` (``5m``, ``1h``, ``30d``)."""
    return f"slo:sli_error:ratio_rate{window}"


SLI_ERROR_RATIO_5M = sli_error_ratio("5m")
