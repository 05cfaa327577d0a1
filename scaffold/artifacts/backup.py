"""Velero Schedules: one per environment, cadence and retention from
:mod:`scaffold.resilience` (the same numbers docs/disaster-recovery.md states)."""

from __future__ import annotations

from typing import Any

from ..model.service import ServiceModel
from . import resilience

VELERO_NAMESPACE = "velero"
STORAGE_LOCATION = "default"


def schedule(m: ServiceModel, policy: resilience.BackupPolicy) -> dict[str, Any]:
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "metadata": {
            "name": policy.schedule_name,
            "namespace": VELERO_NAMESPACE,
            "labels": {"app.kubernetes.io/name": m.name, "app.kubernetes.io/part-of": m.name,
                       "scaffold.dev/environment": policy.environment, "scaffold.dev/team": m.team},
            "annotations": {"scaffold.dev/rpo": f"{policy.rpo_hours}h",
                            "scaffold.dev/rto": resilience.duration(policy.rto_minutes),
                            "scaffold.dev/retention": f"{policy.retention_days}d"},
        },
        "spec": {
            "schedule": policy.tier.schedule,
            "useOwnerReferencesInBackup": False,
            "template": {
                "includedNamespaces": [policy.namespace],
                # includeClusterResources unset: Velero takes the included namespaces' own
                # Namespace and the cluster-scoped objects they use (their PVs); true would
                # take every cluster-scoped object of the cluster.
                "snapshotVolumes": True,
                "storageLocation": STORAGE_LOCATION,
                "ttl": policy.ttl,
                "metadata": {"labels": {"app.kubernetes.io/name": m.name,
                                        "scaffold.dev/environment": policy.environment}},
            },
        },
    }


def schedules(m: ServiceModel) -> list[dict[str, Any]]:
    return [schedule(m, p) for p in resilience.policies(m)]
