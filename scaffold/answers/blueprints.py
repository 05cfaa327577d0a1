"""The blueprint definitions (``scaffold/data/blueprints.yml``), typed.

A blueprint is data, not a folder: every blueprint renders the one tree
``blueprints/package/``, and the model's facts below (``ServiceModel.workload_kind``,
``has_http``, ``scales``, ...) decide which of its files a package ships and what
they hold. This module imports nothing of scaffold's, so answers and model can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).parent.parent / "data" / "blueprints.yml"
WORKLOADS = ("Deployment", "CronJob")
MONITORS = ("ServiceMonitor", "PodMonitor", "none")
DELIVERIES = ("canary", "rolling")


@dataclass(frozen=True)
class Blueprint:
    name: str
    help: str
    workload: str  # Deployment | CronJob
    http: bool  # a Service, a route, the probe, a separate metrics port, HTTP SLOs
    scales: bool  # HPA and PDB
    monitor: str  # ServiceMonitor | PodMonitor | none
    delivery: tuple[str, ...]  # accepted delivery answers; the first is the default
    throughput_per_core: int


def _load(path: Path) -> dict[str, Blueprint]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path}: expected a mapping of blueprint name -> definition")
    out: dict[str, Blueprint] = {}
    fields = set(Blueprint.__dataclass_fields__) - {"name"}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) != fields:
            raise ValueError(f"{path}: {name}: needs exactly {', '.join(sorted(fields))}")
        bp = Blueprint(name=str(name), help=str(spec["help"]), workload=spec["workload"], http=spec["http"],
                       scales=spec["scales"], monitor=spec["monitor"], delivery=tuple(spec["delivery"]),
                       throughput_per_core=spec["throughput_per_core"])
        if bp.workload not in WORKLOADS or bp.monitor not in MONITORS:
            raise ValueError(f"{path}: {name}: workload is one of {', '.join(WORKLOADS)}, "
                             f"monitor one of {', '.join(MONITORS)}")
        if not bp.delivery or not set(bp.delivery) <= set(DELIVERIES):
            raise ValueError(f"{path}: {name}: delivery is a non-empty list of {', '.join(DELIVERIES)}")
        if not all(isinstance(v, bool) for v in (bp.http, bp.scales)) or not isinstance(bp.throughput_per_core, int):
            raise ValueError(f"{path}: {name}: http and scales are true/false, throughput_per_core a whole number")
        out[bp.name] = bp
    return out


DEFINITIONS: dict[str, Blueprint] = _load(DATA)
NAMES: tuple[str, ...] = tuple(DEFINITIONS)


def get(name: str) -> Blueprint:
    """The definition of a valid blueprint name (answers.RULES checked it)."""
    return DEFINITIONS[name]
