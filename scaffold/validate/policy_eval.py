"""Evaluate Kyverno ClusterPolicy ``validate.pattern`` rules in Python.

No Kyverno CLI installs from PyPI/npm, so this implements the subset of the
pattern language the generated policies use, with Kyverno's semantics:

- maps: every key must exist and match; ``=(key)`` checks only when present;
  ``X(key)`` requires absence; ``(key)`` is a condition: when it does not
  match, the whole map is skipped;
- lists: a map pattern applies to every element; scalar patterns compare
  element-wise (the resource list may be longer);
- strings: ``*``/``?`` wildcards (``?*`` = non-empty), ``a | b`` alternatives,
  ``!x`` negation, and ``>``/``>=``/``<``/``<=`` on numbers;
- booleans and numbers compare by value;
- autogen: Pod rules also apply to the pod templates of Deployment,
  StatefulSet, DaemonSet, ReplicaSet, Job and CronJob.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

Obj = dict[str, Any]

POD_CONTROLLERS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
_ANCHOR = re.compile(r"^(=|X|\^|)\((.+)\)$")


@dataclass(frozen=True)
class Violation:
    policy: str
    rule: str
    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy}/{self.rule}: {self.kind}/{self.name}: {self.path}: {self.message}"


class _Skip(Exception):
    """A conditional anchor did not match: the enclosing map is not checked."""


# -- scalars -------------------------------------------------------------------
def _wildcard(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.S)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _scalar_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _match_string(value: Any, pattern: str) -> bool:
    alternatives = [p.strip() for p in pattern.split("|")] if "|" in pattern else [pattern]
    return any(_match_one(value, alt) for alt in alternatives)


def _match_one(value: Any, pattern: str) -> bool:
    for op in (">=", "<=", ">", "<"):
        if pattern.startswith(op):
            a, b = _number(value), _number(pattern[len(op):].strip())
            if a is None or b is None:
                return False
            return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]
    if pattern.startswith("!"):
        return not _match_one(value, pattern[1:])
    text = _scalar_str(value)
    if text is None:
        return False
    return bool(_wildcard(pattern).match(text))


def _match_scalar(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, str):
        return _match_string(value, pattern)
    if isinstance(pattern, bool):
        return isinstance(value, bool) and value is pattern
    if isinstance(pattern, (int, float)):
        n = _number(value)
        return n is not None and n == Decimal(str(pattern))
    if pattern is None:
        return value is None
    return False


# -- structure -----------------------------------------------------------------
def _anchor(key: str) -> tuple[str, str]:
    m = _ANCHOR.match(key)
    return (m.group(1) or "cond", m.group(2)) if m else ("", key)


def check(value: Any, pattern: Any, path: str = "") -> list[str]:
    """Errors of ``value`` against ``pattern`` (empty: it matches)."""
    try:
        return _check(value, pattern, path)
    except _Skip:
        return []


def _check(value: Any, pattern: Any, path: str) -> list[str]:
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return [f"{path or '/'}: expected a map, got {_show(value)}"]
        return _check_map(value, pattern, path)
    if isinstance(pattern, list):
        if not isinstance(value, list):
            return [f"{path or '/'}: expected a list, got {_show(value)}"]
        return _check_list(value, pattern, path)
    if not _match_scalar(value, pattern):
        return [f"{path or '/'}: {_show(value)} does not match {pattern!r}"]
    return []


def _check_map(value: Obj, pattern: Obj, path: str) -> list[str]:
    # Conditions first: a failed condition skips the whole map (Kyverno semantics).
    for key, pat in pattern.items():
        kind, name = _anchor(key)
        if kind == "cond" and (name not in value or _check(value[name], pat, f"{path}/{name}")):
            raise _Skip
    errors: list[str] = []
    for key, pat in pattern.items():
        kind, name = _anchor(key)
        here = f"{path}/{name}"
        if kind == "cond":
            continue
        if kind == "X":
            if name in value:
                errors.append(f"{here}: must not be set")
            continue
        if name not in value:
            if kind == "=":
                continue
            errors.append(f"{here}: is required")
            continue
        try:
            errors += _check(value[name], pat, here)
        except _Skip:
            continue
    return errors


def _check_list(value: list, pattern: list, path: str) -> list[str]:
    if not pattern:
        return [f"{path}: empty list pattern"]
    errors: list[str] = []
    if isinstance(pattern[0], dict):
        for i, item in enumerate(value):
            try:
                errors += _check(item, pattern[0], f"{path}/{i}")
            except _Skip:
                continue
        return errors
    if len(value) < len(pattern):
        return [f"{path}: {len(value)} element(s), pattern needs {len(pattern)}"]
    for i, pat in enumerate(pattern):
        errors += _check(value[i], pat, f"{path}/{i}")
    return errors


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- rules ---------------------------------------------------------------------
def autogen(pattern: Obj, kind: str) -> Obj | None:
    """The pattern Kyverno generates for a pod controller from a Pod rule."""
    if kind in POD_CONTROLLERS:
        return {"spec": {"template": pattern}}
    if kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": pattern}}}}
    return None


def _matches(rule: Obj, obj: Obj) -> tuple[bool, bool]:
    """(rule applies, via autogen)."""
    kind = obj.get("kind")
    ns = (obj.get("metadata") or {}).get("namespace")
    blocks = (rule.get("match") or {}).get("any") or (rule.get("match") or {}).get("all") or []
    if "resources" in (rule.get("match") or {}):
        blocks = [rule["match"]]
    for block in blocks:
        res = block.get("resources", {})
        namespaces = res.get("namespaces")
        if namespaces and ns not in namespaces:
            continue
        kinds = res.get("kinds", [])
        if kind in kinds:
            return True, False
        if "Pod" in kinds and (kind in POD_CONTROLLERS or kind == "CronJob"):
            return True, True
    return False, False


def evaluate(policy: Obj, obj: Obj) -> tuple[bool, list[Violation]]:
    """(any rule applied, violations) of one object against one ClusterPolicy."""
    applied = False
    out: list[Violation] = []
    meta = obj.get("metadata") or {}
    for rule in policy.get("spec", {}).get("rules", []):
        pattern = (rule.get("validate") or {}).get("pattern")
        if pattern is None:
            continue
        applies, via_autogen = _matches(rule, obj)
        if not applies:
            continue
        applied = True
        effective = autogen(pattern, obj["kind"]) if via_autogen else pattern
        for err in check(obj, effective):
            path, _, msg = err.partition(": ")
            out.append(Violation(policy["metadata"]["name"], rule["name"], obj.get("kind", "?"),
                                 meta.get("name", "?"), path, msg or rule["validate"].get("message", "")))
    return applied, out


def evaluate_all(policies: list[Obj], objects: list[Obj]) -> tuple[int, list[Violation]]:
    """(number of object x policy evaluations that applied, violations)."""
    checked = 0
    violations: list[Violation] = []
    for obj in objects:
        for policy in policies:
            applied, found = evaluate(policy, obj)
            checked += applied
            violations += found
    return checked, violations
