"""``scaffold explain PATH``: which template, builder and answers made a generated file.

It asks the template itself, as Copier renders it: a Jinja environment with
Copier's yield tag and scaffold's extension (so the template checkout's own code,
``sc.<module>``, is what answers), the ``_subdirectory`` of its copier.yml, and
Copier's path rules (a part that renders empty is skipped, a yield part repeats).

* The **template** is the file of the tree whose rendered path is PATH; rendering
  its body with the package's answers gives the file again (tests check this for
  every file of the default package).
* The **builder** of a ``k8s/base`` manifest is its entry of ``scaffold.manifests.BASE``,
  the table the yield file renders; for any other file, the ``sc.<module>.<function>``
  calls of its template and of the partials it includes.
* The **answers** are found by trying: each answer is set to other sample values
  (its other choices, the answer's example, a neighbour number, a shorter list)
  and the file's template is rendered again. An answer is listed when some sample
  changes the file (or removes it). A change no sample triggers goes unseen, so
  the list is what was observed, and says so.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

SUFFIX = ".jinja"
ANSWERS_FILE = ".copier-answers.yml"
HOOK_DIRS = ("backlog/",)  # written by the post-generation hook (scaffold.hook), not by a template
_SC_CALL = re.compile(r"\bsc\.([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
_YIELD = re.compile(r"{%-?\s*yield\s+(\w+)\s+from\s+(.+?)\s*-?%}")
_MODEL_ATTR = re.compile(r"^scaffold_model\(\)\.([A-Za-z_]\w*)$")
_INCLUDE = re.compile(r"""{%-?\s*include\s+["']([^"']+)["']""")


class ExplainError(RuntimeError):
    pass


@dataclass(frozen=True)
class Output:
    """A file the tree renders: its template (relative to the template root) and the
    yield variables its path bound."""

    path: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Explanation:
    path: str
    template: str | None  # relative to the template root; None: not from the tree
    note: str = ""  # how a file that no template renders is made
    table: str = ""  # the table entry, for a table-driven file
    layout: str = ""  # the layout partial of a table entry
    partials: list[str] = field(default_factory=list)
    each: list[str] = field(default_factory=list)  # the path's yield tags, with the value bound
    builders: list[str] = field(default_factory=list)  # "scaffold.k8s:deployment"
    answers: list[str] | None = None  # None: not derived
    defaulted: list[str] = field(default_factory=list)  # of those, not in the answers file

    def lines(self) -> list[str]:
        out = [self.path]
        if self.template is None:
            out.append(f"  made by:  {self.note}")
            return out
        out.append(f"  template: {self.template}")
        if self.table:
            out.append(f"  table:    {self.table}")
        if self.layout:
            out.append(f"  layout:   {self.layout}")
        for p in self.partials:
            out.append(f"  partial:  {p}")
        for e in self.each:
            out.append(f"  each:     {e}")
        out.append(f"  builder:  {', '.join(self.builders) if self.builders else '(none: the template alone)'}")
        if self.answers is not None:
            shown = [f"{a} (default)" if a in self.defaulted else a for a in self.answers]
            out.append(f"  answers:  {', '.join(shown) if shown else '(none: the same for every answer tried)'}")
            out.append("            (each answer listed changes this file when set to another sample value)")
        if self.note:
            out.append(f"  note:     {self.note}")
        return out


def _load_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


class Explainer:
    """The template at ``template_root`` rendered for one package's ``answers``."""

    def __init__(self, template_root: Path | str, answers: dict[str, Any]) -> None:
        self.root = Path(template_root).resolve()
        if not (self.root / "copier.yml").is_file():
            raise ExplainError(f"{self.root}: not a scaffold template (no copier.yml)")
        self.config = _load_yaml(self.root / "copier.yml") or {}
        self.questions = {k: v for k, v in self.config.items() if not k.startswith("_") and isinstance(v, dict)}
        self.answers = {k: v for k, v in answers.items() if not str(k).startswith("_")}
        self.env = self._environment()
        self.sc = self.env.globals["sc"]
        # the checkout's own package (loaded under a private name), for what templates do not reach
        self.pkg = type(self.sc).__module__.rpartition(".")[0]
        self.exclude = tuple(self.config.get("_exclude") or ())
        self.subdirectory = self._render(str(self.config.get("_subdirectory", "")), self.answers)
        self.tree = self.root / self.subdirectory
        self._outputs: dict[str, Output] | None = None

    # -- the environment Copier renders with -----------------------------------------
    def _environment(self) -> Any:
        try:
            from copier._jinja_ext import CopierTemplateLoader, SandboxedEnvironment, YieldExtension
        except ImportError as exc:  # pragma: no cover - another Copier layout
            raise ExplainError(f"this Copier has no yield extension where scaffold looks for it: {exc}") from None
        extensions: list[Any] = [YieldExtension]
        try:
            import jinja2_ansible_filters  # noqa: F401  (Copier's default filters: to_nice_yaml)

            extensions.insert(0, "jinja2_ansible_filters.AnsibleCoreFiltersExtension")
        except ImportError:  # pragma: no cover
            pass
        extensions += list(self.config.get("_jinja_extensions") or ())
        envops = {"keep_trailing_newline": True, **(self.config.get("_envops") or {})}
        return SandboxedEnvironment(loader=CopierTemplateLoader(self.root), extensions=extensions, **envops)

    def _context(self, answers: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        conf = {"answers_file": ANSWERS_FILE, "src_path": str(self.root), "data": {},
                "vcs_ref_hash": None, "dst_path": "."}
        recorded = {**answers, "_src_path": str(self.root), "_commit": None}
        return {**answers, "_copier_conf": conf, "_copier_answers": recorded, "_folder_name": "package",
                **(extra or {})}

    def _render(self, source: str, answers: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
        return str(self.env.from_string(source).render(self._context(answers, extra)))

    def _yield(self) -> tuple[str | None, Any]:
        from copier._jinja_ext import get_yield_context

        ctx = get_yield_context(self.env)
        return ctx.yield_name, ctx.yield_iterable

    # -- the tree ----------------------------------------------------------------------
    def templates(self) -> list[str]:
        """The tree's files Copier renders or copies, relative to the tree (sorted)."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.tree):
            dirnames[:] = sorted(d for d in dirnames if not self._excluded(d))
            for name in sorted(filenames):
                rel = Path(dirpath, name).relative_to(self.tree).as_posix()
                if self._excluded(name):
                    continue
                if not rel.endswith(SUFFIX) and (self.tree / f"{rel}{SUFFIX}").exists():
                    continue  # the templated sibling wins (Copier's rule)
                out.append(rel)
        return out

    def _excluded(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pat) for pat in self.exclude)

    def rendered_paths(self, rel: str, answers: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(generated path, yield variables) for one tree file, as Copier's _render_parts."""
        parts = PurePosixPath(rel[: -len(SUFFIX)] if rel.endswith(SUFFIX) else rel).parts

        def walk(i: int, done: tuple[str, ...], extra: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
            if i == len(parts):
                yield "/".join(done), extra
                return
            part = parts[i]
            text = self._render(part, answers, extra)
            name, iterable = self._yield()
            if name:
                for value in list(iterable or ()):
                    ctx = {**extra, name: value}
                    text = self._render(part, answers, ctx)
                    if text:
                        yield from walk(i + 1, (*done, text), ctx)
                return
            if text:
                yield from walk(i + 1, (*done, text), extra)

        yield from walk(0, (), {})

    def outputs(self) -> dict[str, Output]:
        """Every generated path the tree renders for these answers -> its template."""
        if self._outputs is None:
            found: dict[str, Output] = {}
            for rel in self.templates():
                for path, ctx in self.rendered_paths(rel, self.answers):
                    found.setdefault(path, Output(path, f"{self.subdirectory}/{rel}", ctx))
            self._outputs = found
        return self._outputs

    def body(self, out: Output, answers: dict[str, Any] | None = None) -> bytes:
        """The file's content as the template renders it (a non-template is copied)."""
        source = (self.root / out.template).read_bytes()
        if not out.template.endswith(SUFFIX):
            return source
        return self._render(source.decode("utf-8"), self.answers if answers is None else answers,
                            out.context).encode("utf-8")

    # -- explain -----------------------------------------------------------------------
    def _mod(self, name: str) -> Any:
        """A module of the checkout's own code (``model.service``, ``answers.rules``)."""
        import importlib

        return importlib.import_module(f"{self.pkg}.{name}")

    def explain(self, path: str, *, answers: bool = True) -> Explanation:
        path = PurePosixPath(path).as_posix()
        if path == ANSWERS_FILE:
            note = "Copier: every answer, recorded on each copy and update"
        elif any(path.startswith(d) for d in HOOK_DIRS):
            return Explanation(path, None, note="the post-generation hook (copier.yml _tasks: scaffold.hook -> "
                                                 "scaffold.backlog), from the plan in scaffold.tasks (UNITS)")
        else:
            note = ""
        out = self.outputs().get(path)
        if out is None:
            raise ExplainError(f"{path}: no template of {self.subdirectory} renders this path for these answers "
                               "(a file of the team's own, or not a file of this package)")
        ex = Explanation(path, out.template, note=note)
        for var, expr in _YIELD.findall(out.template):
            value = out.context.get(var)
            ex.each.append(f"{var} from {expr} ({var} = {getattr(value, 'name', value)})")
            if (attr := _MODEL_ATTR.match(expr)) and attr.group(1) != "environments":
                ex.builders.append(f"scaffold.model.service:ServiceModel.{attr.group(1)}")
        source = (self.root / out.template).read_text(encoding="utf-8") if out.template.endswith(SUFFIX) else ""
        texts = [source]
        manifest = self._manifest(out)
        if manifest is not None:
            ex.table = f"scaffold/artifacts/manifests.py BASE[{manifest.file!r}] (builder {manifest.builder!r})"
            if manifest.layout:
                ex.layout = manifest.layout
                texts.append((self.root / manifest.layout).read_text(encoding="utf-8"))
            ex.builders.append(_qualified(self.sc.manifests.builder(manifest)))
        for inc in _includes(source, self.root):
            ex.partials.append(inc)
            texts.append((self.root / inc).read_text(encoding="utf-8"))
        if manifest is None:
            for text in texts:
                for mod, name in _SC_CALL.findall(text):
                    obj = getattr(getattr(self.sc, mod), name, None)
                    if callable(obj) and (q := _qualified(obj)) not in ex.builders:
                        ex.builders.append(q)
        if answers:
            ex.answers = self.answers_of(out)
            ex.defaulted = [a for a in ex.answers if a not in self.answers]
        return ex

    def _manifest(self, out: Output) -> Any:
        if out.template != self.sc.manifests.TEMPLATE:
            return None
        return self.sc.manifests.entry(out.context["name"])

    # -- answers, by trying ------------------------------------------------------------
    def answers_of(self, out: Output) -> list[str]:
        rel = out.template[len(self.subdirectory) + 1:]
        base = self.body(out)
        made = []
        for name in self.questions:
            for value in self.samples(name):
                trial = {**self.answers, name: value}
                try:
                    paths = dict(self.rendered_paths(rel, trial))
                    if out.path not in paths:
                        changed = True
                    else:
                        changed = self.body(Output(out.path, out.template, paths[out.path]), trial) != base
                except Exception:  # an invalid combination: this sample says nothing
                    continue
                if changed:
                    made.append(name)
                    break
        return made

    def _current(self, name: str) -> Any:
        if name in self.answers:
            return self.answers[name]
        return self._mod("model.service").answer_default(name, self.answers)

    def samples(self, name: str) -> list[Any]:
        """Other values to try for one answer (only those that still make a valid model)."""
        q = self.questions[name]
        current = self._current(name)
        out: list[Any] = []
        choices = q.get("choices")
        if isinstance(choices, dict):
            choices = list(choices.values())
        if choices:
            out += list(choices)
        kind = q.get("type", "str")
        if isinstance(current, bool) or kind == "bool":
            out.append(not current)
        elif isinstance(current, int):
            out += [current + 1, current - 1]
        elif isinstance(current, float):
            out += [round(current - 0.1, 3), round(current + 0.05, 3)]
        elif isinstance(current, str):
            out += [*_nudged(current), f"{current}x" if current else "sample", ""]
        elif isinstance(current, list):
            out += [current[:-1], []] if current else []
        elif isinstance(current, dict):
            out.append({})
        example = self._mod("answers.rules").EXAMPLES.get(name)
        if example is not None:
            try:
                out.append(self._mod("answers.rules").coerce(name, example))
            except Exception:
                pass
        seen: list[Any] = []
        for value in out:
            if value != current and value not in seen and self._valid({**self.answers, name: value}):
                seen.append(value)
        return seen

    def _valid(self, answers: dict[str, Any]) -> bool:
        try:
            self._mod("model.service").ServiceModel.from_answers(answers)
        except Exception:
            return False
        return True


def _nudged(text: str) -> list[str]:
    """``100m`` -> ``101m``, ``99m``; ``1.35`` -> ``1.36``, ``1.34``: the same shape, another number
    (the last and the first number in the text)."""
    out = []
    runs = list(re.finditer(r"\d+", text))
    for run in ([runs[-1], runs[0]] if runs else []):
        n = int(run.group())
        for other in (n + 1, n - 1):
            if other >= 0:
                out.append(f"{text[:run.start()]}{other}{text[run.end():]}")
    return out


def _includes(source: str, root: Path) -> list[str]:
    """Literal includes of a template, and theirs, in order."""
    out: list[str] = []
    todo = _INCLUDE.findall(source)
    while todo:
        name = todo.pop(0)
        if name in out or not (root / name).is_file():
            continue
        out.append(name)
        todo += _INCLUDE.findall((root / name).read_text(encoding="utf-8"))
    return out


def _qualified(obj: Any) -> str:
    """``scaffold.k8s:deployment`` for a function of the template's own (privately loaded) code."""
    module = str(getattr(obj, "__module__", "?"))
    head, _, rest = module.partition(".")
    if head.startswith("_scaffold_"):
        module = f"scaffold.{rest}" if rest else "scaffold"
    return f"{module}:{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def find_package(path: Path, package: Path | None) -> tuple[Path, str]:
    """(package root, PATH relative to it). PATH is relative to ``package``, or to the
    package holding it (the nearest parent of PATH or of the working directory with
    an answers file)."""
    if package is not None:
        root = Path(package)
        if not (root / ANSWERS_FILE).is_file():
            raise ExplainError(f"{root}: not a generated package ({ANSWERS_FILE} is missing)")
        rel = Path(path)
        if rel.is_absolute():
            rel = rel.resolve().relative_to(root.resolve())
        return root, rel.as_posix()
    start = Path(path).resolve() if Path(path).exists() else Path.cwd().resolve()
    for parent in [start, *start.parents]:
        if (parent / ANSWERS_FILE).is_file():
            full = Path(path).resolve() if Path(path).exists() else Path.cwd().resolve() / path
            return parent, full.relative_to(parent).as_posix()
    raise ExplainError(f"{path}: not inside a generated package (no {ANSWERS_FILE} above it); pass --package DIR")
