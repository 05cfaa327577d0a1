"""The ``scaffold`` command line: thin, friendly doors onto the library."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from .answers import rules
from . import yamlio

# Plain click help: every flag with its text, no `<bool>` type column, no markup; -h and --help.
CONTEXT = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=CONTEXT,
                  help="Generate, validate and update services' operational packages (a Copier template).",
                  rich_markup_mode=None)
console = Console(stderr=True)
out = Console()

_COPIER_VALIDATION = re.compile(r"^Validation error for question '[^']+': ", re.S)


def template_root() -> str:
    """The template this package was installed from: $SCAFFOLD_TEMPLATE or the source checkout."""
    env = os.environ.get("SCAFFOLD_TEMPLATE")
    if env:
        return env
    here = Path(__file__).resolve().parent.parent
    if (here / "copier.yml").is_file():
        return str(here)
    raise typer.BadParameter("no template found: pass --template or set SCAFFOLD_TEMPLATE")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            sys.stdout.write(f"scaffold {version('scaffold-blueprints')}\n")
        except PackageNotFoundError:
            sys.stdout.write("scaffold (not installed as a distribution)\n")
        raise typer.Exit(0)


@app.callback()
def _main(version_: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                        help="Print scaffold's version and exit")) -> None:
    pass


def need_dir(path: Path, what: str = "a generated package") -> None:
    """A wrong path is one line, not a traceback or a misleading 'not a generated package'."""
    if not path.exists():
        fail(f"{path}: no such file or directory (expected {what})")
    if not path.is_dir():
        fail(f"{path}: not a directory (expected {what})")


def is_local_source(source: str) -> bool:
    """A template source that is a path on this machine (not a git URL or gh:/gl: shortcut)."""
    return source.startswith("file://") or not re.match(r"^(?:[a-z][a-z0-9+.-]*://|gh:|gl:|git@)", source)


def fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def load_data_file(path: Path) -> Any:
    """The --data-file mapping, read with a size cap (never /dev/zero until
    MemoryError) and without anchors, aliases or merge keys."""
    cap = yamlio.MAX_ANSWERS_BYTES
    if not path.exists():
        fail(f"--data-file {path}: no such file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(cap + 1)
    except OSError as exc:
        fail(f"--data-file {path}: cannot read it ({exc.strerror or exc.__class__.__name__})")
    if len(raw) > cap:
        fail(f"--data-file {path}: is larger than {cap // 1024} KiB; answers files are a few KiB")
    try:
        return yamlio.load_answers(raw.decode("utf-8"))
    except yamlio.UnsafeAnswers as exc:
        fail(f"--data-file {path}: {exc}")
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's input
        fail(f"--data-file {path}: not valid YAML ({exc.__class__.__name__})")


def parse_data(pairs: list[str], data_file: Optional[Path]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if data_file is not None:
        loaded = load_data_file(data_file)
        if not isinstance(loaded, dict):
            fail(f"--data-file {data_file}: must be a YAML mapping of answers")
        data.update({str(k): v for k, v in loaded.items()})
    for pair in pairs:
        if "=" not in pair:
            fail(f"--data {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        data[key.strip()] = value
    unknown = sorted(k for k in data if k not in rules.RULES)
    if unknown:
        fail(f"unknown answer {unknown[0]!r}; known answers: {', '.join(sorted(rules.RULES))}")
    try:
        typed = {k: rules.coerce(k, v) for k, v in data.items()}
        for key, value in typed.items():  # per-field first: the clearest message
            if message := rules.check(key, value, typed):
                raise rules.AnswerError(key, message.split(": ", 1)[1])
    except rules.AnswerError as exc:
        fail(str(exc))
    return typed


def one_line(exc: BaseException) -> str:
    """An exception as one line: its class and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0]}" if text else exc.__class__.__name__


def answer_error_message(exc: BaseException) -> str | None:
    """The one clean line for a refused answer, from Copier's or our own error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, rules.AnswerError):
            return str(exc)
        if isinstance(exc, ValueError) and str(exc).startswith("Validation error for question"):
            return _COPIER_VALIDATION.sub("", str(exc)).strip()
        exc = exc.__cause__ or exc.__context__
    return None


def check_destination(dest: Path) -> None:
    """A new package goes into a new or empty real directory, never through a
    symlink (it would be written wherever the link points) or onto a file."""
    if dest.is_symlink():
        fail(f"{dest} is a symlink; pass the real directory")
    if dest.exists() and not dest.is_dir():
        fail(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        fail(f"{dest} exists and is not empty; use `copier update` for existing packages")
    parent = dest.absolute().parent
    if parent.exists() and not parent.is_dir():
        fail(f"{parent} is not a directory")


def _remove_partial(dest: Path, existed: bool) -> None:
    """Leave nothing behind: a new destination goes, an empty one is emptied."""
    if dest.is_symlink() or not dest.exists():
        return
    if not existed:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@app.command()
def new(
    dest: Path = typer.Argument(..., metavar="DEST", help="Where to generate the package"),
    template: Optional[str] = typer.Option(None, "--template", help="Template source: a git URL such as "
                                           "gh:acme/scaffold (default: this checkout, a local path)"),
    vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template tag or commit (default: the latest tag)"),
    defaults: bool = typer.Option(False, "--defaults", help="Use defaults for every unanswered question"),
    data: list[str] = typer.Option([], "--data", "-d", metavar="KEY=VALUE", help="An answer (repeatable)"),
    data_file: Optional[Path] = typer.Option(None, "--data-file", help="YAML file of answers"),
    blueprint: Optional[str] = typer.Option(None, "--blueprint", help="service, worker or cronjob"),
    skip_tasks: bool = typer.Option(False, "--skip-tasks", help="Do not run the backlog hook"),
    pretend: bool = typer.Option(False, "--pretend", help="Show what would be generated; write nothing"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (the hook's summary "
                               "included)"),
    trust: bool = typer.Option(False, "--trust", help="Run a --template's Jinja extensions and tasks (its code)"),
) -> None:
    """Generate a service's operational package (wraps copier.run_copy)."""
    import contextlib
    import io

    import copier
    from copier.errors import UnsafeTemplateError

    if blueprint is not None:
        data = [*data, f"blueprint={blueprint}"]
    answers = parse_data(data, data_file)
    check_destination(dest)
    existed = dest.exists()
    if existed and not dest.is_dir():
        fail(f"{dest} exists and is not a directory")
    if existed and any(dest.iterdir()):
        fail(f"{dest} exists and is not empty; use `copier update` for existing packages")
    source = template or template_root()
    if is_local_source(source) and not quiet:
        sys.stderr.write(f"warning: the template source {source} is a local path; it is recorded as _src_path, "
                         "which teammates and blueprint-update.yml cannot use: pass --template with a git URL "
                         "(e.g. gh:acme/scaffold)\n")
    # Copier's per-file `create` lines are for a terminal: piped, one summary line instead.
    copier_quiet = quiet or not _is_tty(sys.stderr)
    chatter = io.StringIO()
    # The installed template is this package's own code; any other source runs
    # its extensions and tasks only when the user says so.
    unsafe = trust or template is None
    try:
        with contextlib.ExitStack() as stack:
            if quiet:  # the backlog hook (a subprocess) then prints errors only; Copier tasks take
                from plumbum import local  # their environment from plumbum's copy of os.environ

                stack.enter_context(local.env(SCAFFOLD_QUIET="1"))
                stack.enter_context(contextlib.redirect_stderr(chatter))
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")  # dirty-template notes are noise here
            copier.run_copy(
                source, str(dest), data=answers, vcs_ref=vcs_ref, defaults=defaults,
                unsafe=unsafe, quiet=copier_quiet, skip_tasks=skip_tasks, pretend=pretend,
            )
    except KeyboardInterrupt:
        _remove_partial(dest, existed)
        fail(f"interrupted; {dest} was not written", code=130)
    except UnsafeTemplateError:
        _remove_partial(dest, existed)
        fail(f"--template {template}: runs code (Jinja extensions, tasks); pass --trust only if you trust its source")
    except Exception as exc:  # noqa: BLE001 - we translate, then clean up
        if not pretend:
            _remove_partial(dest, existed)
        message = answer_error_message(exc)
        if message:
            fail(message)
        fail(f"{exc.__class__.__name__}: {exc}", code=1)
    if quiet:
        return
    if pretend:
        sys.stderr.write(f"pretend: nothing written to {dest}\n")
        return
    files = sum(1 for p in dest.rglob("*") if p.is_file() and ".git" not in p.parts)
    if _is_tty(sys.stderr):
        console.print(f"[green]generated[/] {dest} ({files} files)  (next: scaffold validate {dest})")
    else:
        sys.stderr.write(f"generated {dest} ({files} files); next: scaffold validate {dest}\n")


def _is_tty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _pick_format(fmt: Optional[str], allowed: tuple[str, ...]) -> str:
    """The explicit --format, refused when unknown; else table on a terminal and lines in a pipe."""
    if fmt is None:
        return "table" if _is_tty(sys.stdout) else "lines"
    if fmt not in allowed:
        fail(f"--format {fmt!r}: unknown format; choose one of {', '.join(allowed)}")
    return fmt


def _validate_table(directory: Path, results: list) -> None:
    from . import report

    table = Table(title=f"scaffold validate {directory}")
    for col in ("checker", "tool", "status", "file", "finding"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = {"pass": "green", "fail": "red", "skip": "yellow"}[r.status]
        if r.findings:
            for f in r.findings:
                table.add_row(r.checker, r.tool, f"[{style}]{r.status}[/]", report.location(f), f.message)
        else:
            table.add_row(r.checker, r.tool, f"[{style}]{r.status}[/]", "", r.detail)
    out.print(table)
    out.print(report.summary(results))


@app.command()
def validate(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    fmt: Optional[str] = typer.Option(
        None, "--format",
        help="table, lines, json, sarif or junit (default: table on a terminal, lines otherwise)"),
    all_checks: bool = typer.Option(False, "--all", help="Include slow checks (checkov)"),
    only: list[str] = typer.Option([], "--only", help="Run only this checker (repeatable)"),
    crd_dir: list[Path] = typer.Option([], "--crd-dir", help="Folder of CustomResourceDefinition manifests to "
                                       "validate their kinds against (repeatable; env SCAFFOLD_CRD_DIRS)"),
    tf_plugin_dir: Optional[Path] = typer.Option(None, "--tf-plugin-dir", help="Terraform provider filesystem mirror "
                                       "(env SCAFFOLD_TF_PLUGIN_DIR; default: found on this machine)"),
    skip: list[str] = typer.Option([], "--skip", help="Do not run this checker, e.g. when its tool is "
                                   "not installed (repeatable; counted as skipped)"),
    list_checkers: bool = typer.Option(False, "--list", help="List the checkers and the tools they need"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr"),
) -> None:
    """Run every real validator over a generated package; exit 1 on any failure.

    A required tool that is missing fails the run unless that checker is
    skipped with --skip; skips are counted and shown."""
    from . import report
    from .model.package import PackageError
    from .validate import UnknownChecker, load_checkers, run_all

    fmt = _pick_format(fmt, report.FORMATS)
    if list_checkers:
        rows = list(report.checker_rows(load_checkers()))
        if fmt == "json":
            sys.stdout.write(json.dumps([dict(zip(("checker", "tool", "where", "runs"), r)) for r in rows],
                                        indent=2) + "\n")
        elif fmt == "table":
            table = Table(title="scaffold validate checkers")
            for col in ("checker", "tool", "where", "runs"):
                table.add_column(col, overflow="fold")
            for row in rows:
                table.add_row(*row)
            out.print(table)
        else:
            for row in rows:
                sys.stdout.write("\t".join(row) + "\n")
        raise typer.Exit(0)
    need_dir(directory)
    for d in crd_dir:
        if not d.is_dir():
            fail(f"--crd-dir {d}: not a directory")
    if tf_plugin_dir is not None and not tf_plugin_dir.is_dir():
        fail(f"--tf-plugin-dir {tf_plugin_dir}: not a directory")
    options = {"crd_dirs": [d.resolve() for d in crd_dir],
               "tf_plugin_dir": tf_plugin_dir.resolve() if tf_plugin_dir else None}
    try:
        results = _run_with_progress(lambda progress, started: run_all(
            directory, include_slow=all_checks, only=only, skip=skip, progress=progress, started=started,
            options=options), quiet=quiet)
    except (PackageError, rules.AnswerError, UnknownChecker) as exc:
        fail(str(exc))
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        sys.stdout.write(report.as_json(results) + "\n")
    elif fmt == "sarif":
        sys.stdout.write(report.sarif(results, directory.resolve()) + "\n")
    elif fmt == "junit":
        sys.stdout.write(report.junit(results))
    elif fmt == "lines":
        report.write_lines(results)
    else:
        _validate_table(directory, results)
    raise typer.Exit(1 if failed else 0)


def _run_with_progress(run: Any, *, quiet: bool) -> Any:
    """Stream one line per finished checker to stderr (pre-commit style); on a
    terminal, rich shows which checker is running meanwhile."""
    from . import report

    if quiet:
        return run(None, None)
    if not _is_tty(sys.stderr):
        def plain(result: Any) -> None:
            sys.stderr.write(report.progress_line(result) + "\n")
            sys.stderr.flush()
        return run(plain, None)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("validate", total=None)

        def started(name: str) -> None:
            bar.update(task, description=name)

        def finished(result: Any) -> None:
            style = {"pass": "green", "fail": "red", "skip": "yellow"}[result.status]
            from rich.text import Text

            console.print(Text(report.progress_line(result), style=style), highlight=False, soft_wrap=True)
        return run(finished, started)


def _rows(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]], styles: dict | None = None) -> None:
    """A table on a terminal; piped, one tab-separated line per row (never wrapped)."""
    if not _is_tty(sys.stdout):
        for row in rows:
            sys.stdout.write("\t".join(str(c) for c in row) + "\n")
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        style = (styles or {}).get(row[1]) if len(row) > 1 else None
        cells = list(row)
        if style:
            cells[1] = f"[{style}]{cells[1]}[/]"
        table.add_row(*cells)
    out.print(table)


def _say(text: str, stream: Any = None) -> None:
    """One plain line (no markup, no wrapping)."""
    (stream or sys.stdout).write(text + "\n")


@app.command()
def check(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    fmt: Optional[str] = typer.Option(None, "--format", help="table, lines or json (default: table on a "
                                      "terminal, lines otherwise)"),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when drifted or an update exists"),
    include_backlog: bool = typer.Option(False, "--include-backlog", help="Also diff backlog/ (edited by design)"),
    show_diff: bool = typer.Option(False, "--diff", help="Print the modified files' diffs to stdout as one patch "
                                   "(the summary goes to stderr), e.g. for git apply"),
    trusted: list[str] = typer.Option([], "--trusted-source", metavar="SRC",
                                      help="A template source allowed to run (also SCAFFOLD_TRUSTED_SOURCES)"),
) -> None:
    """Is there a template update, and how has the package drifted from its recorded version?"""
    from .fleet import lifecycle
    from .model.package import PackageError

    fmt = _pick_format(fmt, ("table", "lines", "json"))
    need_dir(directory)
    try:
        report = lifecycle.check(directory, include_backlog=include_backlog, trusted=tuple(trusted))
    except (PackageError, rules.AnswerError) as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - e.g. the recorded commit is gone: one line, not a traceback
        message = answer_error_message(exc) or " ".join(f"{exc.__class__.__name__}: {exc}".split())
        fail(f"{directory}: cannot render the recorded template version: {message}", code=1)
    if fmt == "json":
        _say(json.dumps(report.as_dict(), indent=2))
        raise typer.Exit(1 if exit_code and not report.clean else 0)
    stream = sys.stderr if show_diff else sys.stdout  # --diff: stdout is the patch alone
    if report.update:
        u = report.update
        state = "update available" if u.update_available else "up to date"
        _say(f"template: {state} (current {u.current_version}, latest {u.latest_version})", stream)
    else:
        _say(f"template: could not check ({report.update_error})", stream)
    for key, (old, new) in report.edited_answers.items():
        _say(f"answer edited by hand: {key} {old!r} -> {new!r} (`scaffold update` applies it; plain "
             "`copier update` would undo it)", stream)
    for rel in report.kept:
        _say(f"kept: {rel} (the team's version of a file an update deleted: merge what still applies, "
             "then delete it)", stream)
    if not report.drift:
        _say("drift: none (matches the recorded template version and answers)", stream)
    elif show_diff or fmt == "lines" or not _is_tty(sys.stdout):
        for d in report.drift:
            _say(f"drift: {d.path}: {d.status}", stream)
    else:
        _rows("drift from the recorded template version", ("file", "status"),
              [(d.path, d.status) for d in report.drift])
    if show_diff:
        for d in report.drift:
            if d.diff:
                sys.stdout.write(d.diff if d.diff.endswith("\n") else d.diff + "\n")
    raise typer.Exit(1 if exit_code and not report.clean else 0)


@app.command()
def update(
    directory: Path = typer.Argument(Path("."), help="A generated package (a clean git checkout)"),
    vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template tag or commit (default: the latest)"),
    data: list[str] = typer.Option([], "--data", "-d", help="KEY=VALUE answer to change (repeatable)"),
    conflict: str = typer.Option("inline", "--conflict", help="inline or rej"),
) -> None:
    """`copier update`, honouring answers edited by hand in .copier-answers.yml."""
    from .fleet import lifecycle
    from .model.package import PackageError

    answers = parse_data(data, None) if data else {}
    try:
        edited = lifecycle.update(directory, vcs_ref=vcs_ref, data=answers, conflict=conflict)
    except PackageError as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - Copier's refusals and task failures: one line
        fail(answer_error_message(exc) or one_line(exc), code=1)
    for key, (old, new) in edited.items():
        console.print(f"answer {key}: {old!r} -> {new!r} (edited in {lifecycle.ANSWERS_FILE})", markup=False)
    console.print(f"updated {directory}  (next: scaffold update-report {directory})", markup=False)


@app.command("update-report")
def update_report(
    directory: Path = typer.Argument(Path("."), help="A package right after `copier update`"),
    base: str = typer.Option("HEAD", "--base", help="The commit before the update"),
    fmt: str = typer.Option("markdown", "--format", help="markdown or json"),
) -> None:
    """List the files an update left for review (conflict markers, kept files): for a pull request body."""
    from .fleet import keep

    report = keep.update_report(directory, base=base)
    if fmt == "json":
        out.print_json(json.dumps(report))
    else:
        sys.stdout.write(keep.report_markdown(report))


@app.command("try")
def try_(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    duration: float = typer.Option(60.0, "--duration", help="Seconds of traffic (at most 900)"),
    fail_rate: float = typer.Option(0.5, "--fail-rate", help="Share (0..1) of sample-route requests that fail"),
    rps: Optional[float] = typer.Option(None, "--rps", help="Requests per second (default: enough for the ticket tier)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Run the service, Prometheus with the package's rules and Alertmanager with its routes on 127.0.0.1."""
    from .live import live_view

    fmt = _pick_format(fmt, ("table", "json"))
    need_dir(directory)
    raise typer.Exit(live_view.run(directory, duration=duration, fail_rate=fail_rate, rps=rps, fmt=fmt,
                                   console=console, out=out))


fleet_app = typer.Typer(help="Roll blueprint updates out over many service repositories.",
                        context_settings=CONTEXT, rich_markup_mode=None)
app.add_typer(fleet_app, name="fleet")


def _progress(label: str, total: int) -> Any:
    """A context manager yielding ``advance(text)``: rich's bar on a terminal, else one
    plain stderr line per finished item (``label 3/50: text``)."""
    import contextlib

    @contextlib.contextmanager
    def bar() -> Any:
        if _is_tty(sys.stderr):
            from rich.progress import Progress

            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(label, total=total)

                def advance(text: str) -> None:
                    progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
                    progress.advance(task)
                yield advance
            return
        done = [0]

        def line(text: str) -> None:
            done[0] += 1
            sys.stderr.write(f"{label} {done[0]}/{total}: {text}\n")
            sys.stderr.flush()
        yield line
    return bar()


def _fleet(action: str, source: Path, jobs: int, workdir: Path, json_out: Optional[Path],
           vcs_ref: Optional[str], fmt: Optional[str], pretend: bool = False, push: bool = False,
           trusted: tuple[str, ...] = ()) -> None:
    from .fleet import fleet

    fmt = _pick_format(fmt, ("table", "lines", "json"))
    if not source.exists():
        fail(f"{source}: no such file or directory (expected a folder of checkouts or a file listing them)")
    try:
        entries = fleet.discover(source)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{source}: cannot read the repository list ({exc.__class__.__name__})")
    if not entries:
        fail(f"{source}: no repositories found (a folder of checkouts with .copier-answers.yml, "
             "or a file listing paths/URLs)")
    run_action = "status" if pretend else action
    with _progress(f"fleet {run_action}", len(entries)) as advance:
        results = fleet.run(entries, run_action, jobs=jobs, workdir=str(workdir), vcs_ref=vcs_ref,
                            progress=lambda r: advance(f"{r.repo}: {r.status}"), push=push, trusted=trusted)
    summary = fleet.summary(results)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if fmt == "json":
        _say(json.dumps(summary, indent=2))
    else:
        colors = {"updated": "green", "up-to-date": "green", "update-available": "yellow",
                  "conflict": "yellow", "in-review": "yellow", "dirty": "yellow", "failed": "red"}
        rows = [(r.repo, r.status, r.current, r.latest, r.branch,
                 " ".join("; ".join(x for x in [r.detail, *[w for w in r.warnings if w not in r.detail],
                                                f"push: {r.push}" if r.push else ""] if x).split()))
                for r in results]
        if fmt == "lines":
            for row in rows:
                _say("\t".join(str(c) for c in row))
        else:
            _rows(f"scaffold fleet {run_action}", ("repo", "status", "current", "latest", "branch", "detail"),
                  rows, colors)
        _say(", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n))
        if pretend:
            would = [r.repo for r in results if r.status == "update-available"]
            _say(f"pretend: would update {len(would)} repo(s) on a scaffold/update-<version> branch; "
                 "nothing was written" + (f": {', '.join(would)}" if would else ""))
    raise typer.Exit(1 if summary["counts"]["failed"] else 0)


_SOURCE = typer.Argument(..., help="A folder of checkouts, or a file listing repo paths/URLs")
_JOBS = typer.Option(os.cpu_count() or 1, "--jobs", "-j", help="Parallel processes")
_WORKDIR = typer.Option(Path(".scaffold-fleet"), "--workdir", help="Where URLs are cloned")
_JSON = typer.Option(None, "--json", help="Write the JSON summary here")
_FMT = typer.Option(None, "--format", help="table, lines or json (default: table on a terminal, lines otherwise)")


@fleet_app.command("status")
def fleet_status(source: Path = _SOURCE, jobs: int = _JOBS, workdir: Path = _WORKDIR,
                 json_out: Optional[Path] = _JSON, fmt: Optional[str] = _FMT) -> None:
    """Which repos are dirty, up to date, or behind the template."""
    _fleet("status", source, jobs, workdir, json_out, None, fmt)


@fleet_app.command("update")
def fleet_update(source: Path = _SOURCE, jobs: int = _JOBS, workdir: Path = _WORKDIR,
                 json_out: Optional[Path] = _JSON, fmt: Optional[str] = _FMT,
                 vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template ref to update to"),
                 pretend: bool = typer.Option(False, "--pretend", help="Report which repos would be updated; "
                                              "write nothing (no branch, no commit)"),
                 push: bool = typer.Option(False, "--push", help="Push each URL entry's update branch to its origin "
                                                               "(without it, the push command is printed)"),
                 trusted: list[str] = typer.Option([], "--trusted-source", metavar="SRC",
                                                   help="A template source allowed to run (repeatable; also "
                                                   "SCAFFOLD_TRUSTED_SOURCES)")) -> None:
    """Update every clean repo on its own branch and commit; skip dirty ones and
    update branches that already carry human commits. Only trusted template
    sources run, each pinned to the commit its tag names when the run starts."""
    _fleet("update", source, jobs, workdir, json_out, vcs_ref, fmt, pretend, push, tuple(trusted))


blueprint_app = typer.Typer(help="For blueprint publishers: matrix tests and golden examples.",
                            context_settings=CONTEXT, rich_markup_mode=None)
app.add_typer(blueprint_app, name="blueprint")


@blueprint_app.command("test")
def blueprint_test(
    matrix: Optional[Path] = typer.Option(None, "--matrix", help="YAML list of answer sets (each with a name)"),
    template: Optional[str] = typer.Option(None, "--template", help="Template source (default: this checkout)"),
    vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template tag or commit to render"),
    all_checks: bool = typer.Option(False, "--all", help="Include slow checks (checkov)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="table, lines or json (default: table on a "
                                      "terminal, lines otherwise)"),
) -> None:
    """Render every answer set and run the whole validation spine on each."""
    from .publish import publisher

    fmt = _pick_format(fmt, ("table", "lines", "json"))
    if matrix is not None and not matrix.is_file():
        fail(f"{matrix}: no such file (expected a YAML list of answer sets)")
    try:
        sets = publisher.load_matrix(matrix)
    except ValueError as exc:
        fail(str(exc))
    with _progress("blueprint test", len(sets)) as advance:
        results = publisher.test_matrix(template or template_root(), sets, include_slow=all_checks, vcs_ref=vcs_ref,
                                        progress=lambda r: advance(f"{r.name}: {'pass' if r.ok else 'fail'}"))
    if fmt == "json":
        _say(json.dumps([r.__dict__ for r in results], default=str, indent=2))
    elif fmt == "lines" or not _is_tty(sys.stdout):
        for r in results:
            _say(f"{r.name}: {'pass' if r.ok else 'fail'}")
            for failure in ([r.error] if r.error else r.failed_checks):
                _say(f"{r.name}: {' '.join(str(failure).split())}")
    else:
        table = Table(title="scaffold blueprint test")
        for col in ("answer set", "result", "failures"):
            table.add_column(col, overflow="fold")
        for r in results:
            table.add_row(r.name, "[green]pass[/]" if r.ok else "[red]fail[/]",
                          r.error or "\n".join(r.failed_checks[:10]))
        out.print(table)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@blueprint_app.command("examples")
def blueprint_examples(
    out_dir: Path = typer.Option(Path("examples"), "--out", help="Where the golden examples live"),
    check_only: bool = typer.Option(False, "--check", "--pretend",
                                    help="Only report which example files are stale; write nothing"),
    template: Optional[str] = typer.Option(None, "--template", help="Template source (default: this checkout)"),
) -> None:
    """Regenerate the golden examples (or --check that they are current)."""
    from .publish import publisher

    src = template or template_root()
    if check_only:
        stale = publisher.stale_examples(src, out_dir)
        for line in stale[:50]:
            out.print(line, markup=False)
        if stale:
            fail(f"{len(stale)} example files are stale: run `scaffold blueprint examples`", code=1)
        out.print("examples are current")
        return
    for path in publisher.regenerate_examples(src, out_dir):
        out.print(f"wrote {path}")


@app.command()
def tasks(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    dry_run: bool = typer.Option(False, "--dry-run", "--pretend", help="Print what would be filed; write nothing"),
) -> None:
    """File the Backlog.md tasks the hook would file (new artifacts and alerts only)."""
    from .backlog import backlog
    from .model.package import PackageError

    need_dir(directory)

    try:
        report = backlog.sync(directory, dry_run=dry_run)
    except (backlog.BacklogError, PackageError) as exc:
        fail(str(exc), code=1)
    verb = "would file" if dry_run else "filed"
    for bad in report.skipped:
        out.print(f"skipped {bad.message} (left as it is; the backlog CLI cannot read it either)", markup=False,
                  soft_wrap=True)
    for t in report.created:
        out.print(f"{verb} {t.id}  {t.title}  [{', '.join(t.labels)}]", markup=False, soft_wrap=True)
    for t in report.marked_removed:
        out.print(f"{'would mark' if dry_run else 'marked'} {t.id}  {t.title}  (artifact removed)", markup=False, soft_wrap=True)
    for t in report.unmarked:
        out.print(f"{'would unmark' if dry_run else 'unmarked'} {t.id}  {t.title}  (artifact back)", markup=False, soft_wrap=True)
    out.print(report.summary() if not dry_run else f"dry run: {report.summary().replace('filed', 'would file', 1)}",
              markup=False, soft_wrap=True)


@app.command()
def explain(
    path: str = typer.Argument(..., help="A file of a generated package, e.g. k8s/base/deployment.yaml"),
    package: Optional[Path] = typer.Option(None, "--package", "-p",
                                           help="The package PATH is relative to (default: the one holding PATH "
                                                "or the working directory)"),
    template: Optional[str] = typer.Option(None, "--template", help="Template checkout (default: this one)"),
    no_answers: bool = typer.Option(False, "--no-answers", help="Skip finding which answers change the file"),
) -> None:
    """Print the template, builder and answers that made one generated file."""
    from . import explain as ex
    from .model.package import PackageError, load_answers

    try:
        root, rel = ex.find_package(Path(path), package)
        explainer = ex.Explainer(template or template_root(), load_answers(root / ex.ANSWERS_FILE))
        result = explainer.explain(rel, answers=not no_answers)
    except (ex.ExplainError, PackageError, ValueError) as exc:
        fail(str(exc), code=1)
    except rules.AnswerError as exc:
        fail(f"{root / ex.ANSWERS_FILE}: {exc}", code=1)
    for line in result.lines():
        out.print(line, markup=False, soft_wrap=True, highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
