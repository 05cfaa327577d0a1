"""What templates see: the model, the answer rules and safe YAML filters.

``entry.install_jinja`` calls ``install`` on the Copier environment of a render of
this tag (the installed ``scaffold.extension`` loads this tag's code first).
Everything a template needs beyond layout comes from here, so templates never
compute policy.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from . import yamlio
from .answers import rules
from .model.service import ServiceModel, slugify

ANSWER_NAMES = tuple(rules.RULES)


def _answers(ctx: Context) -> dict[str, Any]:
    out = {}
    for name in ANSWER_NAMES:
        value = ctx.get(name)
        if value is not None and not _is_undefined(value):
            out[name] = value
    return out


def _is_undefined(value: Any) -> bool:
    from jinja2 import Undefined

    return isinstance(value, Undefined)


_MISSING = object()


def _raw_answer(ctx: Context, field: str) -> Any:
    """What the user passed for ``field`` (``-d``/``--data-file``/``data=``),
    before Copier's cast: Copier turns ``8080.0`` into 8080, ``maybe`` into True
    and a YAML ``12345`` into "12345", which ``scaffold new`` refuses."""
    conf = ctx.get("_copier_conf")
    try:
        data = conf["data"] if conf is not None and not _is_undefined(conf) else None
    except (KeyError, TypeError):
        return _MISSING
    if not isinstance(data, dict) or field not in data:
        return _MISSING
    return data[field]


@pass_context
def scaffold_check(ctx: Context, field: str) -> str:
    """copier.yml ``validator:`` body: '' when valid, else the message. The raw
    value the user typed is judged, typed as ``scaffold new`` types it."""
    value = ctx.get(field)
    raw = _raw_answer(ctx, field)
    if raw is not _MISSING:
        if err := rules.bounded(raw):
            return f"{field}: {err}"
        try:
            value = rules.coerce(field, raw)
        except rules.AnswerError as exc:
            return str(exc)
    return rules.check(field, value, _answers(ctx))


def _refusal(field: str, message: str) -> Exception:
    """An AnswerError that Copier's CLI also prints as one clean line."""
    try:
        from copier.errors import UserMessageError
    except ImportError:  # pragma: no cover - Copier is how this module is loaded
        return rules.AnswerError(field, message)
    cls = type("AnswerRefused", (rules.AnswerError, UserMessageError), {"__str__": lambda self: self.args[0]})
    exc = cls(field, message)
    exc.message = exc.args[0]  # what Copier's CLI prints: "field: message"
    return exc


@pass_context
def scaffold_data_guard(ctx: Context) -> bool:
    """The first question's ``when:``: Copier renders it before it casts any
    ``-d``/``--data-file`` answer, and its ``str`` cast of a YAML alias bomb
    never returns. So every raw answer is size- and alias-checked here first."""
    conf = ctx.get("_copier_conf")
    try:
        data = conf["data"] if conf is not None and not _is_undefined(conf) else None
    except (KeyError, TypeError):
        data = None
    for field, value in (data or {}).items() if isinstance(data, dict) else ():
        if err := rules.bounded(value):
            raise _refusal(str(field)[:60], err)
    return True


@pass_context
def scaffold_default(ctx: Context, field: str) -> Any:
    """copier.yml ``default:`` of an answer derived from earlier ones (memory_limit
    from memory_request, ...), so no earlier answer makes a later default invalid."""
    from .model.service import answer_default

    return answer_default(field, _answers(ctx))


@pass_context
def scaffold_advanced(ctx: Context) -> bool:
    """copier.yml ``when:`` of the advanced questions: asked (and recorded) when the user
    said yes, or when an advanced answer is already given (``-d``, ``--data-file``, a
    hand-edited answers file on update), so such an answer is never dropped silently."""
    from .model.service import answer_default

    return bool(ctx.get("advanced") is True or answer_default("advanced", _answers(ctx)))


@pass_context
def scaffold_model(ctx: Context) -> ServiceModel:
    return ServiceModel.from_answers(_answers(ctx))


TREE = "package"  # blueprints/package/: the one template tree; blueprints differ through the model


@pass_context
def scaffold_tree(ctx: Context) -> str:
    """Used by ``_subdirectory``: Copier renders it before writing any file, so the
    whole model (cross-field rules included) is checked first even for ``--defaults``,
    whose values Copier never validates itself. Then it names the one tree every
    blueprint renders. (Tags before the one tree called ``scaffold_blueprint()`` here,
    with their own code.)"""
    scaffold_model(ctx)
    return TREE


# The templates' public surface: ``sc.<name>`` -> the module it names. Names are
# the templates' (``sc.rules`` is the Prometheus module), so moving a module
# changes one row here, never a template. tests/test_architecture.py checks that
# every ``sc.<name>`` used under blueprints/, k8s/, observability/, runbooks/ and
# copier.yml is a row.
SURFACE: dict[str, str] = {
    "alerts": "artifacts.alerts",
    "alertmanager": "artifacts.alertmanager",
    "backstage": "artifacts.backstage",
    "backup": "artifacts.backup",
    "canary": "artifacts.canary",
    "catalog": "artifacts.alerts",  # the old name of sc.alerts, kept while templates move over
    "chaos": "artifacts.chaos",
    "checkov_policy": "artifacts.checkov_policy",
    "dashboards": "artifacts.dashboards",
    "docs": "artifacts.docs",
    "gitops": "artifacts.gitops",
    "k8s": "artifacts.k8s",
    "kyverno": "artifacts.kyverno",
    "lifecycle": "fleet.lifecycle",
    "manifests": "artifacts.manifests",
    "release": "artifacts.release",
    "renovate": "artifacts.renovate",
    "resilience": "artifacts.resilience",
    "rules": "artifacts.prometheus",
    "scenarios": "artifacts.scenarios",
    "security": "artifacts.security",
    "slo": "model.slo",
    "stacks": "model.stacks",
    "telemetry": "artifacts.telemetry",
    "terraform": "artifacts.terraform",
    "teststages": "artifacts.teststages",
    "tracing": "artifacts.tracing",
    "verify": "artifacts.verify",
    "workflows": "artifacts.workflows",
}


class _Modules:
    """``sc.<name>`` in templates: the modules of ``SURFACE``, imported on first
    use (``sc.slo.thresholds(m)``), so each area adds functions, not globals."""

    def __getattr__(self, name: str) -> Any:
        import importlib

        if name not in SURFACE:
            raise AttributeError(f"sc.{name}: not in scaffold.templating.SURFACE")
        return importlib.import_module(f".{SURFACE[name]}", __package__)


def install(environment: Any) -> None:
    """Register this tag's globals (``scaffold_check``, ``scaffold_model``,
    ``scaffold_tree``, ``sc``) and filters on a Jinja environment."""
    environment.globals.update(
        scaffold_check=scaffold_check,
        scaffold_data_guard=scaffold_data_guard,
        scaffold_default=scaffold_default,
        scaffold_advanced=scaffold_advanced,
        scaffold_model=scaffold_model,
        scaffold_tree=scaffold_tree,
        sc=_Modules(),
    )
    environment.filters.update(
        yaml=yamlio.scalar,
        to_yaml=yamlio.dump,
        to_yaml_plain=yamlio.dump_plain,
        slugify=slugify,
    )
    _memoize_compile(environment)
    from .answers import prompts

    prompts.install()  # named, example-first, terminal-wide prompt errors; comma lists


def _memoize_compile(environment: Any) -> None:
    """Compile each distinct template source once per process and environment settings.

    Copier renders every path name and file body with ``from_string``, which
    never caches; one runbook body or path part is otherwise recompiled per
    file it yields, and ``copier update`` builds a new environment for each of its
    three renders (so does the fleet, per service). Compiling is a pure function of
    the source, the template's name and the settings that the lexer, parser and code
    generator read (:func:`_compile_settings`), so caching the code object changes
    nothing but time. The file name only labels the code (tracebacks): a hit for
    another clone's path gets its code relabelled. Extensions' ``preprocess`` hooks
    still run on every call: Copier's yield tag resets its per-path state there.
    Parsed ASTs bypass the cache."""
    compile_ = environment.compile

    def compile(source: Any, name: Any = None, filename: Any = None, raw: bool = False,
                defer_init: bool = False) -> Any:
        if not isinstance(source, str):
            return compile_(source, name, filename, raw, defer_init)
        environment.preprocess(source, name, filename)
        key = (_compile_settings(environment), source, name, raw, defer_init)
        found = _COMPILED.get(key)
        if found is None:
            found = compile_(source, name, filename, raw, defer_init)
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            _COMPILED[key] = found
        if isinstance(found, CodeType) and found.co_filename != (filename or "<template>"):
            return _relabel(found, filename or "<template>")
        return found

    environment.compile = compile


_COMPILED: dict[tuple[Any, ...], Any] = {}
_COMPILED_MAX = 8192


def _compile_settings(environment: Any) -> tuple[Any, ...]:
    """What a compiled template depends on besides its source and name: the environment
    class (the sandbox intercepts operators at compile time), the syntax, whitespace and
    newline settings, the extensions (their tags), the names of the filters and tests
    (the compiler refuses unknown ones), and the code generator's switches."""
    e = environment
    return (type(e), e.block_start_string, e.block_end_string, e.variable_start_string, e.variable_end_string,
            e.comment_start_string, e.comment_end_string, e.line_statement_prefix, e.line_comment_prefix,
            e.trim_blocks, e.lstrip_blocks, e.newline_sequence, e.keep_trailing_newline, e.optimized,
            e.is_async, e.autoescape, e.finalize, e.code_generator_class, e.context_class,
            tuple((name, type(ext)) for name, ext in sorted(e.extensions.items())),
            tuple(sorted(e.filters)), tuple(sorted(e.tests)))


def _relabel(code: CodeType, filename: str) -> CodeType:
    """``code`` as ``compile`` would have labelled it for ``filename`` (nested code too)."""
    consts = tuple(_relabel(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)
