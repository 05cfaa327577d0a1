"""`scaffold try` on the terminal: a live progress view, then a summary table or JSON."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .. import tools
from ..conventions import SLI_ERROR_RATIO_5M
from ..model.package import PackageError
from . import live

STATE_STYLE = {"firing": "red", "pending": "yellow", "inactive": "green"}


def progress(state: dict[str, Any]) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    elapsed, total = state["elapsed_s"], state["duration_s"]
    t.add_row("phase", f"{state['phase']}  {elapsed:.0f}/{total:.0f}s")
    t.add_row("", ProgressBar(total=total, completed=min(elapsed, total), width=40))
    req = state["requests"]
    if req:
        sent = sum(req.values())
        bad = sum(n for c, n in req.items() if c.startswith("5"))
        t.add_row("requests", f"{sent} sent, {bad} answered 5xx")
    t.add_row("SLI error ratio (5m)", Text(", ".join(f"{k} {v:.4f}" for k, v in state["sli"].items()) or "(no data yet)"))
    alerts = Text(", ").join(Text(f"{k} {v}", style=STATE_STYLE.get(v, "white")) for k, v in state["alerts"].items())
    t.add_row("alerts", alerts or "none")
    t.add_row("notifications", str(state["notifications"]))
    t.add_row("spans", str(state.get("spans", 0)))
    t.add_row("inhibited", Text(", ".join(state["inhibited"]) or "none"))
    return t


PLAIN_EVERY_S = 10.0  # piped: one progress line per this much run time


def plain_line(state: dict[str, Any]) -> str:
    """The progress view as one plain line, for logs and pipes."""
    req = state["requests"]
    sent = sum(req.values()) if req else 0
    bad = sum(n for c, n in req.items() if c.startswith("5")) if req else 0
    alerts = ", ".join(f"{k} {v}" for k, v in state["alerts"].items()) or "none"
    return (f"try: {state['phase']} {state['elapsed_s']:.0f}/{state['duration_s']:.0f}s: {sent} requests, "
            f"{bad} 5xx; alerts: {alerts}; notifications: {state['notifications']}; spans: {state.get('spans', 0)}")


def plain_progress(write: Any) -> Any:
    """An ``on_update`` that writes a line every PLAIN_EVERY_S of run time, and on each phase change."""
    last = {"at": -PLAIN_EVERY_S, "phase": None}

    def on_update(state: dict[str, Any]) -> None:
        if state["elapsed_s"] - last["at"] >= PLAIN_EVERY_S or state["phase"] != last["phase"]:
            last["at"], last["phase"] = state["elapsed_s"], state["phase"]
            write(plain_line(state))
    return on_update


def summary_view(s: dict[str, Any]) -> Group:
    o, tr = s["options"], s["traffic"]
    head = Table(title=f"scaffold try {s['package']} ({s['stack']} {s['blueprint']}, namespace {s['namespace']})",
                 show_header=False)
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("injected", f"fail rate {o['fail_rate']} at {o['rps']} req/s for {o['duration_s']:.0f}s"
                 if o["rps"] else f"fail rate {o['fail_rate']} for {o['duration_s']:.0f}s")
    if tr["sent"]:
        head.add_row("traffic", f"{tr['sent']} requests, codes {tr['codes']}, observed error ratio "
                     f"{tr['observed_error_ratio']:.4f}")
    if s["recorded_error_ratio"] is not None:
        head.add_row("recorded", f"{SLI_ERROR_RATIO_5M}{{slo=\"availability\"}} = {s['recorded_error_ratio']:.4f}"
                     + (f" (expected {o['fail_rate']} +/- {s['error_ratio_tolerance']:.4f})"
                        if s["error_ratio_tolerance"] is not None else ""))
    elif tr["sent"]:
        head.add_row("recorded", f"{SLI_ERROR_RATIO_5M}{{slo=\"availability\"}} absent: no 5xx series exists "
                     "(zero errors)")
    for note in s["notes"]:
        head.add_row("note", note)
    c = s["compression"]
    head.add_row("time compression", f"waits / {c['factor']} (floor {c['floor']}): rule for:, group intervals, "
                 f"Alertmanager group_wait/group_interval/repeat_interval; unchanged: {c['unchanged']}")

    sli = Table(title="SLIs (recording rules)", title_justify="left")
    for col in ("slo", "namespace", "last ratio_rate5m", "max ratio_rate5m"):
        sli.add_column(col)
    for r in s["sli"]:
        sli.add_row(Text(r["slo"]), Text(r["namespace"]), f"{r['last_ratio_rate5m']:.4f}", f"{r['max_ratio_rate5m']:.4f}")

    # Labels and annotations are data: Text() never parses them as markup.
    lines: list[Any] = ["", Text("alerts (Prometheus)", style="bold")]
    for a in s["alerts"]:
        lab = a["labels"]
        slo = f" slo={lab['slo']}" if lab.get("slo") else ""
        line = Text(f"  {a['alert']}  {lab.get('severity', '')}/{lab.get('tier', '')}{slo} ")
        for i, (k, v) in enumerate(a["first_s"].items()):
            line.append(" -> " if i else " ").append(k, style=STATE_STYLE.get(k, "white")).append(f" at {v}s")
        lines += [line, Text(f"    runbook_url: {a['runbook_url']}")]
    lines += ["", Text("notifications received by the sink", style="bold")]
    for n in s["notifications"]:
        lines.append(Text(f"  {n['at_s']}s  {n['receiver']} via {n['integration']}"))
        for a in n["alerts"]:
            lab = a["labels"]
            lines.append(Text(f"    {a['alertname']} ({a['status']}) severity={lab.get('severity')} "
                              f"tier={lab.get('tier')} service={lab.get('service')} slo={lab.get('slo')}"))
            lines.append(Text(f"      runbook_url: {a['annotations'].get('runbook_url')}"))
        r = n["rendered"]
        if n["integration"] == "pagerduty":
            lines.append(Text(f"    event {r['event_action']}: severity={r['severity']} summary={r['summary']!r}"))
            lines.append(Text(f"      details.runbook_url: {(r['details'] or {}).get('runbook_url')}"))
        elif n["integration"] == "slack":
            lines.append(Text(f"    {r['channel']}: {r['title']}"))
    if not s["notifications"]:
        lines.append("  none")
    lines += ["", Text("inhibited (Alertmanager)", style="bold")]
    for i in s["inhibited"]:
        lab = i["labels"]
        lines.append(Text(f"  {i['alert']} (tier={lab.get('tier')} slo={lab.get('slo')}) inhibited by "
                          f"{', '.join(i['inhibited_by'])} from {i['first_s']}s"))
    if not s["inhibited"]:
        lines.append("  none")
    tr = s.get("traces") or {}
    lines += ["", Text(f"traces received by the sink (OTLP): {tr.get('spans', 0)} spans in {tr.get('traces', 0)} "
                       f"traces, {tr.get('errors', 0)} with error status; the most recent:", style="bold")]
    for sp in tr.get("recent", []):
        lines.append(Text(f"  {sp['trace_id']}  {sp['name']}  {sp['duration_ms']:.1f} ms  {sp['status']}"
                          + (f"  http {sp['http_status']}" if sp.get("http_status") is not None else "")))
    if not tr.get("recent"):
        lines.append("  none")
    hit = ", ".join(f"{r}: {', '.join(a) or '(no alerts)'}" for r, a in s["receivers_hit"].items()) or "none"
    return Group(head, sli, *lines, "", Text.assemble(("receivers hit: ", "bold"), hit))


def run(directory: Path, *, duration: float, fail_rate: float, rps: float | None, fmt: str,
        console: Console, out: Console) -> int:
    """The `scaffold try` command; returns the exit code."""
    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # the run's finally stops every process

    if fmt not in ("table", "json"):
        console.print(Text(f"error: --format must be table or json, not {fmt!r}"))
        return 2
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        try:
            runner = live.LiveRun(directory, live.Options(duration=duration, fail_rate=fail_rate, rps=rps))
        except (live.LiveError, PackageError) as exc:
            console.print(Text.assemble(("error: ", "red"), str(exc)))
            return 2
        try:
            if not console.is_terminal:  # piped or logged: plain lines on stderr as it goes
                import sys

                def write(text: str) -> None:
                    sys.stderr.write(text + "\n")
                    sys.stderr.flush()
                runner.on_note = lambda text: write(f"try: {text}")
                runner.on_update = plain_progress(write)
                summary = runner.run()
            else:
                runner.on_note = lambda text: console.print(Text(f"try: {text}"))
                with Live(console=console, refresh_per_second=2, transient=True) as view:
                    runner.on_update = lambda state: view.update(progress(state))
                    summary = runner.run()
        except (live.LiveError, tools.ToolMissing) as exc:
            console.print(Text.assemble(("error: ", "red"), str(exc)))
            return 1
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: every process stopped")
            return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if fmt == "json":
        import sys

        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        out.print(summary_view(summary))
    return 0
