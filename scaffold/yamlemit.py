"""ruamel's pure-Python emitter, with its two per-character loops replaced by string
operations that give the same result.

The emitter decides each scalar's style with ``analyze_scalar``, a Python loop over
every character, and writes a literal block (``|``) with another. Dashboards reach
their ConfigMaps and overlay patches as literal JSON blocks: with 50 extra SLOs those
two loops were a quarter of a render. :class:`Emitter` computes the same analysis
with regular expressions and writes the same literal block line by line; anything
outside the plain case (a document-level literal, another line-break character, an
encoded stream) goes to ruamel's own code. ``tests/test_yamlemit.py`` compares both
on generated scalars and documents, and the golden examples pin every byte.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ruamel.yaml import emitter as _ruamel
from ruamel.yaml.emitter import ScalarAnalysis

_WS = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\n\x85\u2028\u2029"
_ANY_BREAK = re.compile("[\n\x85\u2028\u2029]")
_BREAK_SPACE = re.compile("[\n\x85\u2028\u2029] ")
_SPACE_BREAK = re.compile(" [\n\x85\u2028\u2029]")
_FLOW_INSIDE = re.compile(r"[,\[\]{}]")
_COLON_THEN_WS = re.compile(":(?:[\0 \t\r\n\x85\u2028\u2029]|\\Z)")
_WS_THEN_HASH = re.compile("[\0 \t\r\n\x85\u2028\u2029]#")
_LEADING_INDICATORS = "#,[]{}&*!|>'\"%@`"
# Characters that make a scalar "special" (double-quoted only): all but a line feed and
# printable ASCII, unless unicode is allowed, which admits NEL and the printable BMP and
# supplementary planes, never the byte-order mark.
_SPECIAL_ASCII = re.compile("[^\n\x20-\x7e]")
_SPECIAL_UNICODE = re.compile("[^\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd]|\ufeff")
_SPECIAL_UNICODE_SUPPLEMENTARY = re.compile("[^\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|\ufeff")
_LINES = re.compile("(\n+)")


def analyze(scalar: str, *, yaml_11: bool, allow_unicode: bool, unicode_supplementary: bool,
            allow_space_break: bool) -> ScalarAnalysis:
    """``ruamel.yaml.emitter.Emitter.analyze_scalar``, by whole-string searches."""
    if not scalar:
        return ScalarAnalysis(scalar=scalar, empty=True, multiline=False, allow_flow_plain=False,
                              allow_block_plain=True, allow_single_quoted=True, allow_double_quoted=True,
                              allow_block=False)
    block_indicators = flow_indicators = scalar.startswith("---") or scalar.startswith("...")
    first = scalar[0]
    first_followed_by_ws = len(scalar) == 1 or scalar[1] in _WS
    if first in _LEADING_INDICATORS:
        flow_indicators = block_indicators = True
    if first in "?:":
        if yaml_11 or len(scalar) == 1:
            flow_indicators = True
        if first_followed_by_ws:
            block_indicators = True
    if first == "-" and first_followed_by_ws:
        flow_indicators = block_indicators = True
    if _FLOW_INSIDE.search(scalar, 1) or (yaml_11 and scalar.find("?", 1) != -1):
        flow_indicators = True
    if _COLON_THEN_WS.search(scalar, 1) or _WS_THEN_HASH.search(scalar):
        flow_indicators = block_indicators = True

    line_breaks = _ANY_BREAK.search(scalar) is not None
    if not allow_unicode:
        special = _SPECIAL_ASCII
    else:
        special = _SPECIAL_UNICODE_SUPPLEMENTARY if unicode_supplementary else _SPECIAL_UNICODE
    special_characters = special.search(scalar) is not None
    leading_space, trailing_space = first == " ", scalar[-1] == " "
    leading_break, trailing_break = first in _BREAKS, scalar[-1] in _BREAKS
    break_space = _BREAK_SPACE.search(scalar) is not None
    space_break = _SPACE_BREAK.search(scalar) is not None

    # From here on, ruamel's own decisions, in its order.
    allow_flow_plain = allow_block_plain = allow_single_quoted = allow_double_quoted = allow_block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        allow_flow_plain = allow_block_plain = False
    if trailing_space:
        allow_block = False
    if break_space:
        allow_flow_plain = allow_block_plain = allow_single_quoted = False
    if special_characters:
        allow_flow_plain = allow_block_plain = allow_single_quoted = allow_block = False
    elif space_break:
        allow_flow_plain = allow_block_plain = allow_single_quoted = False
        if not allow_space_break:
            allow_block = False
    if line_breaks:
        allow_flow_plain = allow_block_plain = False
    if flow_indicators:
        allow_flow_plain = False
    if block_indicators:
        allow_block_plain = False
    return ScalarAnalysis(scalar=scalar, empty=False, multiline=line_breaks, allow_flow_plain=allow_flow_plain,
                          allow_block_plain=allow_block_plain, allow_single_quoted=allow_single_quoted,
                          allow_double_quoted=allow_double_quoted, allow_block=allow_block)


if TYPE_CHECKING:  # a mixin: it is typed as the emitter it is mixed into
    _Base = _ruamel.Emitter
else:
    _Base = object


class _Fast(_Base):
    """The two loops, for any ruamel emitter class it is mixed into."""

    def analyze_scalar(self, scalar: Any) -> Any:
        if not isinstance(scalar, str):  # pragma: no cover - ruamel only passes text
            return super().analyze_scalar(scalar)
        return analyze(scalar, yaml_11=self.serializer.use_version == (1, 1), allow_unicode=bool(self.allow_unicode),
                       unicode_supplementary=bool(self.unicode_supplementary),
                       allow_space_break=bool(self.allow_space_break))

    def write_literal(self, text: Any, comment: Any = None) -> None:
        if (self.root_context or self.encoding or not isinstance(text, str) or not text
                or "\x85" in text or "\u2028" in text or "\u2029" in text):
            return super().write_literal(text, comment)
        hints, _indent, indicator = self.determine_block_hints(text)
        self.write_indicator("|" + hints + (comment if isinstance(comment, str) else ""), True)
        if indicator == "+":
            self.open_ended = True
        self.write_line_break()
        # ruamel's loop: a run of line feeds is written as that many breaks once the next
        # line starts (then the indent), a line as it is, and a last line without its own
        # line feed gets one.
        parts = _LINES.split(text)  # line, breaks, line, ..., line (the first and last may be "")
        pending = 0
        for i, part in enumerate(parts):
            if i % 2:
                pending = len(part)
            elif part:
                for _ in range(pending):
                    self.write_line_break()
                pending = 0
                self.write_indent()
                self.stream.write(part)
        if parts[-1]:
            self.write_line_break()
        else:
            for _ in range(pending):
                self.write_line_break()


class Emitter(_Fast, _ruamel.Emitter):
    """``YAML(typ="safe", pure=True).Emitter``."""


class RoundTripEmitter(_Fast, _ruamel.RoundTripEmitter):
    """``YAML(typ="rt").Emitter`` (round-trip dumping has no C emitter)."""
