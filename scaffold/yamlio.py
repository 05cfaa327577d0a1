"""YAML in and out through ruamel.yaml, never by hand-quoting.

User values reach manifests only through :func:`dump` / :func:`scalar`, so a
name or description can never open a new key, document or anchor.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import BaseRepresenter, RoundTripRepresenter, SafeRepresenter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tag import Tag

from . import yamlemit

_STR = "tag:yaml.org,2002:str"
_YAML11 = VersionedResolver(version=(1, 1))


@lru_cache(maxsize=8192)
def _not_a_string_in_yaml11(value: str) -> bool:
    """Kubernetes, kustomize and Helm read YAML 1.1 (sigs.k8s.io/yaml): there a
    plain ``yes``, ``off``, ``y`` or ``1_000`` is a bool or number, although
    ruamel's YAML 1.2 emitter leaves it unquoted. A service or team named
    ``yes`` must stay a string."""
    return str(_YAML11.resolve(ScalarNode, value, (True, False))) != _STR


def _represent_decimal(representer: BaseRepresenter, value: Decimal) -> Any:
    text = format(value.normalize(), "f")
    return representer.represent_scalar("tag:yaml.org,2002:float", text if "." in text else text + ".0")


_TAGS: dict[str, Tag] = {}


def _shared(tag: Any) -> Any:
    if not isinstance(tag, str):
        return tag
    found = _TAGS.get(tag)
    if found is None:
        found = _TAGS[tag] = Tag(suffix=tag)
    return found


class _Representer:
    """What both emitters share. One Tag object per tag string: ruamel builds a
    Tag per node and decodes its URI char by char on every read, a third of the
    dump time for the big rule and dashboard documents (only ruamel's parser
    mutates a Tag, never its dumper, so sharing is safe). And strings YAML 1.1
    would not read as strings are single-quoted."""

    def represent_scalar(self, tag: Any, value: Any, style: Any = None, anchor: Any = None) -> Any:
        return super().represent_scalar(_shared(tag), value, style, anchor)  # type: ignore[misc]

    def represent_sequence(self, tag: Any, sequence: Any, flow_style: Any = None) -> Any:
        return super().represent_sequence(_shared(tag), sequence, flow_style)  # type: ignore[misc]

    def represent_mapping(self, tag: Any, mapping: Any, flow_style: Any = None) -> Any:
        return super().represent_mapping(_shared(tag), mapping, flow_style)  # type: ignore[misc]

    def represent_str(self, value: str) -> Any:
        if _not_a_string_in_yaml11(value):
            return self.represent_scalar(_STR, value, style="'")
        return super().represent_str(value)  # type: ignore[misc]


class _RoundTrip(_Representer, RoundTripRepresenter):
    pass


class _Safe(_Representer, SafeRepresenter):
    def represent_literal(self, value: LiteralScalarString) -> Any:
        return self.represent_scalar(_STR, str(value), style="|")


# registered on private subclasses: ruamel's add_representer is class-wide, and
# workflows.py keeps the stock round-trip representer (its `on:` key stays plain)
for _cls in (_RoundTrip, _Safe):
    _cls.add_representer(str, _cls.represent_str)
    _cls.add_representer(Decimal, _represent_decimal)
_Safe.add_representer(LiteralScalarString, _Safe.represent_literal)


def _yaml(typ: str = "rt") -> YAML:
    y = YAML(typ=typ, pure=True)
    if typ == "rt":
        y.Representer = _RoundTrip
        y.Emitter = yamlemit.RoundTripEmitter  # same bytes, without ruamel's per-character loops
    y.default_flow_style = False
    y.width = 4096  # never fold long PromQL or descriptions
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def dump(data: Any) -> str:
    """A block-style YAML document, without the trailing document marker.

    Memoised on the data's value (types included): ruamel's round-trip emitter is pure
    Python, a third of a render, and `copier update` renders the new version twice (a
    scratch copy and the project), the same documents with the same answers."""
    try:
        key = _key(data)
        found = _DUMPED.get(key)
    except TypeError:  # an unhashable scalar: no memo
        key = found = None
    if found is not None:
        return found
    buf = io.StringIO()
    _yaml().dump(_plain(data), buf)
    text = buf.getvalue()
    if key is not None:
        if len(_DUMPED) >= _DUMPED_MAX:
            _DUMPED.clear()
        _DUMPED[key] = text
    return text


_DUMPED: dict[Any, str] = {}
_DUMPED_MAX = 4096


def _key(data: Any) -> Any:
    """What :func:`dump` output depends on, as a hashable value: the shape :func:`_plain`
    gives, and each scalar's type (a literal block string, a Decimal, True vs 1) and value
    (a float by its repr: 0.0 == -0.0 but they print apart)."""
    if isinstance(data, dict):
        return ("d", *((str(k), _key(v)) for k, v in data.items()))
    if isinstance(data, (list, tuple)):
        return ("l", *(_key(v) for v in data))
    if type(data) is float:
        return (float, repr(data))
    return (type(data), data)


def dump_plain(data: Any) -> str:
    """Block YAML through ruamel's safe dumper: C-accelerated with ruamel.yaml.clib
    (the pure emitter gives the same bytes). Keeps key order; sequences are not
    indented under their key. For big generated documents (rule and test files)."""
    buf = io.StringIO()
    _safe_yaml().dump(_plain(data), buf)
    return buf.getvalue()


def _safe_yaml() -> YAML:
    y = YAML(typ="safe", pure=False)
    y.Representer = _Safe
    y.default_flow_style = False
    y.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # ruamel annotates this bool switch as None
    y.width = 4096
    y.allow_unicode = True
    return y


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


def _c_safe() -> YAML | None:
    """ruamel's safe loader on libyaml (ruamel.yaml.clib), YAML 1.2 resolution kept; one per
    thread (a YAML object keeps its reader while it loads; validate runs checkers in threads)."""
    found: YAML | bool | None = getattr(_LOCAL, "yaml", False)
    if found is False:
        try:
            from ruamel.yaml.main import CParser
        except ImportError:  # pragma: no cover - clib is a dependency of ruamel.yaml on CPython
            CParser = None
        found = _LOCAL.yaml = YAML(typ="safe", pure=False) if CParser is not None else None
    return found if isinstance(found, YAML) else None  # False (not made yet) was replaced above


_LOCAL = threading.local()


def load(text: str) -> Any:
    """One YAML document. Parsed by libyaml (6x faster: every checker reads the package's
    YAML); a document libyaml refuses is parsed again by the pure parser, so an error is
    the same exception, message and line as before (tests/test_yamlio_fast.py)."""
    fast = _c_safe()
    if fast is not None:
        try:
            return fast.load(text)
        except Exception:  # noqa: BLE001 - re-raised below by the reference parser
            _LOCAL.yaml = False  # a fresh loader next time
    return _yaml("safe").load(text)


class UnsafeAnswers(ValueError):
    """Answers YAML that uses anchors, aliases or merge keys, or is too big."""


MAX_ANSWERS_BYTES = 1024 * 1024  # the 50-SLO answers file is ~20 KB


def load_answers(text: str) -> Any:
    """Answers YAML: plain data only. Anchors, aliases and merge keys are refused
    before anything is built (a 321-byte alias bomb expands to gigabytes when a
    value is walked), and so is a document over MAX_ANSWERS_BYTES."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, MappingStartEvent, ScalarEvent

    if len(text) > MAX_ANSWERS_BYTES:
        raise UnsafeAnswers(f"is larger than {MAX_ANSWERS_BYTES // 1024} KiB")
    frames: list[list[bool]] = []  # per open collection: [is_mapping, next node is a key]
    for event in _yaml("safe").parse(text):
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise UnsafeAnswers("must not use YAML anchors or aliases (&name, *name)")
        if isinstance(event, (ScalarEvent, CollectionStartEvent)):
            if frames and frames[-1][0]:
                if frames[-1][1] and isinstance(event, ScalarEvent) and event.value == "<<" and not event.style:
                    raise UnsafeAnswers("must not use YAML merge keys (<<)")
                frames[-1][1] = not frames[-1][1]
            if isinstance(event, CollectionStartEvent):
                frames.append([isinstance(event, MappingStartEvent), True])
        elif isinstance(event, CollectionEndEvent):
            frames.pop()
    return load(text)


def load_all(text: str) -> list[Any]:
    fast = _c_safe()
    if fast is not None:
        try:
            return [d for d in fast.load_all(text) if d is not None]
        except Exception:  # noqa: BLE001 - the pure parser raises its own error below
            _LOCAL.yaml = False
    return [d for d in _yaml("safe").load_all(text) if d is not None]


class FileParseError(YAMLError):
    """A file that does not parse as YAML: its path, the 1-based line and the problem.
    A ruamel ``YAMLError``, so callers catching that still catch it; the validation
    runner turns it into a finding naming the file (never a crash)."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = Path(path), line, problem
        super().__init__(f"{path}{f':{line}' if line else ''}: does not parse as YAML: {problem}")


def _parse_error(path: Path, exc: YAMLError) -> FileParseError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None and getattr(mark, "line", None) is not None else None
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or exc.__class__.__name__
    return FileParseError(path, line, str(problem))


def load_file(path: Path) -> Any:
    try:
        return load(Path(path).read_text(encoding="utf-8"))
    except FileParseError:
        raise
    except YAMLError as exc:
        raise _parse_error(path, exc) from None


def load_all_file(path: Path) -> list[Any]:
    """``load_all`` of a file; a parse error names the file (FileParseError)."""
    try:
        return load_all(Path(path).read_text(encoding="utf-8"))
    except FileParseError:
        raise
    except YAMLError as exc:
        raise _parse_error(path, exc) from None


def iter_documents(path: Path) -> Iterator[Any]:
    yield from load_all_file(path)


def _plain(data: Any) -> Any:
    """Tuples and mapping proxies become lists and dicts the emitter knows."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data
