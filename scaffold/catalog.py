"""The alert catalog. (Issue 4 fills this in.)"""

from __future__ import annotations

from typing import Any


def alerts_for(model: Any) -> list[Any]:
    return []
