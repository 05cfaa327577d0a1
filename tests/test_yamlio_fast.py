"""yamlio.load/load_all parse with libyaml (issue #21: every checker reads the package's
YAML); they must give exactly what the pure parser gives, types included, and the
pure parser's own error for a document either refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from scaffold import yamlio


def _pure_all(text: str) -> list:
    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]


def _typed(value):
    """A canonical form that tells True from 1 and 1.0 from 1 (== would not)."""
    return json.dumps(value, default=lambda v: f"{type(v).__name__}:{v}",
                      sort_keys=True) + "|" + repr(_types(value))


def _types(value):
    if isinstance(value, dict):
        return {str(k): (type(k).__name__, _types(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


TRICKY = [
    "a: yes\nb: no\nc: on\nd: 0o17\ne: 017\nf: 1_000\ng: 0x1f\nh: .inf\ni: -.nan\nj: ~\nk: 2024-01-02\n",
    "t: 2001-12-14t21:59:43.10-05:00\nu: 1e3\nv: 1.0\nw: '1'\nx: !!str 3\ny: !!binary aGVsbG8=\n",
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
    "- |\n  literal\n   kept\n- >\n  folded\n  text\n- \"esc\\u00e9\\t\"\n",
    "%YAML 1.1\n---\na: 1\n",
    "---\na: 1\n---\n---\nb: [1, 2, {c: d}]\n...\n",
    "key: \"unicode ☃ é\"\nempty: ''\nnull_key: null\n? complex\n: value\n",
]
BROKEN = [
    "a: [1, 2\n",
    "a: 1\n a: 2\n",
    "a:\n\t- tab\n",
    "a: 1\na: 2\n",  # duplicate key: ruamel's constructor refuses it
    "- a\nb: c\n",
    "x: *undefined\n",
    "%YAML 1.2\n---\na: 1\n",
]


@pytest.mark.fast
@pytest.mark.parametrize("text", TRICKY)
def test_fast_loader_matches_the_pure_parser(text):
    assert _typed(yamlio.load_all(text)) == _typed(_pure_all(text))


@pytest.mark.fast
@pytest.mark.parametrize("text", BROKEN)
def test_fast_loader_raises_the_pure_parsers_error(text):
    try:
        expected = ("ok", _typed(_pure_all(text)))
    except Exception as exc:  # noqa: BLE001
        expected = ("error", type(exc).__name__, str(exc))
    try:
        got = ("ok", _typed(yamlio.load_all(text)))
    except Exception as exc:  # noqa: BLE001
        got = ("error", type(exc).__name__, str(exc))
    assert got == expected


def test_every_yaml_file_of_a_package_parses_the_same(default_package: Path):
    files = [p for p in default_package.rglob("*") if p.suffix in (".yaml", ".yml") and ".git" not in p.parts]
    assert len(files) > 30
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert _typed(yamlio.load_all(text)) == _typed(_pure_all(text)), path


@pytest.mark.fast
def test_dump_memo_tells_apart_what_prints_apart():
    from decimal import Decimal

    from ruamel.yaml.scalarstring import LiteralScalarString

    cases = [{"a": 1}, {"a": True}, {"a": 1.0}, {"a": -0.0}, {"a": 0.0}, {"a": "1"}, {"a": Decimal("1.5")},
             {"a": LiteralScalarString("x\ny\n")}, {"a": "x\ny\n"}, {"a": [1, 2]}, {"a": (1, 2)}, {"a": {"l": 1}},
             {"a": ["l", 1]}, {1: "a"}, {"1": "a"}]
    fresh = []
    for data in cases:
        yamlio._DUMPED.clear()
        fresh.append(yamlio.dump(data))
    assert [yamlio.dump(data) for data in cases] == fresh  # memoised, all in one table now
    assert [yamlio.dump(data) for data in cases] == fresh
    assert len({yamlio._key(d) for d in cases}) == len(cases) - 2  # tuple == list, int key == its str, as printed
    assert fresh[3] != fresh[4] and fresh[1] != fresh[0] and fresh[7] != fresh[8]
