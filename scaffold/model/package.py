"""A generated package on disk: its answers, model and files, read once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from .service import ServiceModel

ANSWERS_FILE = ".copier-answers.yml"


class PackageError(RuntimeError):
    pass


def load_answers(path: Path) -> dict[str, Any]:
    """An answers file as Copier reads it (PyYAML, YAML 1.1), except that every
    ``_``-prefixed entry (``_commit``, ``_src_path``) is its scalar's text: Copier
    writes an untagged commit such as ``6e75821`` or ``1e10`` unquoted, and a
    YAML 1.2 reader would take it for a number."""
    path = Path(path)
    return parse_answers(path.read_text(encoding="utf-8"), str(path))


def parse_answers(text: str, where: str = ANSWERS_FILE) -> dict[str, Any]:
    """``load_answers`` of a text (e.g. an answers file from ``git show``)."""
    import yaml

    path = where
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise PackageError(f"{path}: expected a mapping of answers")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, str) and key.startswith("_") and isinstance(value_node, yaml.ScalarNode):
                out[key] = value_node.value
            else:
                out[str(key)] = loader.construct_object(value_node, deep=True)
        return out
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise PackageError(f"{path}: not valid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


@dataclass
class Package:
    root: Path
    answers: dict[str, Any]
    _builds: dict[str, tools.Result] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _building: dict[str, threading.Lock] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, root: Path) -> Package:
        root = Path(root).resolve()
        answers_path = root / ANSWERS_FILE
        if not answers_path.is_file():
            raise PackageError(f"{root} is not a generated package: {ANSWERS_FILE} is missing")
        text = answers_path.read_text(encoding="utf-8")
        if "\n<<<<<<< " in "\n" + text:  # what `copier update --conflict inline` leaves
            line = ("\n" + text).split("\n<<<<<<< ")[0].count("\n") + 1
            raise PackageError(f"{answers_path}:{line}: unresolved merge conflict (<<<<<<< markers); "
                               "resolve it before validating")
        return cls(root, load_answers(answers_path))

    @cached_property
    def model(self) -> ServiceModel:
        return ServiceModel.from_answers(self.answers)

    def overlay_build(self, overlay: Path) -> tools.Result:
        """``kubectl kustomize`` of one overlay, run once per package and shared by
        every checker that reads the build (kustomize, crds)."""
        key = str(Path(overlay).resolve())
        with self._lock:  # checkers run in threads: one build per overlay, the others wait for it
            one = self._building.setdefault(key, threading.Lock())
        with one:
            if key not in self._builds:
                self._builds[key] = tools.run("kubectl", "kustomize", key)
        return self._builds[key]

    def rel(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.root))

    def files(self, pattern: str = "**/*") -> list[Path]:
        return sorted(p for p in self.root.glob(pattern) if p.is_file() and ".git" not in p.parts)

    def yaml_documents(self, pattern: str) -> Iterator[tuple[Path, Any]]:
        for path in self.files(pattern):
            for doc in yamlio.iter_documents(path):
                yield path, doc
