"""scaffold.yamlemit gives ruamel's emitter's bytes: its scalar analysis and literal
writer against ruamel's own, on generated strings and documents (every character class
the analysis tells apart), for both emitter classes and every setting it reads."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml import emitter as ruamel_emitter
from ruamel.yaml.scalarstring import LiteralScalarString

from scaffold import yamlemit, yamlio

pytestmark = pytest.mark.fast

# Every character the analysis or the literal writer treats apart, plus ordinary text.
SPECIALS = list("\0 \t\r\n#,[]{}&*!|>'\"%@`?:-.") + ["\x85", "\u2028", "\u2029", "\ufeff", "\xa0", "\x7f", "\x1b",
                                                     "\ud7ff", "\ue000", "\ufffd", "\U0001f600", "é", "---", "..."]
TEXT = st.lists(st.sampled_from(SPECIALS) | st.text(alphabet="abcXYZ019_/=", min_size=1, max_size=4),
                max_size=14).map("".join)
JSONISH = st.recursive(st.integers(-5, 5) | st.sampled_from(["a", "", "x y"]),
                       lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from("abc"), kids,
                                                                                 max_size=3), max_leaves=12)


def _ruamel_analysis(scalar: str, version: tuple[int, int], allow_unicode: bool, space_break: bool) -> Any:
    em = ruamel_emitter.Emitter(io.StringIO(), allow_unicode=allow_unicode)
    em.dumper = SimpleNamespace(typ="x", serializer=SimpleNamespace(use_version=version))
    em.allow_space_break = space_break
    return em.analyze_scalar(scalar)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.sampled_from([(1, 1), (1, 2), None]), st.booleans(), st.booleans(), st.booleans())
def test_analysis_is_ruamels(scalar: str, version: Any, allow_unicode: bool, supplementary: bool,
                             space_break: bool) -> None:
    want = _ruamel_analysis(scalar, version, allow_unicode, space_break)
    if not supplementary:  # a narrow build's emitter; ruamel's attribute is read, not the build
        em = ruamel_emitter.Emitter(io.StringIO(), allow_unicode=allow_unicode)
        em.dumper = SimpleNamespace(typ="x", serializer=SimpleNamespace(use_version=version))
        em.allow_space_break, em.unicode_supplementary = space_break, False
        want = em.analyze_scalar(scalar)
    got = yamlemit.analyze(scalar, yaml_11=version == (1, 1), allow_unicode=allow_unicode,
                           unicode_supplementary=supplementary, allow_space_break=space_break)
    assert vars(got) == vars(want)


def _dump(data: Any, fast: bool, typ: str = "rt", **options: Any) -> str:
    y = YAML(typ=typ, pure=True)
    if fast:
        y.Emitter = yamlemit.RoundTripEmitter if typ == "rt" else yamlemit.Emitter
    y.default_flow_style = False
    y.width = options.get("width", 4096)
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = options.get("allow_unicode", True)
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def _literals(data: Any) -> Any:
    """Every string becomes a literal block string: the literal writer's own input."""
    if isinstance(data, dict):
        return {k: _literals(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_literals(v) for v in data]
    return LiteralScalarString(data) if isinstance(data, str) else data


DOCS = st.recursive(TEXT | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
                    max_leaves=16)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS, st.booleans(), st.sampled_from(["rt", "safe"]), st.booleans(), st.sampled_from([4096, 20]))
def test_documents_are_ruamels_bytes(data: Any, literal: bool, typ: str, allow_unicode: bool, width: int) -> None:
    if literal:
        data = _literals(data)
    opts = {"allow_unicode": allow_unicode, "width": width}
    try:
        want = _dump(data, False, typ, **opts)
    except Exception as exc:  # noqa: BLE001 - whatever ruamel refuses, the fast emitter refuses alike
        with pytest.raises(type(exc)):
            _dump(data, True, typ, **opts)
        return
    assert _dump(data, True, typ, **opts) == want


@settings(max_examples=300, deadline=None)
@given(JSONISH, st.sampled_from(["", "\n", "\n\n", "\n\n\n"]), st.sampled_from(["", "\n", "  ", " x\n"]))
def test_dashboard_style_literal_blocks_are_ruamels(doc: Any, tail: str, head: str) -> None:
    """The big case: JSON text in a literal block inside a ConfigMap and a patch list."""
    import json

    text = head + json.dumps(doc, indent=2, sort_keys=True) + tail
    for data in ({"data": {"d.json": LiteralScalarString(text)}},
                 [{"op": "add", "path": "/data/x", "value": LiteralScalarString(text)}],
                 [[LiteralScalarString(text)]], {"k": [LiteralScalarString(text), "plain"]}):
        assert _dump(data, True) == _dump(data, False)


def test_yamlio_dump_uses_it_and_keeps_the_bytes() -> None:
    """yamlio's emitter is the fast one, and a dashboard-sized document comes out as ruamel writes it."""
    import json

    doc = {"data": {"x.json": LiteralScalarString(json.dumps({"panels": [{"id": i, "title": f"p {i}"}
                                                                         for i in range(300)]}, indent=2))}}
    assert yamlio._yaml().Emitter is yamlemit.RoundTripEmitter
    y = yamlio._yaml()
    y.Emitter = ruamel_emitter.RoundTripEmitter
    buf = io.StringIO()
    y.dump(yamlio._plain(doc), buf)
    yamlio._DUMPED.clear()
    assert yamlio.dump(doc) == buf.getvalue()
