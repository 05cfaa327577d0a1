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

from . import answers as rules
from . import yamlio

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
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


def fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def load_data_file(path: Path) -> Any:
    """The --data-file mapping, read with a size cap (never /dev/zero until
    MemoryError) and without anchors, aliases or merge keys."""
    cap = yamlio.MAX_ANSWERS_BYTES
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
    dest: Path = typer.Argument(..., help="Where to generate the package"),
    template: Optional[str] = typer.Option(None, "--template", help="Template source (path or git URL)"),
    vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template tag or commit"),
    defaults: bool = typer.Option(False, "--defaults", help="Use defaults for every unanswered question"),
    data: list[str] = typer.Option([], "--data", "-d", help="KEY=VALUE answer (repeatable)"),
    data_file: Optional[Path] = typer.Option(None, "--data-file", help="YAML file of answers"),
    blueprint: Optional[str] = typer.Option(None, "--blueprint", help="service, worker or cronjob"),
    skip_tasks: bool = typer.Option(False, "--skip-tasks", help="Do not run the backlog hook"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    trust: bool = typer.Option(False, "--trust", help="Run a --template's Jinja extensions and tasks (its code)"),
) -> None:
    """Generate a service's operational package (wraps copier.run_copy)."""
    import copier
    from copier.errors import UnsafeTemplateError

    if blueprint is not None:
        data = [*data, f"blueprint={blueprint}"]
    answers = parse_data(data, data_file)
    check_destination(dest)
    existed = dest.exists()
    # The installed template is this package's own code; any other source runs
    # its extensions and tasks only when the user says so.
    unsafe = trust or template is None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dirty-template notes are noise here
            copier.run_copy(
                template or template_root(), str(dest), data=answers, vcs_ref=vcs_ref, defaults=defaults,
                unsafe=unsafe, quiet=quiet, skip_tasks=skip_tasks,
            )
    except KeyboardInterrupt:
        _remove_partial(dest, existed)
        fail(f"interrupted; {dest} was not written", code=130)
    except UnsafeTemplateError:
        _remove_partial(dest, existed)
        fail(f"--template {template}: runs code (Jinja extensions, tasks); pass --trust only if you trust its source")
    except Exception as exc:  # noqa: BLE001 - we translate, then clean up
        _remove_partial(dest, existed)
        message = answer_error_message(exc)
        if message:
            fail(message)
        fail(f"{exc.__class__.__name__}: {exc}", code=1)
    if not quiet:
        console.print(f"[green]generated[/] {dest}  (next: scaffold validate {dest})")


@app.command()
def validate(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
    all_checks: bool = typer.Option(False, "--all", help="Include slow checks (checkov)"),
    only: list[str] = typer.Option([], "--only", help="Run only this checker (repeatable)"),
) -> None:
    """Run every real validator over a generated package; exit 1 on any failure."""
    from .package import PackageError
    from .validate import run_all

    try:
        results = run_all(directory, include_slow=all_checks, only=only)
    except (PackageError, rules.AnswerError) as exc:
        fail(str(exc))
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        out.print_json(json.dumps({"ok": not failed, "results": [r.as_dict() for r in results]}))
    else:
        table = Table(title=f"scaffold validate {directory}")
        for col in ("checker", "tool", "status", "file", "finding"):
            table.add_column(col, overflow="fold")
        for r in results:
            style = {"pass": "green", "fail": "red", "skip": "yellow"}[r.status]
            if r.findings:
                for f in r.findings:
                    table.add_row(r.checker, r.tool, f"[{style}]{r.status}[/]", f.file, f.message)
            else:
                table.add_row(r.checker, r.tool, f"[{style}]{r.status}[/]", "", r.detail)
        out.print(table)
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed else 0)


@app.command()
def check(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when drifted or an update exists"),
    include_backlog: bool = typer.Option(False, "--include-backlog", help="Also diff backlog/ (edited by design)"),
    show_diff: bool = typer.Option(False, "--diff", help="Print each modified file's diff"),
) -> None:
    """Is there a template update, and how has the package drifted from its recorded version?"""
    from . import lifecycle
    from .package import PackageError

    try:
        report = lifecycle.check(directory, include_backlog=include_backlog)
    except PackageError as exc:
        fail(str(exc))
    if fmt == "json":
        out.print_json(json.dumps(report.as_dict()))
    else:
        if report.update:
            u = report.update
            state = "[yellow]update available[/]" if u.update_available else "[green]up to date[/]"
            out.print(f"template: {state} (current {u.current_version}, latest {u.latest_version})")
        else:
            out.print(f"template: [yellow]could not check[/] ({report.update_error})")
        if not report.drift:
            out.print("drift: [green]none[/] (matches the recorded template version and answers)")
        else:
            table = Table(title="drift from the recorded template version")
            table.add_column("file")
            table.add_column("status")
            for d in report.drift:
                table.add_row(d.path, d.status)
            out.print(table)
            if show_diff:
                for d in report.drift:
                    if d.diff:
                        out.print(d.diff, markup=False, highlight=False)
    raise typer.Exit(1 if exit_code and not report.clean else 0)


@app.command("try")
def try_(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    duration: float = typer.Option(60.0, "--duration", help="Seconds of traffic (at most 900)"),
    fail_rate: float = typer.Option(0.5, "--fail-rate", help="Share (0..1) of sample-route requests that fail"),
    rps: Optional[float] = typer.Option(None, "--rps", help="Requests per second (default: enough for the ticket tier)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Run the service, Prometheus with the package's rules and Alertmanager with its routes on 127.0.0.1."""
    from . import live_view

    raise typer.Exit(live_view.run(directory, duration=duration, fail_rate=fail_rate, rps=rps, fmt=fmt,
                                   console=console, out=out))


fleet_app = typer.Typer(help="Roll blueprint updates out over many service repositories.")
app.add_typer(fleet_app, name="fleet")


def _fleet(action: str, source: Path, jobs: int, workdir: Path, json_out: Optional[Path],
           vcs_ref: Optional[str], fmt: str) -> None:
    from rich.progress import Progress

    from . import fleet

    entries = fleet.discover(source)
    if not entries:
        fail(f"{source}: no repositories found")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"fleet {action}", total=len(entries))
        results = fleet.run(entries, action, jobs=jobs, workdir=str(workdir), vcs_ref=vcs_ref,
                            progress=lambda r: progress.advance(task))
    summary = fleet.summary(results)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if fmt == "json":
        out.print_json(json.dumps(summary))
    else:
        table = Table(title=f"scaffold fleet {action}")
        for col in ("repo", "status", "current", "latest", "branch", "detail"):
            table.add_column(col, overflow="fold")
        colors = {"updated": "green", "up-to-date": "green", "update-available": "yellow",
                  "conflict": "yellow", "dirty": "yellow", "failed": "red"}
        for r in results:
            table.add_row(r.repo, f"[{colors[r.status]}]{r.status}[/]", r.current, r.latest, r.branch, r.detail)
        out.print(table)
        out.print(", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n))
    raise typer.Exit(1 if summary["counts"]["failed"] else 0)


_SOURCE = typer.Argument(..., help="A folder of checkouts, or a file listing repo paths/URLs")
_JOBS = typer.Option(os.cpu_count() or 1, "--jobs", "-j", help="Parallel processes")
_WORKDIR = typer.Option(Path(".scaffold-fleet"), "--workdir", help="Where URLs are cloned")
_JSON = typer.Option(None, "--json", help="Write the JSON summary here")
_FMT = typer.Option("table", "--format", help="table or json")


@fleet_app.command("status")
def fleet_status(source: Path = _SOURCE, jobs: int = _JOBS, workdir: Path = _WORKDIR,
                 json_out: Optional[Path] = _JSON, fmt: str = _FMT) -> None:
    """Which repos are dirty, up to date, or behind the template."""
    _fleet("status", source, jobs, workdir, json_out, None, fmt)


@fleet_app.command("update")
def fleet_update(source: Path = _SOURCE, jobs: int = _JOBS, workdir: Path = _WORKDIR,
                 json_out: Optional[Path] = _JSON, fmt: str = _FMT,
                 vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref", help="Template ref to update to")) -> None:
    """Update every clean repo on its own branch and commit; skip dirty ones."""
    _fleet("update", source, jobs, workdir, json_out, vcs_ref, fmt)


blueprint_app = typer.Typer(help="For blueprint publishers: matrix tests and golden examples.")
app.add_typer(blueprint_app, name="blueprint")


@blueprint_app.command("test")
def blueprint_test(
    matrix: Optional[Path] = typer.Option(None, "--matrix", help="YAML list of answer sets (each with a name)"),
    template: Optional[str] = typer.Option(None, "--template", help="Template source"),
    vcs_ref: Optional[str] = typer.Option(None, "--vcs-ref"),
    all_checks: bool = typer.Option(False, "--all", help="Include slow checks (checkov)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Render every answer set and run the whole validation spine on each."""
    from . import blueprint

    try:
        sets = blueprint.load_matrix(matrix)
    except ValueError as exc:
        fail(str(exc))
    results = blueprint.test_matrix(template or template_root(), sets, include_slow=all_checks, vcs_ref=vcs_ref)
    if fmt == "json":
        out.print_json(json.dumps([r.__dict__ for r in results], default=str))
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
    check_only: bool = typer.Option(False, "--check", help="Only report whether they are current"),
    template: Optional[str] = typer.Option(None, "--template"),
) -> None:
    """Regenerate the golden examples (or --check that they are current)."""
    from . import blueprint

    src = template or template_root()
    if check_only:
        stale = blueprint.stale_examples(src, out_dir)
        for line in stale[:50]:
            out.print(line, markup=False)
        if stale:
            fail(f"{len(stale)} example files are stale: run `scaffold blueprint examples`", code=1)
        out.print("examples are current")
        return
    for path in blueprint.regenerate_examples(src, out_dir):
        out.print(f"wrote {path}")


@app.command()
def tasks(
    directory: Path = typer.Argument(Path("."), help="A generated package"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be filed; write nothing"),
) -> None:
    """File the Backlog.md tasks the hook would file (new artifacts and alerts only)."""
    from . import backlog
    from .package import PackageError

    try:
        report = backlog.sync(directory, dry_run=dry_run)
    except (backlog.BacklogError, PackageError) as exc:
        fail(str(exc), code=1)
    verb = "would file" if dry_run else "filed"
    for t in report.created:
        out.print(f"{verb} {t.id}  {t.title}  [{', '.join(t.labels)}]", markup=False, soft_wrap=True)
    for t in report.marked_removed:
        out.print(f"{'would mark' if dry_run else 'marked'} {t.id}  {t.title}  (artifact removed)", markup=False, soft_wrap=True)
    for t in report.unmarked:
        out.print(f"{'would unmark' if dry_run else 'unmarked'} {t.id}  {t.title}  (artifact back)", markup=False, soft_wrap=True)
    out.print(report.summary() if not dry_run else f"dry run: {report.summary().replace('filed', 'would file', 1)}",
              markup=False, soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
