"""Alertmanager policy: route tree, receivers, inhibition and the route test cases.

The config is built here as data and emitted with ``to_yaml``; the template is
one line. Secrets are read from files (Prometheus Operator mounts an
Alertmanager secret at ``/etc/alertmanager/secrets/<secret>/<key>``), checked
against amtool 0.25: pagerduty ``routing_key_file`` and slack ``api_url_file``
are accepted; webhook ``url_file`` is not (it arrived in later releases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model.service import ServiceModel
from . import alerts

SECRETS_DIR = "/etc/alertmanager/secrets"
# namespace: the same alert in dev and in prod are two incidents, never one notification.
GROUP_BY = ["alertname", "namespace", "service", "slo"]
# Severity -> tier is fixed by the alert contract: critical pages, warning files a ticket.
TIER_OF = {"critical": "page", "warning": "ticket"}
# Pages: short group_wait so the first page is fast; re-notify hourly while firing.
PAGE_TIMING = {"group_wait": "10s", "group_interval": "5m", "repeat_interval": "1h"}
# Tickets: batch more, re-notify twice a day at most.
TICKET_TIMING = {"group_wait": "1m", "group_interval": "15m", "repeat_interval": "12h"}
ROOT_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def receiver_names(m: ServiceModel) -> dict[str, str]:
    """Tier -> receiver name."""
    return {"page": f"{m.team}-pager", "ticket": f"{m.team}-ticket"}


def secret_name(m: ServiceModel) -> str:
    return f"{m.name}-alertmanager"


def secret_files(m: ServiceModel) -> dict[str, str]:
    """What the receivers read: key in the secret -> mounted path."""
    base = f"{SECRETS_DIR}/{secret_name(m)}"
    return {
        "pagerduty-routing-key": f"{base}/pagerduty-routing-key",
        "slack-webhook-url": f"{base}/slack-webhook-url",
    }


def _receivers(m: ServiceModel) -> list[dict[str, Any]]:
    names = receiver_names(m)
    files = secret_files(m)
    return [
        {
            "name": names["page"],
            "pagerduty_configs": [{
                "routing_key_file": files["pagerduty-routing-key"],
                "send_resolved": True,
                "severity": "critical",
                "description": '{{ .CommonAnnotations.summary }}',
                "details": {
                    "service": "{{ .CommonLabels.service }}",
                    "slo": "{{ .CommonLabels.slo }}",
                    "runbook_url": "{{ .CommonAnnotations.runbook_url }}",
                    "dashboard_url": "{{ .CommonAnnotations.dashboard_url }}",
                    "firing": "{{ .Alerts.Firing | len }}",
                },
            }],
        },
        {
            "name": names["ticket"],
            "slack_configs": [{
                "api_url_file": files["slack-webhook-url"],
                "channel": f"#{m.team}-alerts",
                "send_resolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})",
                "text": "{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}",
                "actions": [
                    {"type": "button", "text": "Runbook", "url": "{{ .CommonAnnotations.runbook_url }}"},
                    {"type": "button", "text": "Dashboard", "url": "{{ .CommonAnnotations.dashboard_url }}"},
                ],
            }],
        },
    ]


def non_production_namespaces(m: ServiceModel) -> list[str]:
    return [e.namespace for e in m.environments if not e.production]


def _route(m: ServiceModel) -> dict[str, Any]:
    """Only production pages (docs/incident-response.md: non-production is SEV4). A critical
    alert from another environment's namespace files a ticket; one without a namespace
    label still pages, so a page is never lost to a missing label."""
    names = receiver_names(m)
    routes = []
    if others := non_production_namespaces(m):
        routes.append({"receiver": names["ticket"],
                       "matchers": ['severity="critical"', f'namespace=~"{"|".join(others)}"'], **TICKET_TIMING})
    routes += [
        {"receiver": names["page"], "matchers": ['severity="critical"'], **PAGE_TIMING},
        {"receiver": names["ticket"], "matchers": ['severity="warning"'], **TICKET_TIMING},
    ]
    return {
        # Anything without a known severity still reaches a human, as a ticket.
        "receiver": names["ticket"],
        "group_by": list(GROUP_BY),
        **ROOT_TIMING,
        "routes": routes,
    }


def inhibit_rules(m: ServiceModel) -> list[dict[str, Any]]:
    """A page silences the tickets of the same SLO in the same namespace only: a dev page
    must not hide a prod ticket. ``equal`` treats a missing label as equal to a missing
    label, so both sides require ``slo`` and ``namespace``: a page without an SLO
    (TargetDown) must not silence every ticket without one. (Every catalog alert has one
    severity, so a critical->warning rule on the same alertname could never match.)"""
    return [
        {
            "source_matchers": ['tier="page"', 'slo=~".+"', 'namespace=~".+"'],
            "target_matchers": ['tier="ticket"', 'slo=~".+"', 'namespace=~".+"'],
            "equal": ["namespace", "service", "slo"],
        },
    ]


def config(m: ServiceModel) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": _route(m),
        "receivers": _receivers(m),
        "inhibit_rules": inhibit_rules(m),
    }


@dataclass(frozen=True)
class RouteCase:
    name: str
    labels: dict[str, str]
    receiver: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "labels": dict(self.labels), "receivers": [self.receiver]}


def receiver_for(m: ServiceModel, labels: dict[str, str]) -> str:
    """The receiver the policy wants for an alert: pages only from production (or no namespace)."""
    names = receiver_names(m)
    tier = TIER_OF.get(labels.get("severity", ""), "ticket")
    if tier == "page" and labels.get("namespace") in non_production_namespaces(m):
        tier = "ticket"
    return names[tier]


def route_cases(m: ServiceModel) -> list[RouteCase]:
    """One case per severity/tier, one for an unlabelled alert, one per catalog alert in
    production, and one page per other environment (it must not reach the pager)."""
    base = {"service": m.name, "team": m.team}
    prod = m.production.namespace
    raw = [
        ("critical pages", {**base, "alertname": "Example", "severity": "critical", "tier": "page", "namespace": prod}),
        ("critical without a namespace still pages", {**base, "alertname": "Example", "severity": "critical", "tier": "page"}),
        ("warning files a ticket", {**base, "alertname": "Example", "severity": "warning", "tier": "ticket", "namespace": prod}),
        ("no severity falls back to a ticket", {**base, "alertname": "Example"}),
    ]
    for env in m.environments:
        if not env.production:
            raw.append((f"a page in {env.name} files a ticket",
                        {**base, "alertname": "Example", "severity": "critical", "tier": "page", "namespace": env.namespace}))
    for alert in alerts.alerts(m):
        raw.append((f"alert {alert.name}", {"alertname": alert.name, "namespace": prod,
                                            **{str(k): str(v) for k, v in dict(alert.labels).items()}}))
    return [RouteCase(name, labels, receiver_for(m, labels)) for name, labels in raw]


def route_tests(m: ServiceModel) -> dict[str, Any]:
    """The document written to observability/alertmanager/routes.test.yaml."""
    return {"tests": [c.as_dict() for c in route_cases(m)]}
