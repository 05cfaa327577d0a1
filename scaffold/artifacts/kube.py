"""The small Kubernetes pieces several manifest builders share: the platform namespaces,
an environment's hostname, a namespace selector and a kustomize JSON patch. k8s.py
composes the base and overlays from them; verify (the Probe), canary and telemetry (the collector) read them
without importing k8s, which imports those areas (imports point down only)."""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from .. import yamlio
from ..model.service import Environment, ServiceModel

Obj = dict[str, Any]

MONITORING_NAMESPACE = "monitoring"
DNS_NAMESPACE = "kube-system"
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def configmap_name(m: ServiceModel) -> str:
    return f"{m.name}-config"


def quantity(value: str) -> Decimal:
    """A quantity the model produced (m, Ki/Mi/Gi or plain) in base units."""
    match = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|Ti)?", value)
    if not match:
        raise ValueError(f"unexpected quantity {value!r}")
    factor = {"m": Decimal("0.001"), "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
              "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40}.get(match.group(2) or "", Decimal(1))
    return Decimal(match.group(1)) * factor


def env_hostname(m: ServiceModel, env: Environment) -> str:
    """Production serves m.hostname; others prefix the env name (if it still fits 253)."""
    if env.production:
        return m.hostname
    host = f"{env.name}.{m.hostname}"
    if len(host) > 253:  # answers.py refuses this; never fall back to production's name
        raise ValueError(f"hostname: {host[:60]}... is longer than 253 characters")
    return host


def from_namespace(ns: str) -> Obj:
    """A NetworkPolicy peer: every pod of namespace ``ns``."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}


def patch(target: Obj, ops: list[Obj]) -> Obj:
    """A kustomize patch of ``target`` made of JSON-patch ``ops``."""
    return {"target": target, "patch": LiteralScalarString(textwrap.dedent(yamlio.dump(ops)))}
