"""Answer-level value checks that every answer module shares: the DNS label
pattern, percentages parsed decimal-exactly, printable text and the bounded
rendering of a user value in an error message. Imports nothing of scaffold's,
so rules.py and slo_spec.py both build on it without importing each other."""

from __future__ import annotations

import re
import reprlib
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z", re.ASCII)

_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxtuple, _SHOW.maxset = 2, 4, 4, 4, 4
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 60, 60, 40


def show(value: Any) -> str:
    """A short, inert rendering of a user value for error messages. Bounded walk:
    a YAML alias bomb (one object shared a billion times) never gets expanded."""
    text = _SHOW.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def printable(text: str) -> bool:
    """No control, format (bidi overrides), surrogate or private-use character,
    and no line or paragraph separator (U+2028/U+2029, NEL is a control)."""
    return not any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in text)


def percent(value: Any) -> Decimal | None:
    """Parse a percentage decimal-safely (99.9 stays 99.9, never 99.90000000000001)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and not re.fullmatch(r"[+-]?[0-9]+(?:\.[0-9]+)?", value, re.ASCII):
        return None  # Decimal() would take "\uff19\uff19.9" and surrounding whitespace
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None
