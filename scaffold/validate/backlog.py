"""Backlog: every artifact (reviewable unit) is named by a task, every alert has a runbook task,
and the real ``backlog`` CLI lists every task with the criteria we wrote."""

from __future__ import annotations

import re

from .. import tools
from ..artifacts import alerts
from ..artifacts import tasks as policy
from ..backlog import backlog
from ..model.package import Package
from . import Finding, checker

LISTED = re.compile(r"^\s+(?:\[[A-Z]+\]\s+)?([A-Za-z]+-\d+(?:\.\d+)*) - (.*?)(?: \(ac: (\d+)/(\d+)\))?\s*$")


def listed_tasks(output: str) -> dict[str, tuple[str, int]]:
    """`backlog task list --plain` lines -> {ID: (title, criteria count)}."""
    found = {}
    for line in output.splitlines():
        m = LISTED.match(line)
        if m:
            found[m.group(1).upper()] = (m.group(2), int(m.group(4) or 0))
    return found


@checker
class BacklogTasks:
    name = "backlog"
    tool = "backlog"
    slow = False
    weight = 3  # the backlog CLI (node)

    def applies(self, pkg: Package) -> bool:
        # backlog: false turns the hook off, and with it the duty to keep a task per artifact:
        # a backlog/ left from before is the team's own notes, not enforced.
        return bool(pkg.answers.get("backlog", True))

    def run(self, pkg: Package) -> list[Finding]:
        where = f"{backlog.BACKLOG_DIR}/"
        try:
            config = backlog.load_config(pkg.root)
            if config is None:
                return [Finding(f"{where}config.yml", "no Backlog.md project: run `scaffold tasks`")]
            problems: list[backlog.Unreadable] = []
            tasks = backlog.load_tasks(pkg.root, config, problems)
            drafts = backlog.load_drafts(pkg.root, problems)
        except backlog.BacklogError as exc:
            return [Finding(where, str(exc))]
        # A file the CLI cannot read is a finding of its own; the others are still checked.
        findings = [Finding(backlog._rel(p.path), p.message.split(": ", 1)[-1]) for p in problems]
        named = {ref for t in tasks + drafts for ref in t.references + t.modified_files}
        named |= {ref for p in problems for ref in p.references}
        for unit in policy.units(pkg.model, policy.artifacts(pkg.root)):
            # A unit is named by its own task, or (a backlog from the per-file plan) by a task for one of its files.
            if unit.key not in named and not any(f in named for f in unit.files):
                findings.append(Finding(unit.key, "no backlog task names this artifact (run `scaffold tasks`)"))
        titles = {t.title for t in tasks + drafts}
        for alert in alerts.alerts(pkg.model):
            # The runbook path is the task's identity; a retitled task still counts.
            if f"Runbook: {alert.name} response" not in titles and policy.runbook_path(alert.name) not in named:
                findings.append(Finding(policy.runbook_path(alert.name), f"alert {alert.name} has no runbook task"))
        res = tools.run("backlog", "task", "list", "--plain", cwd=pkg.root, env={"NO_COLOR": "1"})
        if res.returncode != 0:
            return findings + [Finding(where, f"backlog task list failed: {res.output[:300]}")]
        listed = listed_tasks(res.stdout)
        for t in tasks:
            if t.folder != "tasks":
                continue  # completed/archived tasks are not in `task list`
            rel = f"{where}tasks/{t.path.name}" if t.path else where
            if t.id.upper() not in listed:
                findings.append(Finding(rel, f"{t.id} is not listed by `backlog task list --plain`"))
            elif listed[t.id.upper()][1] != len(t.criteria):
                findings.append(Finding(rel, f"{t.id}: the CLI reads {listed[t.id.upper()][1]} acceptance "
                                             f"criteria, the file has {len(t.criteria)}"))
        return findings
