"""Backlog.md on disk (being split into format, lock and sync)."""

from .format import *  # noqa: F403
from .format import _rel  # noqa: F401
