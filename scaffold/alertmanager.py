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

SECRETS_DIR = "/etc/alertmanager/secrets"
GROUP_BY = ["alertname", "service", "slo"]
# Severity -> tier is fixed by the alert contract: critical pages, warning files a ticket.
TIER_OF = {"critical": "page", "warning": "ticket"}
# Pages: short group_wait so the first page is fast; re-notify hourly while firing.
PAGE_TIMING = {"group_wait": "10s", "group_interval": "5m", "repeat_interval": "1h"}
# Tickets: batch more, re-notify twice a day at most.
TICKET_TIMING = {"group_wait": "1m", "group_interval": "15m", "repeat_interval": "12h"}
ROOT_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def receiver_names(m: Any) -> dict[str, str]:
    """Tier -> receiver name."""
    return {"page": f"{m.team}-pager", "ticket": f"{m.team}-ticket"}


def secret_name(m: Any) -> str:
    return f"{m.name}-alertmanager"


def secret_files(m: Any) -> dict[str, str]:
    """What the receivers read: key in the secret -> mounted path."""
    base = f"{SECRETS_DIR}/{secret_name(m)}"
    return {
        "pagerduty-routing-key": f"{base}/pagerduty-routing-key",
        "slack-webhook-url": f"{base}/slack-webhook-url",
    }


def _receivers(m: Any) -> list[dict[str, Any]]:
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


def _route(m: Any) -> dict[str, Any]:
    names = receiver_names(m)
    return {
        # Anything without a known severity still reaches a human, as a ticket.
        "receiver": names["ticket"],
        "group_by": list(GROUP_BY),
        **ROOT_TIMING,
        "routes": [
            {"receiver": names["page"], "matchers": ['severity="critical"'], **PAGE_TIMING},
            {"receiver": names["ticket"], "matchers": ['severity="warning"'], **TICKET_TIMING},
        ],
    }


def inhibit_rules(m: Any) -> list[dict[str, Any]]:
    """``equal`` treats a missing label as equal to a missing label, so the tier
    rule requires ``slo`` on both sides: a page without an SLO (CrashLooping)
    must not silence every ticket without one."""
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["service", "alertname"],
        },
        {
            "source_matchers": ['tier="page"', 'slo=~".+"'],
            "target_matchers": ['tier="ticket"', 'slo=~".+"'],
            "equal": ["service", "slo"],
        },
    ]


def config(m: Any) -> dict[str, Any]:
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


def route_cases(m: Any) -> list[RouteCase]:
    """One case per severity/tier, one for an unlabelled alert, and one per catalog alert."""
    names = receiver_names(m)
    base = {"service": m.name, "team": m.team}
    cases = [
        RouteCase("critical pages", {**base, "alertname": "Example", "severity": "critical", "tier": "page"}, names["page"]),
        RouteCase("warning files a ticket", {**base, "alertname": "Example", "severity": "warning", "tier": "ticket"}, names["ticket"]),
        RouteCase("no severity falls back to a ticket", {**base, "alertname": "Example"}, names["ticket"]),
    ]
    for alert in m.alerts:
        labels = {"alertname": alert.name, **{str(k): str(v) for k, v in dict(alert.labels).items()}}
        tier = TIER_OF.get(labels.get("severity", ""), "ticket")
        cases.append(RouteCase(f"alert {alert.name}", labels, names[tier]))
    return cases


def route_tests(m: Any) -> dict[str, Any]:
    """The document written to observability/alertmanager/routes.test.yaml."""
    return {"tests": [c.as_dict() for c in route_cases(m)]}
