"""Backup and recovery policy per environment: one source for the Velero
schedules (resilience/) and docs/disaster-recovery.md.

Production is strictest; the environment promoted into production
(pre-production) is next; every other environment shares the lab tier.
RPO is the backup interval (the most cluster state a restore can lose).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model.service import ServiceModel


@dataclass(frozen=True)
class Tier:
    name: str
    schedule: str  # cron, UTC
    interval_hours: int  # between two backups == RPO
    retention_days: int
    rto_minutes: int  # target time to restore service
    drill: str  # how often a restore is rehearsed


PRODUCTION = Tier("production", "0 */6 * * *", 6, 30, 60, "monthly")
PRE_PRODUCTION = Tier("pre-production", "0 2 * * *", 24, 14, 240, "quarterly")
LAB = Tier("lab", "0 3 * * *", 24, 7, 1440, "on demand")


@dataclass(frozen=True)
class BackupPolicy:
    environment: str
    namespace: str
    tier: Tier
    schedule_name: str

    @property
    def rpo_hours(self) -> int:
        return self.tier.interval_hours

    @property
    def rto_minutes(self) -> int:
        return self.tier.rto_minutes

    @property
    def retention_days(self) -> int:
        return self.tier.retention_days

    @property
    def ttl(self) -> str:
        """Velero Schedule ``spec.template.ttl`` (a Go duration)."""
        return f"{self.tier.retention_days * 24}h0m0s"

    @property
    def backups_kept(self) -> int:
        return self.tier.retention_days * 24 // self.tier.interval_hours


def tier_for(m: ServiceModel, env: Any) -> Tier:
    if env.production:
        return PRODUCTION
    if env.name == m.production.previous:
        return PRE_PRODUCTION
    return LAB


def schedule_name(m: ServiceModel, env: Any) -> str:
    return f"{m.name}-{env.name}"


def policies(m: ServiceModel) -> list[BackupPolicy]:
    """One policy per environment, in promotion order."""
    return [BackupPolicy(e.name, e.namespace, tier_for(m, e), schedule_name(m, e)) for e in m.environments]


def duration(minutes: int) -> str:
    """60 -> '1 h', 90 -> '1 h 30 min', 1440 -> '24 h'."""
    h, mins = divmod(minutes, 60)
    if not h:
        return f"{mins} min"
    return f"{h} h" + (f" {mins} min" if mins else "")
