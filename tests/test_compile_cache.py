"""The template compile cache (scaffold.templating._memoize_compile) is shared by every
environment of a process with the same settings (copier update builds three, the fleet
one per service), and by no environment whose settings would compile differently."""

from __future__ import annotations

from types import CodeType

import pytest
from jinja2 import TemplateAssertionError
from jinja2.sandbox import SandboxedEnvironment

from scaffold import templating

pytestmark = pytest.mark.fast

SOURCE = "{% for x in items %}{{ x | upper }}{% if loop.last %}.{% endif %}{% endfor %}{{ name | slugify }}"


class Counting(SandboxedEnvironment):
    calls = 0

    def compile(self, *args, **kwargs):  # type: ignore[override]
        Counting.calls += 1
        return super().compile(*args, **kwargs)


def _env(**options) -> Counting:
    env = Counting(**options)
    env.filters["slugify"] = templating.slugify
    templating._memoize_compile(env)  # what install() does last
    return env


@pytest.fixture(autouse=True)
def _empty_cache():
    templating._COMPILED.clear()
    Counting.calls = 0
    yield
    templating._COMPILED.clear()


def _filenames(code: CodeType) -> set[str]:
    out = {code.co_filename}
    for c in code.co_consts:
        if isinstance(c, CodeType):
            out |= _filenames(c)
    return out


def test_environments_with_the_same_settings_compile_a_source_once():
    a, b = _env(), _env()
    ta = a.from_string(SOURCE)
    tb = b.from_string(SOURCE)
    assert Counting.calls == 1
    args = {"items": ["a", "b"], "name": "Pay Ments"}
    assert ta.render(**args) == tb.render(**args) == "AB.pay-ments"


def test_a_hit_for_another_clones_file_is_labelled_with_its_own_file():
    a, b = _env(), _env()
    first = a.compile(SOURCE, "README.md.jinja", "/tmp/clone-1/README.md.jinja")
    second = b.compile(SOURCE, "README.md.jinja", "/tmp/clone-2/README.md.jinja")
    assert Counting.calls == 1
    assert _filenames(first) == {"/tmp/clone-1/README.md.jinja"}
    assert _filenames(second) == {"/tmp/clone-2/README.md.jinja"}
    assert _filenames(b.compile(SOURCE)) == {"<template>"}


@pytest.mark.parametrize("options", [
    {"block_start_string": "[%", "block_end_string": "%]"},
    {"trim_blocks": True},
    {"keep_trailing_newline": True},
    {"extensions": ["jinja2.ext.loopcontrols"]},
])
def test_different_settings_compile_apart(options):
    source = "[% if x %]y[% endif %]\n{% if x %}z{% endif %}\n"
    plain, other = _env(), _env(**options)
    plain.from_string(source)
    other.from_string(source)
    assert Counting.calls == 2
    assert plain.from_string(source).render(x=1) == _uncached(source, {}).render(x=1)
    assert other.from_string(source).render(x=1) == _uncached(source, options).render(x=1)


def test_a_filter_one_environment_lacks_is_still_refused_there():
    with_filter = _env()
    with_filter.filters["shout"] = str.upper
    assert with_filter.from_string("{{ 'a' | shout }}").render() == "A"
    without = _env()
    with pytest.raises(TemplateAssertionError, match="shout"):
        without.from_string("{{ 'a' | shout }}")


def _uncached(source: str, options: dict):
    env = SandboxedEnvironment(**options)
    env.filters["slugify"] = templating.slugify
    return env.from_string(source)
