"""Issue 16: hostile inputs through both doors, and git calls that take data.

Each exploit runs in a temporary directory and shows that nothing ran and
nothing was written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold.fleet import gitsafe
from scaffold import yamlio

from tests.helpers import ROOT, require_tool

PY = sys.executable
# A hang guard, not a timed assertion: a fixed exploit must return long before this.
HANG_GUARD_S = 300


def scaffold_cli(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCAFFOLD_TEMPLATE": str(ROOT)}
    return subprocess.run([PY, "-m", "scaffold", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=HANG_GUARD_S, **kw)


# -- defect 2: git option injection through _commit ---------------------------
@pytest.mark.fast
@pytest.mark.parametrize("ref", ["--output=/tmp/x", "-p", "a..b", "HEAD@{1}", "x\ny", "", " v1", "v1 --all"])
def test_gitsafe_refuses_option_like_revisions(ref):
    assert gitsafe.revision(ref) is None


@pytest.mark.fast
@pytest.mark.parametrize("ref", ["v1.0.0", "HEAD", "0123abcd" * 5, "release/2026-01", "HEAD~1", "v1.0.0^"])
def test_gitsafe_keeps_real_revisions(ref):
    assert gitsafe.revision(ref) == ref


def test_commit_option_injection_writes_nothing(render, template_repo, tmp_path):
    pkg = shutil.copytree(render(skip_tasks=True), tmp_path / "pkg", symlinks=True)
    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    answers["_src_path"] = str(template_repo)
    answers["_commit"] = f"--output={target}"
    (pkg / ".copier-answers.yml").write_text(yamlio.dump(dict(answers)))
    before = sorted(p.relative_to(pkg) for p in pkg.rglob("*"))
    proc = scaffold_cli("tasks", "--dry-run", str(pkg))
    assert target.read_text() == "keep me\n", proc.stderr
    assert sorted(p.relative_to(pkg) for p in pkg.rglob("*")) == before
    assert not list(tmp_path.glob("--output*"))


def test_check_refuses_option_like_commit(render, template_repo, tmp_path):
    pkg = shutil.copytree(render(skip_tasks=True), tmp_path / "pkg", symlinks=True)
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    answers["_commit"] = f"--output={tmp_path / 'victim'}"
    (pkg / ".copier-answers.yml").write_text(yamlio.dump(dict(answers)))
    proc = scaffold_cli("check", str(pkg))
    assert proc.returncode == 2 and "_commit must be a git tag or commit id" in proc.stderr, proc.stderr
    assert not (tmp_path / "victim").exists()


@pytest.mark.fast
def test_fleet_clone_refuses_option_like_entry(tmp_path):
    from scaffold.fleet import fleet

    evil = f"--upload-pack=touch {tmp_path / 'pwned'};://x"
    result = fleet.status_repo(evil, str(tmp_path / "work"))
    assert result.status == "failed" and "not a repository URL" in result.detail, result.detail
    assert not (tmp_path / "pwned").exists()


# -- defect 4: exact patterns, property test over every rule -----------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from scaffold.answers import rules as rules  # noqa: E402
from scaffold.model.service import DEFAULTS, cloud_defaults, derived_defaults  # noqa: E402

VALID: dict = {**DEFAULTS, **derived_defaults("payments-api"), **cloud_defaults("aws", "platform"),
               "service_name": "payments-api",
               "description": "Takes payments", "environments": ["dev", "staging", "prod"],
               "slos": [{"name": "checkout", "objective": 99.5,
                         "error_query": 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
                         "total_query": "sum(rate(http_requests_total[{{window}}]))",
                         "description": "Checkout works"}],
               "blueprint": "cronjob"}
VALID_SERVICE = {**VALID, "blueprint": "service"}
CONTROL = [chr(c) for c in (*range(0, 32), 127, *range(0x80, 0xA0))]
SEPARATORS = ["\u2028", "\u2029", "\x85", "\u200e", "\u202e", "\ufeff"]
UNICODE_DIGITS = ["\uff15", "\u0663", "\u0967", "\U0001d7d7", "\u00b2", "\u2463"]
BAD = CONTROL + SEPARATORS + UNICODE_DIGITS
FREE_TEXT = {"description"}  # prose may hold any printable character, digits of any script included


def _leaves(value, path=()):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}


def _forbidden(leaf_path, text):
    free = leaf_path[-1:] == ("description",) if leaf_path else False
    bad = CONTROL + SEPARATORS + ([] if free else UNICODE_DIGITS)
    return [c for c in bad if c in text]


@pytest.mark.fast
def test_every_rule_has_a_valid_example():
    for field in rules.RULES:
        base = VALID if field in ("slos", "schedule") else VALID_SERVICE
        assert rules.check(field, base[field], base) == "", field


@pytest.mark.fast
@pytest.mark.parametrize("field", sorted(rules.RULES))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_rule_accepts_control_chars_unicode_digits_or_separators(field, data):
    answers = VALID_SERVICE if field not in ("slos", "schedule") else VALID
    base = answers[field]
    leaves = list(_leaves(base)) or [((), str(base))]
    path, text = data.draw(st.sampled_from(leaves))
    bad = data.draw(st.sampled_from(BAD))
    pos = data.draw(st.integers(0, len(text)))
    mutated_text = data.draw(st.sampled_from([text[:pos] + bad + text[pos:], text + bad, bad + text,
                                              text.replace("0", bad) if "0" in text else text + "\n"]))
    value = _replace(base, path, mutated_text) if leaves[0][0] or isinstance(base, str) else mutated_text
    if field in FREE_TEXT and not _forbidden((field,), mutated_text):
        return
    if rules.check(field, value, {**answers, field: value}) == "":
        hits = [(p, _forbidden(((field,) + p) if p else (field,), t)) for p, t in _leaves(value)]
        assert not any(h for _, h in hits), f"{field} accepted {value!r}"


@pytest.mark.fast
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
@settings(max_examples=300, deadline=None)
def test_identifier_rules_accept_only_ascii(text):
    for field in ("service_name", "team", "image_registry", "hostname", "github_repo", "runbook_base_url",
                  "backlog_assignee", "k8s_version", "cpu_request", "memory_request", "schedule"):
        if rules.check(field, text, VALID_SERVICE) == "":
            assert text.isascii() and text.isprintable() and "\n" not in text, (field, text)


@pytest.mark.fast
@pytest.mark.parametrize(("field", "value"), [
    ("service_name", "payments-api\n"), ("team", "platform\n"), ("environments", ["dev", "prod\n"]),
    ("hostname", "api.example.com\n"), ("image_registry", "ghcr.io/acme\n"), ("github_repo", "acme/x\n"),
    ("runbook_base_url", "https://x.example.com/r\n"), ("backlog_assignee", "@sre\n"),
    ("k8s_version", "1.3\uff15"), ("slo_availability", "\uff19\uff19.9"), ("cpu_request", "100m\n"),
    ("slos", [{**VALID["slos"][0], "name": "checkout\n"}]),
])
def test_trailing_newline_and_unicode_digit_are_refused(field, value):
    assert rules.check(field, value, VALID_SERVICE).startswith(f"{field}: ")


# -- defect 5: hostnames refuse instead of colliding --------------------------
@pytest.mark.fast
def test_hostname_that_leaves_no_room_for_the_env_prefix_is_refused():
    label = "a" * 63
    host = ".".join([label, label, label, "b" * 60])  # 252 characters
    assert len(host) == 252
    msg = rules.check("hostname", host, {**VALID_SERVICE, "environments": ["staging", "prod"]})
    assert msg.startswith("hostname: must leave room for the environment prefix"), msg
    assert rules.check("hostname", host, {**VALID_SERVICE, "environments": ["prod"]}) == ""


@pytest.mark.fast
def test_env_hostname_never_falls_back_to_production():
    from scaffold.artifacts import k8s
    from scaffold.model.service import ServiceModel

    label = "a" * 63
    host = ".".join([label, label, label, "b" * 60])
    m = ServiceModel.from_answers({**VALID_SERVICE, "hostname": host, "environments": ["prod"]})
    staging = type(m.production)(**{**m.production.__dict__, "name": "staging", "production": False})
    with pytest.raises(ValueError):
        k8s.env_hostname(m, staging)


# -- defect 6: cron ranges and PromQL nesting ---------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("cron", ["99 99 99 99 99", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                                  "* * * * 7", "*/0 * * * *", "5-1 * * * *", "* * * * * *", "@every 5m",
                                  "*/15 * * * *\n", "\uff15 * * * *"])
def test_cron_outside_real_ranges_is_refused(cron):
    assert rules.check("schedule", cron, VALID).startswith("schedule: must be a five-field cron expression")


@pytest.mark.fast
@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 3 * * mon-fri", "30 2 1,15 * ?", "@hourly", "0 0 1 jan *"])
def test_real_cron_is_accepted(cron):
    assert rules.check("schedule", cron, VALID) == ""


@pytest.mark.fast
@pytest.mark.parametrize("query", [
    "sum(rate(x[{{window}}])) } or vector(1) {",
    "sum(rate(x{a=\"b\"}[{{window}}]}))",
    "sum(rate(x{a=\"}[{{window}}]))",
    ")sum(rate(x[{{window}}]))(",
])
def test_promql_that_does_not_nest_is_refused(query):
    from scaffold.answers import slo_spec

    assert slo_spec.check_query(query), query


@pytest.mark.fast
def test_promql_with_brackets_inside_strings_is_accepted():
    from scaffold.answers import slo_spec

    assert slo_spec.check_query('sum(rate(x{path="/a}(b"}[{{window}}]))') is None


# -- defect 3: bounded input through both doors ------------------------------
def _laughs(levels: int = 9) -> str:
    """The classic alias bomb as one flow sequence: 9**levels leaves by reference."""
    names = "abcdefghijklmnop"
    items = ['&a ["l","l","l","l","l","l","l","l","l"]']
    items += [f"&{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


LAUGHS_VALUE = _laughs()


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0, proc.stderr
    assert any(all(n in line for n in needles) for line in lines), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


@pytest.mark.fast
def test_show_is_bounded_for_shared_references():
    a = ["lol"] * 9
    for _ in range(12):  # 9**13 leaves by reference: repr() would never return
        a = [a] * 9
    assert len(rules.show(a)) <= 60


@pytest.mark.fast
def test_bounded_refuses_shared_containers_and_huge_values():
    shared = ["x"]
    assert "aliases" in rules.bounded([shared, shared])
    assert "too large" in rules.bounded(["x"] * (rules.MAX_NODES + 1))
    assert rules.bounded(VALID["slos"]) is None
    # one scalar takes a short cut: it must say what the walk says of the same value
    for value in ("x" * rules.MAX_TEXT, "x" * (rules.MAX_TEXT + 1), "", 0, 1.5, True, None):
        assert rules.bounded(value) == rules.bounded([value]), value
    assert "plain YAML data" in rules.bounded(object())


@pytest.mark.fast
@pytest.mark.parametrize("text", ["a: &x [1]\nb: *x\n", "a: {<<: {b: 1}}\n", "a:\n  - x: 1\n    <<: {y: 2}\n"])
def test_answers_yaml_refuses_anchors_aliases_and_merge_keys(text):
    with pytest.raises(yamlio.UnsafeAnswers):
        yamlio.load_answers(text)


@pytest.mark.parametrize(("door", "field"), [
    ("scaffold-data-file", "environments"), ("scaffold-data", "environments"), ("copier-data-file", "environments"),
    ("copier-data", "environments"), ("scaffold-data-file", "description"), ("copier-data-file", "description"),
    ("scaffold-data-file", "slos"), ("copier-data", "slos"),
])
def test_billion_laughs_returns_promptly_and_writes_nothing(tmp_path, template_repo, door, field):
    """321 bytes that expand to 9**6 leaves by reference; -d passes text, so for
    a str question (description) only the YAML file door can carry aliases."""
    dest = tmp_path / "out"
    value = LAUGHS_VALUE
    answers = tmp_path / "answers.yml"
    answers.write_text(f"{field}: {LAUGHS_VALUE}\n")
    if door == "scaffold-data-file":
        proc = scaffold_cli("new", str(dest), "--defaults", "--skip-tasks", "--data-file", str(answers))
    elif door == "scaffold-data":
        proc = scaffold_cli("new", str(dest), "--defaults", "--skip-tasks", "-d", f"{field}={value}")
    else:
        copier = str(Path(PY).parent / "copier")
        extra = ["--data-file", str(answers)] if door == "copier-data-file" else ["-d", f"{field}={value}"]
        proc = subprocess.run([copier, "copy", "--trust", "--defaults", "--skip-tasks", *extra, str(template_repo),
                               str(dest)], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode != 0, proc.stderr[-2000:]
    message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    # Copier's CLI prints its own traceback for a validator's refusal; its last line is ours
    assert (field in message or "--data-file" in message) and "aliases" in message, proc.stderr[-2000:]
    assert len(message) < 300, message
    assert not dest.exists() or not any(dest.iterdir())


def test_data_file_from_dev_zero_is_refused(tmp_path):
    proc = scaffold_cli("new", str(tmp_path / "out"), "--defaults", "--data-file", "/dev/zero")
    _one_line_error(proc, "--data-file /dev/zero", "larger than")
    assert not (tmp_path / "out").exists()


def test_data_file_of_huge_comments_is_refused(tmp_path):
    big = tmp_path / "big.yml"
    with open(big, "w") as fh:
        line = "# " + "x" * 1022 + "\n"
        for _ in range(20 * 1024):  # 20 MiB of comments
            fh.write(line)
        fh.write("team: platform\n")
    proc = scaffold_cli("new", str(tmp_path / "out"), "--defaults", "--data-file", str(big))
    _one_line_error(proc, "--data-file", "larger than")
    assert not (tmp_path / "out").exists()


# -- defect 6: one set of rules for both doors (Copier's casts included) ------
@pytest.mark.parametrize(("line", "field"), [
    ("port: 8080.0", "port"), ("with_app: maybe", "with_app"), ("service_name: 12345", "service_name"),
    ("backlog: maybe", "backlog"), ("slo_window_days: 30.0", "slo_window_days"), ("team: 42", "team"),
])
def test_copier_door_refuses_what_scaffold_new_refuses(tmp_path, template_repo, line, field):
    data = tmp_path / "answers.yml"
    data.write_text(line + "\n")
    new = scaffold_cli("new", str(tmp_path / "a"), "--defaults", "--skip-tasks", "--data-file", str(data))
    _one_line_error(new, f"{field}:")
    copier = str(Path(PY).parent / "copier")
    proc = subprocess.run([copier, "copy", "--trust", "--defaults", "--skip-tasks", "--data-file", str(data),
                           str(template_repo), str(tmp_path / "b")], capture_output=True, text=True,
                          timeout=HANG_GUARD_S)
    assert proc.returncode != 0 and f"{field}: " in proc.stderr, proc.stderr[-1500:]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_copier_door_typed_the_way_scaffold_new_types_it(tmp_path, template_repo):
    """-d passes text; the rules judge it as scaffold new's coerce does, so -d port=8080 is fine."""
    copier = str(Path(PY).parent / "copier")
    proc = subprocess.run([copier, "copy", "--trust", "--defaults", "--skip-tasks", "--pretend", "-d", "port=8081",
                           "-d", "with_app=false", "-d", "environments=[dev, prod]",
                           str(template_repo), str(tmp_path / "b")], capture_output=True, text=True,
                          timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-1500:]


# -- defect 6: destinations and trust -----------------------------------------
from typer.testing import CliRunner  # noqa: E402

from scaffold.cli import app  # noqa: E402


def _new(*args: str):
    return CliRunner().invoke(app, ["new", *args])


def test_destination_that_is_a_file_is_one_line_error(tmp_path, template_repo):
    target = tmp_path / "file"
    target.write_text("x")
    result = _new(str(target), "--template", str(template_repo), "--trust", "--defaults", "-q")
    assert result.exit_code == 2 and result.output.strip() == f"error: {target} exists and is not a directory"
    assert target.read_text() == "x"


def test_destination_symlink_is_refused(tmp_path, template_repo):
    real = tmp_path / "elsewhere"
    real.mkdir()
    link = tmp_path / "pkg"
    link.symlink_to(real)
    result = _new(str(link), "--template", str(template_repo), "--trust", "--defaults", "-q")
    assert result.exit_code == 2 and "is a symlink" in result.output
    assert list(real.iterdir()) == []


@pytest.mark.parametrize("pre_existing", [False, True])
def test_ctrl_c_during_new_leaves_nothing(tmp_path, template_repo, monkeypatch, pre_existing):
    import copier

    dest = tmp_path / "pkg"
    if pre_existing:
        dest.mkdir()

    def interrupted(src, dst, **kw):
        Path(dst, "k8s").mkdir(parents=True)
        Path(dst, "k8s", "half.yaml").write_text("kind: Deployment\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_copy", interrupted)
    result = _new(str(dest), "--template", str(template_repo), "--trust", "--defaults", "-q")
    assert result.exit_code == 130 and "interrupted" in result.output
    assert (list(dest.iterdir()) == []) if pre_existing else not dest.exists()


def test_template_from_elsewhere_does_not_run_code_without_trust(tmp_path, template_repo):
    """A --template source runs its extensions and tasks only with --trust."""
    evil = shutil.copytree(template_repo, tmp_path / "evil", symlinks=True)
    marker = tmp_path / "ran"
    text = (evil / "copier.yml").read_text().replace(
        "_tasks:\n", f"_tasks:\n  - command: [\"touch\", \"{marker}\"]\n", 1)
    (evil / "copier.yml").write_text(text)
    result = _new(str(tmp_path / "out"), "--template", str(evil), "--defaults", "-q")
    assert result.exit_code == 2 and "pass --trust only if you trust its source" in result.output, result.output
    assert not marker.exists() and not (tmp_path / "out").exists()


# -- defect 7: only a digest that passed the scan is signed -------------------
def _ancestors(jobs: dict, jid: str) -> set[str]:
    out: set[str] = set()
    todo = list(jobs[jid].get("needs") or [])
    while todo:
        j = todo.pop()
        if j not in out:
            out.add(j)
            todo.extend(jobs[j].get("needs") or [])
    return out


@pytest.mark.parametrize("answers", [{}, {"image_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme"}])
def test_signing_and_attesting_need_the_gating_scan(render, answers):
    from scaffold.artifacts import workflows

    ci = yamlio.load_file(render(skip_tasks=True, **answers) / ".github/workflows/ci.yml")
    jobs = ci["jobs"]

    def runs(j):
        return "\n".join(s.get("run", "") for s in jobs[j].get("steps", []))

    gates = [j for j, job in jobs.items() for s in job.get("steps", [])
             if str(s.get("uses", "")).startswith("aquasecurity/trivy-action@")
             and str(s["with"].get("exit-code")) == "1" and "needs.publish.outputs.digest" in s["with"]["image-ref"]
             and not s.get("if")]
    assert gates, "no gating scan of the pushed digest"
    signers = [j for j in jobs if "cosign sign" in runs(j) or "cosign attest" in runs(j)
               or any("attest-build-provenance" in str(s.get("uses", "")) for s in jobs[j].get("steps", []))]
    assert signers
    for j in signers:
        assert set(gates) <= _ancestors(jobs, j), f"{j} signs or attests before the scan"
    text = "\n".join(runs(j) for j in signers)
    assert f"--type {workflows.VULN_ATTESTATION_TYPE} --predicate {workflows.VULN_REPORT}" in text
    gate = next(s for s in jobs[gates[0]]["steps"] if str(s.get("uses", "")).startswith("aquasecurity/trivy-action@"))
    assert gate["with"]["format"] == "cosign-vuln" and gate["with"]["output"] == workflows.VULN_REPORT
    assert set(gates) <= _ancestors(jobs, "deploy")


def test_attestation_verify_pins_the_signer_ref(render):
    cd = yamlio.load_file(render(skip_tasks=True) / ".github/workflows/cd.yml")
    runs = [s["run"] for j in cd["jobs"].values() for s in j.get("steps", []) if "gh attestation verify" in s.get("run", "")]
    assert runs
    for run in runs:
        assert "/.github/workflows/ci.yml@refs/heads/main\"" in run and "--signer-workflow" not in run
        assert "--source-ref \"refs/heads/main\"" in run


# -- defect 7 (admission) and 8 (tenancy) -------------------------------------
def test_kyverno_verifies_the_exact_signer_and_restricts_the_registry(render):
    import copy

    from scaffold.validate import policy_eval
    from scaffold.artifacts import workflows
    from scaffold.model.package import Package

    root = render(skip_tasks=True)
    model = Package.load(root).model
    pols = yamlio.load_all((root / "resilience" / "kyverno-policies.yaml").read_text())
    rules_ = [r for p in pols for r in p["spec"]["rules"] if "verifyImages" in r]
    assert len(rules_) == 1
    (vi,) = rules_[0]["verifyImages"]
    assert vi["imageReferences"] == [f"{model.image_registry}/*"] and vi["required"] and vi["verifyDigest"]
    (entry,) = vi["attestors"][0]["entries"]
    assert entry["keyless"] == {"subject": f"https://github.com/{model.github_repo}/.github/workflows/ci.yml@refs/heads/main",
                                "issuer": workflows.OIDC_ISSUER, "rekor": {"url": "https://rekor.sigstore.dev"}}
    assert [a["type"] for a in vi["attestations"]] == [workflows.VULN_PREDICATE_TYPE]
    assert "namespaces" in rules_[0]["match"]["any"][0]["resources"]
    # an image from another registry, even by digest, is refused
    deploy = next(d for d in yamlio.load_all((root / "k8s" / "base" / "deployment.yaml").read_text())
                  if d["kind"] == "Deployment")
    evil = copy.deepcopy(deploy)
    evil["metadata"]["namespace"] = model.environments[0].namespace
    evil["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/evil/app@sha256:" + "a" * 64
    violations = [v for p in pols for v in policy_eval.evaluate(p, evil)[1]]
    assert any(v.rule == "image-registry" for v in violations), violations
    good = copy.deepcopy(evil)
    good["spec"]["template"]["spec"]["containers"][0]["image"] = f"{model.image}@sha256:" + "a" * 64
    assert not [v for p in pols for v in policy_eval.evaluate(p, good)[1] if v.rule == "image-registry"]


def test_argocd_project_whitelists_only_its_own_namespaces(render):
    from scaffold.model.package import Package

    root = render(skip_tasks=True)
    model = Package.load(root).model
    project = yamlio.load_file(root / "gitops" / "appproject.yaml")
    wl = project["spec"]["clusterResourceWhitelist"]
    assert wl and all(item.get("name") in {e.namespace for e in model.environments} for item in wl)


def test_flux_applies_as_a_namespaced_service_account(render):
    from scaffold.model.package import Package

    kubectl = require_tool("kubectl")
    root = render(gitops="flux", skip_tasks=True)
    model = Package.load(root).model
    built = yamlio.load_all(subprocess.run([kubectl, "kustomize", str(root / "gitops")], capture_output=True,
                                           text=True, check=True).stdout)
    by = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")): d for d in built}
    for env in model.environments:
        ks = by[("Kustomization", f"{model.name}-{env.name}", "flux-system")]
        sa = ks["spec"]["serviceAccountName"]
        assert ("ServiceAccount", sa, "flux-system") in by
        rb = by[("RoleBinding", sa, env.namespace)]
        assert rb["roleRef"]["kind"] == "Role" and rb["subjects"] == [
            {"kind": "ServiceAccount", "name": sa, "namespace": "flux-system"}]
        role = by[("Role", sa, env.namespace)]
        assert all("*" not in r["apiGroups"] + r["resources"] + r["verbs"] for r in role["rules"])
        crb = by[("ClusterRoleBinding", sa, None)]
        cr = by[("ClusterRole", crb["roleRef"]["name"], None)]
        assert cr["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [env.namespace],
                                "verbs": ["get", "patch", "update"]}]
        # every kind the overlay holds is one the Role grants (or the Namespace, by name)
        objs = yamlio.load_all(subprocess.run([kubectl, "kustomize", str(root / "k8s" / "overlays" / env.name)],
                                              capture_output=True, text=True, check=True).stdout)
        granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
        for o in objs:
            group = o["apiVersion"].rpartition("/")[0]
            plural = {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"}.get(o["kind"], o["kind"].lower() + "s")
            if o["kind"] != "Namespace":
                assert (group, plural) in granted, (group, plural)


# -- SECURITY.md: states what the workflows and policies really do -------------
@pytest.mark.parametrize("answers", [{}, {"image_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme",
                                          "gitops": "flux"}])
def test_security_md_documents_every_secret_and_pin(render, answers):
    import re

    root = render(skip_tasks=True, **answers)
    doc = (root / "SECURITY.md").read_text()
    wf_text = "\n".join(p.read_text() for p in sorted((root / ".github" / "workflows").glob("*.yml")))
    for secret in sorted(set(re.findall(r"secrets\.([A-Z0-9_]+)", wf_text))):
        assert f"`{secret}" in doc or f"/ {secret}`" in doc, f"{secret} is not documented in SECURITY.md"
    for action, sha in set(re.findall(r"uses: ([\w./-]+)@([0-9a-f]{40})", wf_text)):
        assert f"`{action}@{sha}`" in doc, action
    ci = yamlio.load_file(root / ".github/workflows/ci.yml")
    assert "ci.yml@refs/heads/main" in doc and "sign" in ci["jobs"]


def test_ecr_lifecycle_never_expires_a_tagged_image(render):
    import re

    main = (render(skip_tasks=True) / "terraform" / "modules" / "ecr" / "main.tf").read_text()
    block = main[main.index('resource "aws_ecr_lifecycle_policy"'):]
    statuses = re.findall(r'tagStatus\s*=\s*"(\w+)"', block)
    assert statuses and set(statuses) == {"untagged"}, statuses
    assert "tagPatternList" not in block and "tagPrefixList" not in block


# -- defect 11: dev tools installed with hashes --------------------------------
def test_python_security_tools_install_from_a_hash_pinned_lock(render):
    import re

    from packaging.requirements import Requirement

    from scaffold.artifacts import workflows

    root = render(skip_tasks=True)
    lock = (root / workflows.SECURITY_TOOLS_LOCK).read_text()
    entries = [e for e in re.split(r"\n(?=[A-Za-z])", lock.split("\n\n", 1)[1]) if e.strip()]
    pins = {}
    for entry in entries:
        head = entry.split("\\", 1)[0].strip()
        req = Requirement(head)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", head
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), head
        pins[req.name.lower()] = spec[0].version
    assert pins["bandit"] == workflows.TOOLS["bandit"] and pins["pip-audit"] == workflows.TOOLS["pip-audit"]
    assert not re.search(r"^--(?!hash)", lock, re.M), "no index or find-links options in the lock"
    sec = (root / ".github/workflows/security.yml").read_text()
    installs = [line for line in sec.splitlines() if "pip install" in line]
    assert installs and all("--require-hashes" in line and workflows.SECURITY_TOOLS_LOCK in line for line in installs)


# -- defect 9: /metrics is not routed from outside ------------------------------
@pytest.mark.parametrize("ingress", ["gateway", "ingress"])
def test_metrics_port_is_scraped_but_never_routed(render, ingress):
    from scaffold.artifacts import k8s
    from scaffold.model.package import Package

    kubectl = require_tool("kubectl")
    root = render(skip_tasks=True, ingress=ingress)
    model = Package.load(root).model
    assert model.metrics_port != model.port
    objs = yamlio.load_all(subprocess.run([kubectl, "kustomize", str(root / "k8s" / "overlays" / "prod")],
                                          capture_output=True, text=True, check=True).stdout)
    kinds = {o["kind"]: o for o in objs}
    svc = kinds["Service"]
    ports = {p["name"]: p for p in svc["spec"]["ports"]}
    metrics = ports[k8s.METRICS_PORT_NAME]
    assert metrics["port"] == model.metrics_port
    workload = kinds.get("Deployment")
    cports = {p["name"]: p["containerPort"] for p in workload["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert cports[metrics["targetPort"]] == model.metrics_port
    monitor = kinds["ServiceMonitor"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [k8s.METRICS_PORT_NAME]
    if ingress == "gateway":
        backends = [b for r in kinds["HTTPRoute"]["spec"]["rules"] for b in r["backendRefs"]]
        assert backends and all(b["port"] == model.port for b in backends)
    else:
        paths = [p for r in kinds["Ingress"]["spec"]["rules"] for p in r["http"]["paths"]]
        assert paths and all(p["backend"]["service"]["port"] in ({"name": k8s.PORT_NAME}, {"number": model.port})
                             for p in paths)
    # the gateway/ingress namespace reaches the app port only; the metrics port admits monitoring only
    netpol = next(o for o in objs if o["kind"] == "NetworkPolicy" and "Ingress" in o["spec"].get("policyTypes", []))
    for rule in netpol["spec"].get("ingress", []):
        rule_ports = {p["port"] for p in rule.get("ports", [])}
        assert not (model.port in rule_ports and model.metrics_port in rule_ports), rule


def test_promql_that_nests_but_does_not_parse_fails_validate(render):
    """Answer time checks nesting and quoting; validate time parses every query with promtool."""
    from scaffold.validate import run_all

    require_tool("promtool")
    bad = {"name": "checkout", "objective": 99.5,
           "error_query": 'sum(rate(http_requests_total{code=~"5.."[{{window}}]}))',
           "total_query": "sum(rate(http_requests_total[{{window}}]))"}
    assert rules.check("slos", [bad], VALID_SERVICE) == ""
    root = render(skip_tasks=True, slos=[bad])
    results = {r.checker: r for r in run_all(root, only=["prometheus-rules"])}
    assert results["prometheus-rules"].status == "fail"
    assert any("promtool check rules" in f.message for f in results["prometheus-rules"].findings)
