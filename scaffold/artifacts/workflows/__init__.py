"""GitHub workflows (being split into modules by workflow family)."""

from .cd import *  # noqa: F403
from .cd import _ESLINT_SARIF  # noqa: F401
