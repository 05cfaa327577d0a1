"""Generated GitHub workflows: every real checker on every stack, the promotion
graph read from the files (needs, if:, outputs), and mutations the checkers must catch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate import load_checkers, run_one
from scaffold.validate import workflows as wfcheck

STACKS = ("python", "node", "go", "dotnet")
FAST = ("workflows-actionlint", "workflows-zizmor", "workflows-schema", "workflows-pins", "workflows-hygiene")
TOOLS = {"workflows-actionlint": ("actionlint", "shellcheck"), "workflows-zizmor": ("zizmor",),
         "workflows-schema": ("check-jsonschema",), "checkov": ("checkov",)}
WF = ".github/workflows"


def run_checker(name: str, root: Path):
    for tool in TOOLS.get(name, ()):
        require_tool(tool)
    return run_one(load_checkers()[name], Package.load(root))


def load(root: Path, name: str) -> dict[str, Any]:
    return yamlio.load_file(root / WF / name)


# -- every checker, every stack ------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("check", FAST)
def test_checks_pass_for_every_stack(render, stack: str, check: str) -> None:
    root = render(stack=stack, skip_tasks=True)
    result = run_checker(check, root)
    assert result.status == "pass", [f"{f.file}: {f.message}" for f in result.findings]


@pytest.mark.slow
@pytest.mark.parametrize("stack", STACKS)
def test_checkov_passes_with_github_actions(render, stack: str) -> None:
    """checkov's github_actions framework runs in the package's one checkov config."""
    root = render(stack=stack, skip_tasks=True)
    cfg = yamlio.load_file(root / ".checkov.yaml")
    assert "github_actions" in cfg["framework"] and WF in cfg["directory"]
    result = run_checker("checkov", root)
    assert result.status == "pass", [f"{f.file}: {f.message}" for f in result.findings]


@pytest.mark.slow
def test_checkov_catches_write_all(render, tmp_path: Path) -> None:
    dest = mutable_copy(render(skip_tasks=True), tmp_path)
    path = dest / WF / "blueprint-update.yml"
    path.write_text(path.read_text().replace("\npermissions: {}\n", "\npermissions: write-all\n", 1))
    result = run_checker("checkov", dest)
    assert result.status == "fail"
    assert any("github_actions" in f.message and "blueprint-update.yml" in f.file for f in result.findings), \
        result.findings


@pytest.mark.slow
def test_checkov_evaluates_the_workflows_its_schema_rejects(render, tmp_path: Path) -> None:
    """ci.yml and cd.yml grant `attestations`, which checkov 3.3's schema does not know; the
    checker runs them from copies, so a write-all ci.yml and cd.yml without its per-file
    CKV_GHA_7 skip both fail."""
    dest = mutable_copy(render(skip_tasks=True), tmp_path)
    ci, cd = dest / WF / "ci.yml", dest / WF / "cd.yml"
    assert "attestations: write" in ci.read_text()
    ci.write_text(ci.read_text().replace("\npermissions: {}\n", "\npermissions: write-all\n", 1))
    skip = cd.read_text()
    assert "checkov:skip=CKV_GHA_7" in skip
    cd.write_text(skip.replace("  # checkov:skip=CKV_GHA_7", "  # was a skip: CKV_GHA_7", 1))
    result = run_checker("checkov", dest)
    assert result.status == "fail"
    failed = {(f.file, f.message.split()[1]) for f in result.findings}
    assert (f"{WF}/ci.yml", "CKV2_GHA_1") in failed, result.findings
    assert (f"{WF}/cd.yml", "CKV_GHA_7") in failed, result.findings


@pytest.mark.parametrize("answers", [
    {"blueprint": "worker", "environments": ["qa", "prod"], "gitops": "flux"},
    {"blueprint": "cronjob", "environments": ["dev", "test", "staging", "prod"], "image_registry": "registry.example.com/acme"},
    {"delivery": "rolling", "environments": ["prod"]},
])
def test_other_answer_sets_pass(render, answers: dict) -> None:
    root = render(name="orders-svc", skip_tasks=True, **answers)
    for check in FAST:
        result = run_checker(check, root)
        assert result.status == "pass", (check, [f"{f.file}: {f.message}" for f in result.findings])


# -- a small evaluator for the `if:` expressions the workflows use ---------------------------
_TOKEN = re.compile(r"\s*(\$\{\{|\}\}|==|!=|&&|\|\||!|\(|\)|'[^']*'|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*)")


def evaluate(expr: str | None, ctx: dict[str, Any], status_ok: bool = True) -> bool:
    """GitHub's semantics for the subset used here; a job without `if:` means success()."""
    if expr is None:
        return status_ok
    text = expr.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse {expr!r} at {text[pos:]!r}")
        tokens.append(m.group(1))
        pos = m.end()
    py = []
    uses_status = False
    for tok in tokens:
        if tok == "&&":
            py.append(" and ")
        elif tok == "||":
            py.append(" or ")
        elif tok == "!":
            py.append(" not ")
        elif tok in ("==", "!=", "(", ")"):
            py.append(tok)
        elif tok.startswith("'"):
            py.append(repr(tok[1:-1]))
        elif tok.endswith("()"):
            uses_status = True
            py.append(repr({"success()": status_ok, "always()": True, "cancelled()": False,
                            "failure()": False}[tok]))
        elif tok in ("true", "false"):
            py.append(tok.capitalize())
        else:
            py.append(repr(ctx[tok]))
    value = bool(eval("".join(py), {"__builtins__": {}}))  # noqa: S307 - tokens are whitelisted above
    return value if uses_status else value and status_ok


def ran_jobs(doc: dict[str, Any], ctx: dict[str, Any]) -> set[str]:
    """Jobs that run when every job that runs succeeds."""
    jobs = doc["jobs"]
    ran: set[str] = set()
    decided: set[str] = set()
    while len(decided) < len(jobs):
        progressed = False
        for jid, job in jobs.items():
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if jid in decided or not set(needs) <= decided:
                continue
            if evaluate(job.get("if"), ctx, status_ok=set(needs) <= ran):
                ran.add(jid)
            decided.add(jid)
            progressed = True
        assert progressed, "cycle in needs"
    return ran


PUSH = {"github.event_name": "push", "github.ref": "refs/heads/main"}
PULL = {"github.event_name": "pull_request", "github.ref": "refs/pull/1/merge"}


def needs_of(job: dict) -> list[str]:
    n = job.get("needs", [])
    return [n] if isinstance(n, str) else list(n)


# -- the promotion graph -----------------------------------------------------------------------
@pytest.mark.parametrize("answers", [{}, {"environments": ["qa", "uat", "perf", "prod"], "stack": "go"},
                                     {"blueprint": "cronjob", "environments": ["prod"]}])
def test_promotion_graph(render, answers: dict) -> None:
    root = render(skip_tasks=True, **answers)
    envs = answers.get("environments", ["dev", "staging", "prod"])
    ci, cd = load(root, "ci.yml"), load(root, "cd.yml")

    # CI: a push to the default branch reaches the caller of cd.yml; a PR does not.
    assert "main" in ci["on"]["push"]["branches"]
    on_push = ran_jobs(ci, PUSH)
    callers = [jid for jid, j in ci["jobs"].items() if j.get("uses") == "./.github/workflows/cd.yml"]
    assert len(callers) == 1 and callers[0] in on_push
    assert callers[0] not in ran_jobs(ci, PULL)
    caller = ci["jobs"][callers[0]]

    # The digest: build-push-action -> digest step -> publish output -> cd input.
    m = re.fullmatch(r"\$\{\{ needs\.([\w-]+)\.outputs\.([\w-]+) \}\}", caller["with"]["digest"])
    assert m, caller["with"]
    producer = ci["jobs"][m.group(1)]
    assert m.group(1) in needs_of(caller) and m.group(1) in on_push
    out = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.digest \}\}", producer["outputs"][m.group(2)])
    assert out
    steps = {s.get("id"): s for s in producer["steps"] if s.get("id")}
    digest_step = steps[out.group(1)]
    build_ref = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.digest \}\}", digest_step["env"]["DIGEST"])
    assert build_ref and steps[build_ref.group(1)]["uses"].startswith("docker/build-push-action@")
    assert steps[build_ref.group(1)]["with"]["push"] is True
    # The caller grants every permission the called jobs ask for.
    for job in cd["jobs"].values():
        for scope, level in job.get("permissions", {}).items():
            assert caller["permissions"].get(scope) in (level, "write"), (scope, level)

    # CD: called with the digest; one job per environment, in order, each needing the previous.
    assert cd["on"]["workflow_call"]["inputs"]["digest"]["required"] is True
    called = ran_jobs(cd, {"github.event_name": "push", "github.ref": "refs/heads/main"})
    deploys = [jid for jid, j in cd["jobs"].items() if isinstance(j.get("environment"), dict)]
    assert [cd["jobs"][d]["environment"]["name"] for d in deploys] == envs
    previous = None
    for jid in deploys:
        job = cd["jobs"][jid]
        assert jid in called, f"{jid} is unreachable"
        if previous:
            assert previous in needs_of(job), f"{jid} does not need {previous}"
        previous = jid
        digests = {s["env"]["DIGEST"] for s in job["steps"] if "DIGEST" in (s.get("env") or {})}
        assert digests == {"${{ inputs.digest }}"}, digests
        runs = "\n".join(s.get("run", "") for s in job["steps"])
        assert "cosign verify " in runs and "gh attestation verify" in runs
        assert "kustomize edit set image \"$IMAGE@$DIGEST\"" in runs
        names = [s["name"] for s in job["steps"]]
        push = "Push the digest to the deploy branch (GitOps)"
        assert names.index("Verify the digest format") < names.index(push)
        # defect 2: credentials are checked before anything is pushed
        assert names.index("Cluster credentials") < names.index(push)
        rollback = [s for s in job["steps"] if s["name"] == "Roll back"]
        assert rollback and "failure()" in rollback[0]["if"] and '"$PREVIOUS:refs/heads/$DEPLOY_BRANCH"' in rollback[0]["run"]
    completed = [jid for jid, j in cd["jobs"].items() if previous in needs_of(j)]
    assert completed and completed[0] in called

    # No deploy job builds an image.
    text = (root / WF / "cd.yml").read_text()
    assert "build-push-action" not in text and "docker build" not in text and "docker buildx" not in text


def test_canary_rollback_aborts_the_rollout(render) -> None:
    cd = load(render(skip_tasks=True), "cd.yml")
    rollback = [s for s in cd["jobs"]["deploy-prod"]["steps"] if s["name"] == "Roll back"][0]
    assert '"status":{"abort":true}' in rollback["run"]
    rolling = load(render(skip_tasks=True, delivery="rolling"), "cd.yml")
    assert "abort" not in [s for s in rolling["jobs"]["deploy-prod"]["steps"] if s["name"] == "Roll back"][0]["run"]


def test_production_is_the_last_environment_and_named(render) -> None:
    cd = load(render(skip_tasks=True, environments=["dev", "live"]), "cd.yml")
    assert cd["jobs"]["deploy-live"]["environment"]["name"] == "live"
    assert "production" in cd["jobs"]["deploy-live"]["name"]


# -- mutations the checkers must catch --------------------------------------------------------
@pytest.fixture()
def mutable(render, tmp_path: Path) -> Path:
    dest = mutable_copy(render(skip_tasks=True), tmp_path)
    return dest


def test_unpinned_uses_fails(mutable: Path) -> None:
    path = mutable / WF / "ci.yml"
    text = path.read_text()
    mutated = re.sub(r"uses: docker/build-push-action@[0-9a-f]{40}\s*# \S+", "uses: docker/build-push-action@v7", text)
    assert mutated != text
    path.write_text(mutated)
    result = run_checker("workflows-pins", mutable)
    assert result.status == "fail"
    assert any("docker/build-push-action@v7" in f.message for f in result.findings)


def test_inline_expression_in_run_fails(mutable: Path) -> None:
    path = mutable / WF / "cd.yml"
    text = path.read_text()
    mutated = text.replace('kustomize edit set image "$IMAGE@$DIGEST"', 'kustomize edit set image "$IMAGE@${{ inputs.digest }}"')
    assert mutated != text
    path.write_text(mutated)
    result = run_checker("workflows-hygiene", mutable)
    assert result.status == "fail"
    assert any("inline in run" in f.message for f in result.findings)


def test_persisted_credentials_fail_zizmor_and_hygiene(mutable: Path) -> None:
    path = mutable / WF / "security.yml"
    text = path.read_text()
    path.write_text(text.replace("persist-credentials: false", "fetch-tags: false"))
    assert run_checker("workflows-hygiene", mutable).status == "fail"
    zizmor = run_checker("workflows-zizmor", mutable)
    assert zizmor.status == "fail" and any("artipacked" in f.message for f in zizmor.findings)


def test_secrets_without_environment_fail(mutable: Path) -> None:
    path = mutable / WF / "cd.yml"
    doc = yamlio.load_file(path)
    del doc["jobs"]["deploy-dev"]["environment"]
    findings = wfcheck.hygiene_findings("cd.yml", doc)
    assert any("declares no environment" in f.message for f in findings)


def test_actionlint_catches_a_broken_expression(mutable: Path) -> None:
    path = mutable / WF / "ci.yml"
    path.write_text(path.read_text().replace("needs.publish.outputs.digest", "needs.publish.outputs.digets", 1))
    assert run_checker("workflows-actionlint", mutable).status == "fail"


@pytest.mark.fast
@pytest.mark.parametrize(("line", "ok"), [
    ("      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", True),
    ("      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", False),
    ("      - uses: actions/checkout@v7", False),
    ("      - uses: actions/checkout@main # v7.0.1", False),
    ("    uses: slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v2.1.0", True),
    ("    uses: ./.github/workflows/cd.yml", True),
    ("      - uses: docker://alpine:3", False),
])
def test_pin_rule(line: str, ok: bool) -> None:
    assert (wfcheck.pin_findings("x.yml", line) == []) is ok


@pytest.mark.fast
def test_every_pin_comes_from_the_shared_list() -> None:
    from scaffold.artifacts import workflows

    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "pinned-actions.yml"
    if not shared.is_file():
        pytest.skip("shared/pinned-actions.yml is not beside the repository")
    upstream = yamlio.load_file(shared)
    for action, pin in workflows.pins().items():
        assert upstream[action]["sha"] == pin["sha"] and upstream[action]["version"] == pin["version"], action


def test_eslint_report_becomes_valid_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node SAST step's converter, run on an eslint JSON report, yields SARIF 2.1.0."""
    import json

    from scaffold.artifacts import workflows

    (tmp_path / "eslint.json").write_text(json.dumps([{
        "filePath": str(tmp_path / "app" / "src" / "server.js"),
        "messages": [{"ruleId": "security/detect-object-injection", "severity": 1, "message": "Generic Object Injection Sink",
                      "line": 12, "column": 5}]}]))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    exec(compile(workflows._ESLINT_SARIF, "eslint_sarif", "exec"), {})  # noqa: S102 - our own snippet
    sarif = json.loads((tmp_path / "sast.sarif").read_text())
    result = sarif["runs"][0]["results"][0]
    assert sarif["version"] == "2.1.0" and result["ruleId"] == "security/detect-object-injection"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/src/server.js"
    assert result["level"] == "warning"


@pytest.mark.parametrize("persona", ["pedantic", "auditor"])
def test_zizmor_strict_personas_find_nothing(default_package: Path, persona: str) -> None:
    """Issue #16: zizmor's pedantic and auditor personas, not only the default one,
    report nothing against the generated workflows (the one ignore carries its reason)."""
    import subprocess

    zizmor = require_tool("zizmor")
    wf = default_package / ".github"
    proc = subprocess.run([zizmor, "--offline", "--persona", persona, "--config", str(wf / "zizmor.yml"),
                           str(wf / "workflows")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr
