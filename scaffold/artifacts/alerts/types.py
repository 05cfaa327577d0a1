"""What an alert is: its rule, runbook sections, panel, backlog criteria and promtool test
cases (:class:`Alert`, :class:`Case`), and the constants the families share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ...conventions import PAGE, TICKET

CPU_THROTTLING_RATIO = Decimal("0.25")
CRON_MISSED_PERIODS = 2  # a CronJob with no success for this many schedule periods alerts
# No `for:` on pages: both windows already agree, and 2 more minutes of a full outage
# is 2.3% -> 6.9% of a 30-day budget. Tickets wait 15m so a blip does not open one.
BURN_FOR = {PAGE: "0m", TICKET: "15m"}
SLI_ABSENT_FOR = "10m"
# Test traffic per minute is at least 10^4: errors/total are exact decimals, and
# the low-traffic guard (MIN_BAD_EVENTS in the long window) passes within a minute.
MIN_TEST_TOTAL_DIGITS = 4
FIRE_AT = 20  # minutes: past every `for:` of the SLO alerts


@dataclass(frozen=True)
class Case:
    """One promtool test group: input series, an eval time and the expected alerts."""

    fires: bool
    why: str
    interval: str
    input_series: tuple[dict[str, str], ...]
    eval_time: str
    exp_alerts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    tier: str
    slo: str | None
    expr: str
    for_: str
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook: dict[str, str]  # meaning, impact, diagnosis, mitigation, escalation (markdown)
    # title, expr, unit (Grafana unit id); optional targets ((expr, legend), ...) when the panel plots
    # more than one query, and thresholds ((value, label), ...) drawn as lines
    panel: dict[str, Any]
    backlog_criteria: tuple[str, ...]
    tests: tuple[Case, ...] = field(default=())

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_ not in ("0m", "0s"):
            out["for"] = self.for_
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out
