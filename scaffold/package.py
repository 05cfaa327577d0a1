"""A generated package on disk: its answers, model and files, read once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from . import tools, yamlio
from .model import ServiceModel

ANSWERS_FILE = ".copier-answers.yml"


class PackageError(RuntimeError):
    pass


@dataclass
class Package:
    root: Path
    answers: dict[str, Any]
    _builds: dict[str, tools.Result] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: Path) -> "Package":
        root = Path(root).resolve()
        answers_path = root / ANSWERS_FILE
        if not answers_path.is_file():
            raise PackageError(f"{root} is not a generated package: {ANSWERS_FILE} is missing")
        answers = yamlio.load_file(answers_path) or {}
        if not isinstance(answers, dict):
            raise PackageError(f"{answers_path}: expected a mapping of answers")
        return cls(root, answers)

    @cached_property
    def model(self) -> ServiceModel:
        return ServiceModel.from_answers(self.answers)

    def overlay_build(self, overlay: Path) -> tools.Result:
        """``kubectl kustomize`` of one overlay, run once per package and shared by
        every checker that reads the build (kustomize, crds)."""
        key = str(Path(overlay).resolve())
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
