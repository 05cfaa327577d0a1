"""YAML in and out through ruamel.yaml, never by hand-quoting.

User values reach manifests only through :func:`dump` / :func:`scalar`, so a
name or description can never open a new key, document or anchor.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter


def _represent_decimal(representer: RoundTripRepresenter, value: Decimal) -> Any:
    text = format(value.normalize(), "f")
    return representer.represent_scalar("tag:yaml.org,2002:float", text if "." in text else text + ".0")


def _yaml(typ: str = "rt") -> YAML:
    y = YAML(typ=typ, pure=True)
    y.default_flow_style = False
    y.width = 4096  # never fold long PromQL or descriptions
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(Decimal, _represent_decimal)
    return y


def dump(data: Any) -> str:
    """A block-style YAML document, without the trailing document marker."""
    buf = io.StringIO()
    _yaml().dump(_plain(data), buf)
    return buf.getvalue()


def scalar(value: Any) -> str:
    """One value as an inline YAML scalar/flow node, safe to place after `key: `."""
    y = _yaml()
    y.default_flow_style = True
    buf = io.StringIO()
    y.dump(_plain(value), buf)
    text = buf.getvalue()
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    return text.strip()


def load(text: str) -> Any:
    return _yaml("safe").load(text)


def load_all(text: str) -> list[Any]:
    return [d for d in _yaml("safe").load_all(text) if d is not None]


def load_file(path: Path) -> Any:
    return load(Path(path).read_text(encoding="utf-8"))


def iter_documents(path: Path) -> Iterator[Any]:
    yield from load_all(Path(path).read_text(encoding="utf-8"))


def _plain(data: Any) -> Any:
    """Tuples and mapping proxies become lists and dicts the emitter knows."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data
