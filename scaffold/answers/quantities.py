"""Kubernetes resource quantities, parsed exactly so comparisons never drift."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}
_QTY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", re.ASCII)
# cpu: cores; memory: bytes. Bounds keep typos (1000Gi of RAM per pod) out.
_BOUNDS = {"cpu": (Decimal("0.001"), Decimal(64)), "memory": (Decimal(2) ** 20, Decimal(2) ** 40)}


def parse(value: Any, kind: str) -> Decimal | None:
    """Return the quantity in base units (cores or bytes), or None when invalid."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    m = _QTY.fullmatch(str(value))  # no strip: "100m\n" would reach the manifest as typed
    if not m:
        return None
    suffix = m.group(2) or ""
    if kind == "memory" and suffix == "m":
        return None  # millibytes are legal to the API server and always a typo
    amount = Decimal(m.group(1)) * _SUFFIX[suffix]
    lo, hi = _BOUNDS[kind]
    return amount if lo <= amount <= hi else None


def parse_valid(value: Any, kind: str) -> Decimal:
    """:func:`parse` of a quantity already checked (an accepted answer, the model's own): never None."""
    parsed = parse(value, kind)
    if parsed is None:
        raise AssertionError(f"{kind} quantity {value!r} was accepted but does not parse")
    return parsed


def format_cpu(cores: Decimal) -> str:
    """Cores as millicores, the form kubectl prints."""
    return f"{int((cores * 1000).to_integral_value())}m"


def format_memory(nbytes: Decimal) -> str:
    """Bytes as the largest binary suffix that divides exactly, else Mi rounded up."""
    for suffix in ("Gi", "Mi", "Ki"):
        unit = _SUFFIX[suffix]
        if nbytes % unit == 0:
            return f"{int(nbytes / unit)}{suffix}"
    return f"{int(-(-nbytes // _SUFFIX['Mi']))}Mi"
