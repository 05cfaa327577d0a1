"""The optional ``slos`` answer: extra SLOs for endpoints and dependencies.

Each item is a mapping::

    - name: checkout          # DNS-1123 label, unique, not availability/latency
      objective: 99.5         # percent, 90 <= x < 100
      # either a ratio of two PromQL selectors ...
      error_query: sum(rate(http_requests_total{route="/checkout",code=~"5.."}[{{window}}]))
      total_query: sum(rate(http_requests_total{route="/checkout"}[{{window}}]))
      # ... or a latency threshold on the service's own histogram
      latency_ms: 500

Queries are single-line PromQL with a ``{{window}}`` placeholder for the range.
"""

from __future__ import annotations

import re
from typing import Any

from .values import DNS_LABEL, percent, printable, show

WINDOW_PLACEHOLDER = "{{window}}"
_QUERY_FORBIDDEN = re.compile(r"[^ -~]|`|\{%|\$\{\{", re.ASCII)  # printable ASCII only
_PAIRS = {")": "(", "]": "[", "}": "{"}
RESERVED = ("availability", "latency")
MAX_EXTRA = 60


def check_query(q: Any) -> str | None:
    if not isinstance(q, str) or not 1 <= len(q) <= 500:
        return f"must be a PromQL string of 1-500 characters; got {show(q)}"
    if _QUERY_FORBIDDEN.search(q):
        return f"must be one line of printable-ASCII PromQL without backticks or template markers; got {show(q)}"
    if q.count(WINDOW_PLACEHOLDER) < 1:
        return f"must use the {WINDOW_PLACEHOLDER} placeholder for the rate range; got {show(q)}"
    if q.replace(WINDOW_PLACEHOLDER, "").count("{{") or q.count("}}") != q.count(WINDOW_PLACEHOLDER):
        return f"may use no template marker but {WINDOW_PLACEHOLDER}; got {show(q)}"
    if err := nesting_error(q.replace(WINDOW_PLACEHOLDER, "5m")):
        return f"{err}; got {show(q)}"
    return None


def nesting_error(q: str) -> str | None:
    """Brackets must nest and quotes must close, outside string literals: counting
    them lets ``a}{b`` or ``"}"`` through. promtool parses the whole rule file
    at validate time; this is the answer-time guard."""
    stack: list[str] = []
    quote = ""
    escaped = False
    for c in q:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "([{":
            stack.append(c)
        elif c in ")]}":
            if not stack or stack.pop() != _PAIRS[c]:
                return f"has a {c!r} that closes nothing open"
    if quote:
        return f"has an unclosed {quote} string"
    if stack:
        return f"has an unclosed {stack[-1]!r}"
    return None


def check_extra_slos(value: Any) -> str | None:
    """'' semantics as the other rules: None when fine, else what is allowed."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or len(value) > MAX_EXTRA:
        return f"must be a list of at most {MAX_EXTRA} SLO mappings; got {show(value)}"
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"item {i + 1}"
        if not isinstance(item, dict):
            return f"{where} must be a mapping with name, objective and queries or latency_ms; got {show(item)}"
        unknown = set(item) - {"name", "objective", "error_query", "total_query", "latency_ms", "description"}
        if unknown:
            return f"{where} has unknown keys {sorted(unknown)}; allowed: name, objective, error_query, total_query, latency_ms, description"
        name = item.get("name")
        if not isinstance(name, str) or not DNS_LABEL.fullmatch(name) or not 2 <= len(name) <= 30:
            return f"{where}.name must be a DNS-1123 label of 2-30 characters; got {show(name)}"
        if name in RESERVED or name in seen:
            return f"{where}.name {name!r} is reserved or used twice"
        seen.add(name)
        obj = percent(item.get("objective"))
        if obj is None or not 90 <= obj < 100 or int(obj.as_tuple().exponent) < -4:
            return f"{where}.objective must be a percentage, 90 <= x < 100; got {show(item.get('objective'))}"
        has_ratio = "error_query" in item or "total_query" in item
        has_latency = "latency_ms" in item
        if has_ratio == has_latency:
            return f"{where} needs either error_query and total_query, or latency_ms (not both)"
        if has_ratio:
            for key in ("error_query", "total_query"):
                if err := check_query(item.get(key)):
                    return f"{where}.{key} {err}"
        else:
            ms = item.get("latency_ms")
            if isinstance(ms, bool) or not isinstance(ms, int) or not 1 <= ms <= 60000:
                return f"{where}.latency_ms must be a whole number from 1 to 60000; got {show(ms)}"
        desc = item.get("description", "")
        if (not isinstance(desc, str) or len(desc) > 200 or not printable(desc) or "`" in desc
                or any(mark in desc for mark in ("{{", "{%", "${{"))):
            return f"{where}.description must be one line of at most 200 characters; got {show(desc)}"
    return None
