"""Cron schedules exactly as a Kubernetes CronJob reads them (robfig/cron
``ParseStandard``): five fields with real ranges, names for months and days,
``*``/``?``, ranges, steps and lists, or one of the ``@`` descriptors.
``99 99 99 99 99`` has five fields and is not a schedule."""

from __future__ import annotations

import re

DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# (name, low, high, names, '?' allowed)
FIELDS: tuple[tuple[str, int, int, dict[str, int], bool], ...] = (
    ("minute", 0, 59, {}, False),
    ("hour", 0, 23, {}, False),
    ("day of month", 1, 31, {}, True),
    ("month", 1, 12, _MONTHS, False),
    ("day of week", 0, 6, _DAYS, True),
)
_ITEM = re.compile(r"(?P<range>\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?", re.ASCII)


def _value(text: str, lo: int, hi: int, names: dict[str, int]) -> int | None:
    if re.fullmatch(r"[0-9]{1,2}", text, re.ASCII):
        n = int(text)
    elif text.lower() in names:
        n = names[text.lower()]
    else:
        return None
    return n if lo <= n <= hi else None


def field_error(text: str, index: int) -> str | None:
    name, lo, hi, names, question = FIELDS[index]
    allowed = f"{lo}-{hi}" + (" or names" if names else "")
    for item in text.split(","):
        m = _ITEM.fullmatch(item)
        if not m:
            return f"{name} {item!r} is not a value, range, step or list"
        rng, step = m.group("range"), m.group("step")
        if step is not None and not 1 <= int(step) <= hi - lo + 1:
            return f"{name} step {step!r} must be from 1 to {hi - lo + 1}"
        if rng in ("*", "?"):
            if rng == "?" and not question:
                return f"{name} cannot be '?'"
            continue
        parts = rng.split("-")
        values = [_value(p, lo, hi, names) for p in parts]
        if any(v is None for v in values):
            return f"{name} {rng!r} is outside {allowed}"
        first, last = values[0], values[-1]
        if len(values) == 2 and first is not None and last is not None and first > last:
            return f"{name} range {rng!r} runs backwards"
    return None


def error(schedule: object) -> str | None:
    """None when Kubernetes would accept the schedule, else what is wrong."""
    if not isinstance(schedule, str) or len(schedule) > 100:
        return "must be text of at most 100 characters"
    if schedule in DESCRIPTORS:
        return None
    if not re.fullmatch(r"[ -~]+", schedule, re.ASCII):
        return "must be printable ASCII"
    fields = schedule.split(" ")
    if len(fields) != 5 or any(not f for f in fields):
        return "must be five fields separated by single spaces (minute hour day-of-month month day-of-week)"
    for i, f in enumerate(fields):
        if err := field_error(f, i):
            return err
    return None
