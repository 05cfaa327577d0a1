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

from scaffold import live, tools
from scaffold.package import PackageError

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
    t.add_row("SLI error ratio (5m)", ", ".join(f"{k} {v:.4f}" for k, v in state["sli"].items()) or "(no data yet)")
    t.add_row("alerts", ", ".join(f"[{STATE_STYLE.get(v, 'white')}]{k} {v}[/]"
                                  for k, v in state["alerts"].items()) or "none")
    t.add_row("notifications", str(state["notifications"]))
    t.add_row("inhibited", ", ".join(state["inhibited"]) or "none")
    return t


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
        head.add_row("recorded", f"slo:sli_error:ratio_rate5m{{slo=\"availability\"}} = {s['recorded_error_ratio']:.4f}"
                     + (f" (expected {o['fail_rate']} +/- {s['error_ratio_tolerance']:.4f})"
                        if s["error_ratio_tolerance"] is not None else ""))
    elif tr["sent"]:
        head.add_row("recorded", "slo:sli_error:ratio_rate5m{slo=\"availability\"} absent: no 5xx series exists "
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
        sli.add_row(r["slo"], r["namespace"], f"{r['last_ratio_rate5m']:.4f}", f"{r['max_ratio_rate5m']:.4f}")

    lines: list[Any] = ["", "[bold]alerts (Prometheus)[/]"]
    for a in s["alerts"]:
        states = " -> ".join(f"[{STATE_STYLE.get(k, 'white')}]{k}[/] at {v}s" for k, v in a["first_s"].items())
        lab = a["labels"]
        slo = f" slo={lab['slo']}" if lab.get("slo") else ""
        lines.append(f"  {a['alert']}  {lab.get('severity', '')}/{lab.get('tier', '')}{slo}  {states}")
        lines.append(f"    runbook_url: {a['runbook_url']}")
    lines += ["", "[bold]notifications received by the sink[/]"]
    for n in s["notifications"]:
        lines.append(f"  {n['at_s']}s  {n['receiver']} via {n['integration']}")
        for a in n["alerts"]:
            lab = a["labels"]
            lines.append(f"    {a['alertname']} ({a['status']}) severity={lab.get('severity')} tier={lab.get('tier')} "
                         f"service={lab.get('service')} slo={lab.get('slo')}")
            lines.append(f"      runbook_url: {a['annotations'].get('runbook_url')}")
        r = n["rendered"]
        if n["integration"] == "pagerduty":
            lines.append(f"    event {r['event_action']}: severity={r['severity']} summary={r['summary']!r}")
            lines.append(f"      details.runbook_url: {(r['details'] or {}).get('runbook_url')}")
        elif n["integration"] == "slack":
            lines.append(f"    {r['channel']}: {r['title']}")
    if not s["notifications"]:
        lines.append("  none")
    lines.append("")

    lines.append("[bold]inhibited (Alertmanager)[/]")
    for i in s["inhibited"]:
        lab = i["labels"]
        lines.append(f"  {i['alert']} (tier={lab.get('tier')} slo={lab.get('slo')}) inhibited by "
                     f"{', '.join(i['inhibited_by'])} from {i['first_s']}s")
    if not s["inhibited"]:
        lines.append("  none")
    hit = ", ".join(f"{r}: {', '.join(a) or '(no alerts)'}" for r, a in s["receivers_hit"].items()) or "none"
    return Group(head, sli, *lines, "", f"[bold]receivers hit:[/] {hit}")


def run(directory: Path, *, duration: float, fail_rate: float, rps: float | None, fmt: str,
        console: Console, out: Console) -> int:
    """The `scaffold try` command; returns the exit code."""
    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # the run's finally stops every process

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        try:
            runner = live.LiveRun(directory, live.Options(duration=duration, fail_rate=fail_rate, rps=rps))
        except (live.LiveError, PackageError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        try:
            if fmt == "json" or not console.is_terminal:
                summary = runner.run()
            else:
                with Live(console=console, refresh_per_second=2, transient=True) as view:
                    runner.on_update = lambda state: view.update(progress(state))
                    summary = runner.run()
        except (live.LiveError, tools.ToolMissing) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: every process stopped")
            return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if fmt == "json":
        out.print_json(json.dumps(summary))
    else:
        out.print(summary_view(summary))
    return 0
