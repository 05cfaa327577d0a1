"""Issue 15 acceptance: a year of a service's life in one run, and no committed
line of the team's is lost without a file or a report that names it.

1. generate (v1.0.0);  2. the team edits and commits;
3. update to v1.1.0, which changes Python (scaffold/artifacts/k8s.py's HPA scale-down window:
   it arrives once the template renders with the tag's own code, issue 12) and a
   template (README);
4. change answers at v1.1.0: add an environment, delivery=rolling, gitops=flux, stack=go;
5. update to v2.0.0, which stops generating docs/capacity.md and moves
   docs/postmortem-template.md (a `scaffold.migrate move` migration);
6. run fleet twice (v2.1.0), with human commits on the update branch and on main in between.

After every step, every line the team committed is still in some file of the
package (where it was, where the template moved it, or in a `*.scaffold-kept`
file), or the step's report names its file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import generate_project, git, require_tool, trust_source
from scaffold.backlog import backlog
from scaffold.fleet import fleet, keep, lifecycle
from scaffold import yamlio
from scaffold.artifacts import tasks as policy
from scaffold.model.package import Package
from scaffold.validate.backlog import BacklogTasks

pytestmark = pytest.mark.slow

OLD_PM, NEW_PM = "docs/postmortem-template.md", "docs/incidents/postmortem-template.md"
README_V11 = "Blueprint v1.1: dashboards link the SLO document."


def _commit(repo: Path, tag: str, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    git(repo, "tag", tag)


@pytest.fixture(scope="module")
def template(template_repo: Path, tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("tpl-year") / "scaffold"
    trust_source(repo)
    subprocess.run(["git", "clone", "-q", str(template_repo), str(repo)], check=True)
    # v1.1.0: a Python-side and a template-side change.
    k8s = repo / "scaffold" / "artifacts" / "k8s.py"
    k8s.write_text(k8s.read_text().replace("SCALE_DOWN_WINDOW_SECONDS = 300", "SCALE_DOWN_WINDOW_SECONDS = 600"))
    readme = repo / "blueprints/package/README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{README_V11}\n")
    _commit(repo, "v1.1.0", "v1.1.0: slower scale-down; README line")
    # v2.0.0: one file removed, one moved (with its migration).
    docs = repo / "blueprints/package/docs"
    (docs / "capacity.md.jinja").unlink()
    (docs / "incidents").mkdir()
    (docs / "postmortem-template.md.jinja").rename(docs / "incidents" / "postmortem-template.md.jinja")
    conf = (repo / "copier.yml").read_text()
    conf = conf.replace("\n_migrations:\n", "\n_migrations:\n  - version: v2.0.0\n"
                        f"    command: [\"{{{{ _copier_python }}}}\", \"-m\", \"scaffold.migrate\", \"move\", \"{OLD_PM}\", \"{NEW_PM}\"]\n"
                        "    when: \"{{ _stage == 'before' }}\"\n", 1)
    (repo / "copier.yml").write_text(conf)
    _commit(repo, "v2.0.0", "v2.0.0: capacity planning moves to the handbook; postmortems under docs/incidents")
    # v2.1.0: a small change for the fleet runs.
    readme.write_text(readme.read_text() + "\nBlueprint v2.1.\n")
    _commit(repo, "v2.1.0", "v2.1.0")
    return repo


class Ledger:
    """Every line the team committed, and every file a report named."""

    def __init__(self, root: Path):
        self.root = root
        self.lines: list[tuple[str, str]] = []
        self.named: set[str] = set()
        self.n = 0

    def add(self, rel: str, text: str | None = None, comment: str = "#") -> str:
        self.n += 1
        line = f"{comment} team-{self.n}: {text or 'local change'}"
        path = self.root / rel
        body = path.read_text()
        path.write_text(body + ("" if body.endswith("\n") else "\n") + line + "\n")
        self.lines.append((rel, line))
        return line

    def report(self, text: str) -> None:
        self.named |= set(re.findall(r"[\w./-]+\.[\w-]+", text))

    def lost(self, tree: dict[str, str]) -> list[tuple[str, str]]:
        """Team lines found in no file of ``tree`` and whose file no report names."""
        everything = "\n".join(tree.values())
        return [(rel, line) for rel, line in self.lines
                if line not in everything and rel not in self.named]


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for rel in policy.git_files(root) or []:
        p = root / rel
        if p.is_file():
            try:
                out[rel] = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                pass
    return out


def _branch_tree(root: Path, branch: str) -> dict[str, str]:
    names = git(root, "ls-tree", "-r", "--name-only", branch).split("\n")
    return {n: git(root, "show", f"{branch}:{n}") for n in names if n and not n.startswith("backlog/")}


def _update(dest: Path, ledger: Ledger, *, vcs_ref: str, data: dict | None = None) -> dict:
    """`scaffold update` as the team runs it, in its own process so the hooks' report is captured."""
    import sys

    code = ("import sys, json; from scaffold.fleet import lifecycle; "
            "lifecycle.update(sys.argv[1], vcs_ref=sys.argv[2], data=json.loads(sys.argv[3]))")
    import json

    proc = subprocess.run([sys.executable, "-c", code, str(dest), vcs_ref, json.dumps(data or {})],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ledger.report(proc.stderr)
    report = keep.update_report(dest)
    ledger.report(" ".join(report["kept"] + report["conflicts"]))
    lost = ledger.lost(_tree(dest))
    assert not lost, lost
    for rel in report["conflicts"]:  # the team resolves: keeps its side ("before updating")
        _resolve_ours(dest / rel)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"update {vcs_ref} {sorted(data or {})}")
    return report


def _resolve_ours(path: Path) -> None:
    out, side = [], None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "ours"
        elif line.startswith("=======") and side == "ours":
            side = "theirs"
        elif line.startswith(">>>>>>> ") and side:
            side = None
        elif side != "theirs":
            out.append(line)
    path.write_text("".join(out))


def test_a_year_of_updates_loses_no_ones_work(template: Path, tmp_path: Path):
    require_tool("backlog")
    services = tmp_path / "services"
    dest = generate_project(template, services / "payments-api")  # 1. generate (v1.0.0)
    ledger = Ledger(dest)

    # 2. edit: a manifest, the canary, a runbook, the app, two docs; commit.
    ledger.add("k8s/base/deployment.yaml", "pinned node pool reviewed")
    ledger.add("k8s/base/rollout.yaml", "canary: pause 10m at 25% (tuned after INC-12)")
    runbook = sorted((dest / "runbooks").glob("*.md"))[0].relative_to(dest).as_posix()
    ledger.add(runbook, "call the payments DBA first", comment="")
    ledger.add("app/main.py", "our /refunds endpoint lives in refunds.py")
    ledger.add("docs/capacity.md", "peak 2025 was 1,900 req/s on 6 pods", comment="")
    ledger.add(OLD_PM, "attach the Grafana snapshot to every postmortem", comment="")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "team edits")
    assert ledger.lost(_tree(dest)) == []

    # 3. update with a Python-side and a template-side change.
    assert _update(dest, ledger, vcs_ref="v1.1.0")["conflicts"] == []  # appended lines merge cleanly
    assert README_V11 in (dest / "README.md").read_text()
    assert yamlio.load_file(dest / ".copier-answers.yml")["_commit"] == "v1.1.0"

    # 4. change answers: add an environment, rolling delivery, Flux, Go.
    envs = ["dev", "staging", "perf", "prod"]
    _update(dest, ledger, vcs_ref="v1.1.0",
            data={"environments": envs, "delivery": "rolling", "gitops": "flux", "stack": "go"})
    answers = yamlio.load_file(dest / ".copier-answers.yml")
    assert (answers["environments"], answers["delivery"], answers["gitops"], answers["stack"]) == (
        envs, "rolling", "flux", "go")
    assert (dest / "k8s/overlays/perf/kustomization.yaml").is_file()
    assert not (dest / "k8s/base/rollout.yaml").exists() and not (dest / "app/main.py").exists()
    kept = keep.kept_files(dest)
    assert "k8s/base/rollout.yaml.scaffold-kept" in kept and "app/main.py.scaffold-kept" in kept
    assert "k8s/base/analysistemplate.yaml.scaffold-kept" not in kept  # unedited: simply gone
    tasks = {policy.task_key(t.references): t for t in backlog.load_tasks(dest, backlog.load_config(dest), [])}
    assert policy.REMOVED_LABEL in tasks["k8s/base/rollout.yaml"].labels
    assert "k8s/overlays/perf" in tasks  # the new environment's overlay: one unit
    assert BacklogTasks().run(Package.load(dest)) == []

    # 5. update across a removed file and a moved file. The moved file's edit arrives
    # marked inline (Copier sees it added on both sides): reported, then resolved.
    assert _update(dest, ledger, vcs_ref="v2.0.0")["conflicts"] == [NEW_PM]
    assert not (dest / "docs/capacity.md").exists() and (dest / "docs/capacity.md.scaffold-kept").is_file()
    assert "attach the Grafana snapshot" in (dest / NEW_PM).read_text()  # moved with its edit
    assert not (dest / OLD_PM).exists()

    # 6. fleet twice, with human commits in between.
    first = fleet.run([str(dest)], "update", jobs=2)[0]  # inside a pool process (the fleet's own update path)
    assert first.status == "updated", first
    ledger.report(first.detail)
    git(dest, "checkout", "-q", first.branch)
    review = ledger.add("README.md", "reviewed the v2.1 notes", comment="")
    git(dest, "commit", "-qam", "review: README")
    git(dest, "checkout", "-q", "main")
    ledger.add("k8s/base/service.yaml", "annotation for the mesh, added on main")
    git(dest, "commit", "-qam", "main moves on")
    second = fleet.run([str(dest)], "update", jobs=1)[0]
    assert second.status == "in-review", second
    branch = _branch_tree(dest, first.branch)
    assert review in branch["README.md"]
    on_main = "\n".join(_tree(dest).values())
    on_branch = "\n".join(branch.values())
    for rel, line in ledger.lines:  # each line is where its commit put it, or its file was reported
        where = on_branch if line == review else on_main
        assert line in where or rel in ledger.named, (rel, line)
        if "added on main" not in line:
            assert line in on_branch or rel in ledger.named, (rel, line)
    # scaffold check names what is still to merge.
    report = lifecycle.check(dest)
    assert set(report.kept) == {"app/main.py.scaffold-kept", "k8s/base/rollout.yaml.scaffold-kept",
                                "docs/capacity.md.scaffold-kept"}
