"""Prometheus' Go-template expansion, emulated for the few forms annotations use, so the
tests can predict the exact annotations an alert fires with.
"""

from __future__ import annotations

import re


# -- Prometheus template expansion, to predict exact annotations in tests ----
def _g4(v: float) -> str:
    return "%.4g" % v


def humanize_duration(v: float) -> str:
    """Prometheus' humanizeDuration."""
    if v == 0:
        return f"{_g4(v)}s"
    if abs(v) >= 1:
        sign, v = ("-", -v) if v < 0 else ("", v)
        d = int(v)
        s, mi, h, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {h}h {mi}m {s}s"
        if h:
            return f"{sign}{h}h {mi}m {s}s"
        if mi:
            return f"{sign}{mi}m {s}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


_TEMPLATE = re.compile(r"\{\{ (\$labels\.(\w+)|\$value(?: \| (humanizePercentage|humanizeDuration|printf \"%\.0f\"))?) \}\}")


def expand(template: str, labels: dict[str, str], value: float) -> str:
    """Expand the few Go-template forms the catalog uses, like Prometheus does."""
    def one(mt: re.Match[str]) -> str:
        if mt.group(2):
            return labels.get(mt.group(2), "")
        fn = mt.group(3)
        if fn == "humanizePercentage":
            return f"{_g4(value * 100)}%"
        if fn == "humanizeDuration":
            return humanize_duration(value)
        if fn:
            return "%.0f" % value
        return str(int(value)) if value == int(value) else repr(value)

    return _TEMPLATE.sub(one, template)
