"""Copier's interactive prompts, made to guide: errors that name the problem,
lead with an example and fit the terminal, and comma-separated lists.

Copier answers every answer it cannot parse with "Invalid input" (a YAML typo,
``http`` for a port), prefixes validator messages with "Validation error for
question ..." and shows them in prompt_toolkit's one-line toolbar, which cuts
them at the terminal's edge. :func:`install` (called by the Jinja extension,
so it is active in every Copier process that renders this template) wraps two
methods of Copier's ``Question``:

- ``cast_answer``: ``dev, staging, prod`` becomes a list for list answers;
- ``get_questionary_structure``: the prompt's validator returns our message.

Only the wording and the list parsing change; what is accepted is still
decided by :mod:`.answers`. If Copier's internals move, the wrap is skipped
and the stock prompts remain (the pty test in tests/test_prompts.py notices).
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from . import rules

_PREFIX = re.compile(r"^Validation error for question '[^']+': ")
_MARK = "_scaffold_prompts"


def short(field: str, message: str, width: int | None = None) -> str:
    """``field: e.g. EXAMPLE | message``, cut to fit one terminal line."""
    message = _PREFIX.sub("", " ".join(str(message).split()))
    if message.startswith(f"{field}: "):
        message = message[len(field) + 2:]
    example = rules.EXAMPLES.get(field)
    text = f"{field}: e.g. {example} | {message}" if example else f"{field}: {message}"
    width = (width or shutil.get_terminal_size((100, 24)).columns) - 1
    return text if len(text) <= width else text[: max(10, width - 1)] + "…"


def parse_error(field: str, kind: str, raw: Any) -> str:
    """Why a typed answer did not parse, in the rules' words."""
    text = str(raw)
    if kind == "yaml":
        return rules.yaml_problem(text) or "YAML error"
    try:
        rules.coerce(field, text)
    except rules.AnswerError as exc:
        return exc.message
    return f"not a valid {kind}; got {rules.show(raw)}"


def install() -> None:
    try:
        from copier._user_data import Question
    except ImportError:  # another Copier layout: keep its stock prompts
        return
    if getattr(Question, _MARK, False):
        return
    cast_answer = Question.cast_answer
    structure = Question.get_questionary_structure

    def cast(self: Any, answer: Any) -> Any:
        return rules.split_list(self.var_name, cast_answer(self, answer))

    def questionary_structure(self: Any) -> dict:
        result = structure(self)
        inner = result.get("validate")
        if inner is None:
            return result

        def validate(answer: str) -> Any:
            verdict = inner(answer)
            if verdict is True:
                return True
            if verdict == "Invalid input":
                return short(self.var_name, parse_error(self.var_name, self.get_type_name(), answer))
            return short(self.var_name, str(verdict))

        result["validate"] = validate
        return result

    # Patching copier's Question class is the point here (see the module docstring).
    Question.cast_answer = cast  # type: ignore[method-assign]
    Question.get_questionary_structure = questionary_structure  # type: ignore[method-assign]
    setattr(Question, _MARK, True)
