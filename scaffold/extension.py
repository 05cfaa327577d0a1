"""The Copier Jinja extension named in ``copier.yml`` (``_jinja_extensions``).

It is the installed half of the loader contract (see ``scaffold.loader``): it
finds the template checkout that this Copier render reads (the root of the
environment's loader), imports *that checkout's* generator code under a private
name, and lets it install the globals and filters the templates use. A tag is
therefore always rendered by its own code, whichever scaffold is installed.
"""

from __future__ import annotations

from typing import Any

from jinja2.ext import Extension

from . import loader


def template_root(environment: Any) -> str | None:
    """The template root of a Copier environment (its loader's first search path)."""
    paths = getattr(getattr(environment, "loader", None), "searchpath", None)
    return str(paths[0]) if paths else None


class ScaffoldExtension(Extension):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        loader.entry(template_root(environment)).install_jinja(environment)
