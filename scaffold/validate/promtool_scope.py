"""Which rules a promtool unit test can observe, so each test is evaluated with those only.

``promtool test rules`` evaluates every rule of every group at every step of every test,
though a test only reads the alerts it names (``alert_rule_test``), the expressions it
queries (``promql_expr_test``) and, through them, the recording rules those read. The rules
outside that closure cannot change what a test sees: a rule reads series by name, a
recorded series exists only through its ``record`` rule, and promtool reports nothing about
an alert a test does not name. So the checker gives each test a copy of the rule files cut
to its closure (groups, their options and their order kept), which gives the same result as
the whole files for a fraction of the evaluations (a test of one pod alert evaluates one
rule instead of the package's 39).

The closure is over-approximated on purpose: every identifier-like word of a rule (its
expression, labels and annotations, where a template may ``query``) counts as a series it
reads. Where a name cannot be known from the text, nothing is cut: a rule or query that
reads ``ALERTS``/``ALERTS_FOR_STATE`` (alerts feeding rules) or selects on ``__name__``
(a regex over names), or rule files that are not plain ``groups:`` of ``rules:``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
OPAQUE = frozenset({"ALERTS", "ALERTS_FOR_STATE", "__name__"})  # names a rule reads without naming them

RuleId = tuple[int, int, int]  # (file, group, rule)


def words(value: Any) -> set[str]:
    """Every identifier-like word of a value (strings of a mapping or list included)."""
    if isinstance(value, str):
        return set(NAME.findall(value))
    if isinstance(value, dict):
        return set().union(*(words(k) | words(v) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(words(v) for v in value)) if value else set()
    return set()


@dataclass(frozen=True)
class Rules:
    """The rule files of one test file, indexed for closures."""

    docs: tuple[dict[str, Any], ...]
    reads: dict[RuleId, frozenset[str]]
    records: dict[str, tuple[RuleId, ...]]
    alerts: dict[str, tuple[RuleId, ...]]

    @classmethod
    def index(cls, docs: Sequence[Any]) -> Rules | None:
        """None when some file is not plain groups of rules, or a rule reads names opaquely."""
        reads: dict[RuleId, frozenset[str]] = {}
        records: dict[str, list[RuleId]] = {}
        alerts: dict[str, list[RuleId]] = {}
        for f, doc in enumerate(docs):
            groups = doc.get("groups") if isinstance(doc, dict) else None
            if not isinstance(groups, list):
                return None
            for g, group in enumerate(groups):
                rules = group.get("rules") if isinstance(group, dict) else None
                if not isinstance(rules, list) or not isinstance(group.get("name"), str):
                    return None
                for r, rule in enumerate(rules):
                    if not isinstance(rule, dict) or not isinstance(rule.get("expr"), str):
                        return None
                    said = words({k: v for k, v in rule.items() if k not in ("record", "alert")})
                    if said & OPAQUE:
                        return None
                    reads[(f, g, r)] = frozenset(said)
                    if isinstance(rule.get("record"), str):
                        records.setdefault(rule["record"], []).append((f, g, r))
                    elif isinstance(rule.get("alert"), str):
                        alerts.setdefault(rule["alert"], []).append((f, g, r))
                    else:
                        return None
        return cls(tuple(docs), reads, {k: tuple(v) for k, v in records.items()},
                   {k: tuple(v) for k, v in alerts.items()})

    def closure(self, test: Any) -> frozenset[RuleId] | None:
        """The rules one test can observe; None when its queries read names opaquely."""
        if not isinstance(test, dict):
            return None
        keep: set[RuleId] = set()
        want: set[str] = set()
        for case in test.get("alert_rule_test") or []:
            if isinstance(case, dict) and isinstance(case.get("alertname"), str):
                keep.update(self.alerts.get(case["alertname"], ()))
        for case in test.get("promql_expr_test") or []:
            want |= words(case.get("expr") if isinstance(case, dict) else None)
        if want & OPAQUE:
            return None
        frontier = set(keep)
        for rid in frontier:
            want |= self.reads[rid]
        seen: set[str] = set()
        while want - seen:
            name = (want - seen).pop()
            seen.add(name)
            for rid in self.records.get(name, ()):
                if rid not in keep:
                    keep.add(rid)
                    want |= self.reads[rid]
        return frozenset(keep)

    def cut(self, keep: frozenset[RuleId]) -> list[dict[str, Any]]:
        """The rule documents with only ``keep`` (empty groups dropped, order and options kept)."""
        out = []
        for f, doc in enumerate(self.docs):
            groups = []
            for g, group in enumerate(doc["groups"]):
                rules = [rule for r, rule in enumerate(group["rules"]) if (f, g, r) in keep]
                if rules:
                    groups.append({**group, "rules": rules})
            out.append({**doc, "groups": groups})
        return out

    def group_names(self, keep: frozenset[RuleId] | None = None) -> set[str]:
        return {group["name"] for f, doc in enumerate(self.docs) for g, group in enumerate(doc["groups"])
                if keep is None or any((f, g, r) in keep for r in range(len(group["rules"])))}


def scoped_eval_order(order: Any, rules: Rules, keep: frozenset[RuleId]) -> Any:
    """``group_eval_order`` without the groups cut away (names it had that never existed stay,
    so promtool says about them what it would have said)."""
    if not isinstance(order, list):
        return order
    cut = rules.group_names() - rules.group_names(keep)
    return [name for name in order if name not in cut]
