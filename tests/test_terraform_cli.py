"""The real terraform over generated packages: fmt, init from the local provider mirror,
validate and the generated `terraform test` suites pass on the default (aws) package;
mutations fail the step that should catch them; what cannot run is a listed skip.

terraform is not installable from any registry the project reaches, so a machine
without it skips these tests (in CI too), exactly as the checker reports "not run".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold import tools
from scaffold.artifacts import terraform as tfpolicy
from scaffold.cli import app
from scaffold.model.package import Package
from scaffold.validate import run_all
from scaffold.validate import terraform as tfcheck
from scaffold.validate import terraform_cli as tfcli
from tests.helpers import mutable_copy


def terraform_or_skip() -> str:
    path = tools.find("terraform")
    if path is None:
        pytest.skip("terraform is not on this machine (no registry package ships it); the checker says not run")
    return path


def mirror_or_skip() -> Path:
    terraform_or_skip()
    mirror = tfcli.discover_mirror()
    if mirror is None or "registry.terraform.io/hashicorp/aws" not in tfcli.mirror_providers(mirror):
        pytest.skip("no hashicorp/aws provider mirror on this machine")
    return mirror


# -- pure policy --------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("version,constraint,ok", [
    ("5.100.0", "~> 6.0", False), ("6.3.1", "~> 6.0", True), ("7.0.0", "~> 6.0", False),
    ("5.100.0", ">= 5.0", True), ("4.67.0", ">= 5.0", False), ("6.0.2", "~> 6.0.1", True),
    ("6.1.0", "~> 6.0.1", False), ("1.2.3", ">= 1.0, < 2.0, != 1.2.3", False), ("1.2.4", ">= 1.0, < 2.0", True),
    ("5.100.0", "= 5.100.0", True), ("5.100.0", "5.100.0", True),
])
def test_version_constraints(version, constraint, ok):
    assert tfcli.satisfies(version, constraint) is ok


@pytest.mark.fast
def test_mirror_layouts(tmp_path):
    unpacked = tmp_path / "m/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"
    packed = tmp_path / "m/registry.terraform.io/hashicorp/google/terraform-provider-google_6.2.0_linux_amd64.zip"
    for f in (unpacked, packed):
        f.parent.mkdir(parents=True)
        f.write_bytes(b"")
    assert tfcli.mirror_root(unpacked) == tmp_path / "m" == tfcli.mirror_root(packed)
    assert tfcli.mirror_providers(tmp_path / "m") == {"registry.terraform.io/hashicorp/aws": ["5.100.0"],
                                                      "registry.terraform.io/hashicorp/google": ["6.2.0"]}


@pytest.mark.fast
def test_mirror_is_found_by_walking_like_find_xdev(tmp_path):
    binary = tmp_path / "a/b/plugins/registry.terraform.io/hashicorp/aws/5.1.0/linux_amd64/terraform-provider-aws_v5.1.0"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"")
    (tmp_path / "node_modules/x/terraform-provider-decoy").parent.mkdir(parents=True)
    assert tfcli.walk_for_mirror(str(tmp_path)) == tmp_path / "a/b/plugins"
    assert tfcli.walk_for_mirror(str(tmp_path / "node_modules")) is None


@pytest.mark.fast
def test_relax_rewrites_only_that_provider_in_the_copy(tmp_path):
    (tmp_path / "versions.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
        '      version = "~> 6.0"\n    }\n    other = {\n      source  = "acme/other"\n'
        '      version = "~> 6.0"\n    }\n  }\n}\n')
    assert tfcli.relax(tmp_path, "hashicorp/aws", "~> 6.0", "5.100.0")
    assert tfcli.required_providers(tmp_path) == {"aws": ("hashicorp/aws", "= 5.100.0"),
                                                  "other": ("acme/other", "~> 6.0")}
    assert not tfcli.relax(tmp_path, "hashicorp/aws", "~> 6.0", "5.100.0")  # nothing left to relax


@pytest.mark.fast
def test_private_cli_config_allows_only_the_mirror(tmp_path, monkeypatch):
    config = tfcli.cli_config(Path("/opt/tf-plugins"))
    assert "filesystem_mirror" in config and "direct" not in config and "network_mirror" not in config
    monkeypatch.setenv("TF_VAR_namespace", "elsewhere")
    monkeypatch.setenv("TF_CLI_ARGS_init", "-upgrade")
    env = tfcli.clean_env(tmp_path, tmp_path / "data", tmp_path / "cli.tfrc")
    assert not [k for k in env if k.startswith(("TF_VAR_", "TF_CLI_ARGS"))]
    assert env["HOME"].startswith(str(tmp_path)) and env["TF_DATA_DIR"] == str(tmp_path / "data")
    assert env["CHECKPOINT_DISABLE"] == "1"


# A terraform that installs providers as the real one does (internal/providercache): with
# TF_PLUGIN_CACHE_DIR set, an init whose lock file holds no checksum for the provider
# installs it into the cache again (RemoveAll, then link), and the folder's providers/
# entry links to the cache entry; without it, the entry links to the unpacked mirror.
# validate/test read the folder's entry for a while and fail as terraform does if it is gone.
_STUB_TERRAFORM = r'''#!PYTHON
import os, sys, time, pathlib
cmd = sys.argv[1]
if cmd == "fmt":
    sys.exit(0)
rel = "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64"
data = pathlib.Path(os.environ["TF_DATA_DIR"]) / "providers" / rel
mirror = pathlib.Path(os.environ["STUB_MIRROR"]) / rel
cache = os.environ.get("TF_PLUGIN_CACHE_DIR")
if cmd == "init":
    target = mirror
    if cache:
        target = pathlib.Path(cache) / rel
        if target.is_symlink():
            target.unlink()
        time.sleep(0.3)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(mirror)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.symlink_to(target)
    sys.exit(0)
for _ in range(8):
    if not data.resolve().is_dir():
        print(f"Error: registry.terraform.io/hashicorp/aws: there is no package for "
              f"registry.terraform.io/hashicorp/aws 5.100.0 cached in {data.parents[5]}")
        sys.exit(1)
    time.sleep(0.1)
'''


def test_folders_checked_in_parallel_share_no_provider_install(tmp_path, monkeypatch):
    """Regression: the checker shared one TF_PLUGIN_CACHE_DIR between folders, and one
    folder's init reinstalled the cached aws provider while another folder's test read it
    ("there is no package ... cached": an intermittent CI failure). Every folder's run must
    find its provider for as long as it runs, whatever the others do meanwhile."""
    import sys
    from types import SimpleNamespace

    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64").mkdir(parents=True)
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5").touch()
    stub = tmp_path / "bin/terraform"
    stub.parent.mkdir()
    stub.write_text(_STUB_TERRAFORM.replace("PYTHON", sys.executable), encoding="utf-8")
    stub.chmod(0o755)
    versions = ('terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
                '      version = ">= 5.0"\n    }\n  }\n}\n')
    folders = ["modules/a", "modules/b", "modules/c", "environments/dev", "environments/prod"]
    for rel in folders:
        (tmp_path / "pkg/terraform" / rel / "tests").mkdir(parents=True)
        (tmp_path / "pkg/terraform" / rel / "versions.tf").write_text(versions, encoding="utf-8")
        (tmp_path / "pkg/terraform" / rel / "tests/main.tftest.hcl").write_text("", encoding="utf-8")
    monkeypatch.setattr(tfcli.tools, "find", lambda tool: str(stub) if tool == "terraform" else None)
    monkeypatch.setenv("STUB_MIRROR", str(mirror))
    outcome = tfcli._check(SimpleNamespace(root=tmp_path / "pkg"), mirror, ())
    assert outcome.findings == [] and outcome.not_run == []
    assert sorted(sum(outcome.ran.values(), [])) == sorted(["terraform/", *folders])


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_modules_state_minimums_roots_pin_a_major(render, cloud):
    root = render(cloud=cloud, skip_tasks=True) / "terraform"
    provider = tfpolicy.CLOUD_PROVIDER[cloud]
    for versions in sorted(root.glob("modules/*/versions.tf")):
        (_, constraint), = tfcli.required_providers(versions.parent).values()
        assert constraint == tfpolicy.MODULE_MIN_VERSIONS[provider] and constraint.startswith(">= "), versions
    for versions in sorted(root.glob("environments/*/versions.tf")):
        (_, constraint), = tfcli.required_providers(versions.parent).values()
        assert constraint == tfpolicy.PROVIDERS[provider][1] and constraint.startswith("~> "), versions
        # the root's pin admits what its modules require at minimum
        assert tfcli.satisfies(constraint.removeprefix("~> ") + ".0", tfpolicy.MODULE_MIN_VERSIONS[provider])


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "none"])
def test_every_module_and_root_has_a_test_file_that_parses(render, cloud):
    root = render(cloud=cloud, skip_tasks=True) / "terraform"
    folders = [p for p in sorted(root.glob("modules/*")) + sorted(root.glob("environments/*")) if p.is_dir()]
    assert folders
    for folder in folders:
        (test_file,) = folder.glob("tests/*.tftest.hcl")
        doc = tfcheck.parse(test_file)
        assert doc["run"], test_file
        if cloud != "none":
            assert list(doc["mock_provider"][0]) == [tfpolicy.CLOUD_PROVIDER[cloud]]


# -- what cannot run is a listed skip, never a pass -----------------------------------
def test_missing_terraform_is_a_listed_skip_in_ci_too(render, monkeypatch):
    real = tools.find
    monkeypatch.setattr(tools, "find", lambda t: None if t == "terraform" else real(t))
    monkeypatch.setenv("CI", "true")
    (result,) = run_all(render(skip_tasks=True), only=["terraform-cli"])
    assert result.status == "skip" and result.findings == []
    assert "not run (terraform not on this machine)" in result.detail
    cli = CliRunner().invoke(app, ["validate", str(render(skip_tasks=True)), "--only", "terraform-cli"])
    assert cli.exit_code == 0 and "0 passed, 0 failed, 1 skipped" in cli.output


@pytest.mark.parametrize("cloud,provider", [("gcp", "hashicorp/google"), ("azure", "hashicorp/azurerm")])
def test_provider_not_in_the_mirror_is_a_listed_skip(render, monkeypatch, cloud, provider):
    terraform_or_skip()
    monkeypatch.setenv("CI", "true")
    (result,) = run_all(render(cloud=cloud, skip_tasks=True), only=["terraform-cli"])
    assert result.status == "skip" and result.findings == [], result
    assert f"terraform validate: not run (provider {provider} not available)" in result.detail
    assert "fmt: terraform/" in result.detail  # fmt needs no provider: it ran, and passed


def test_empty_mirror_flag_means_not_run_for_aws(render, tmp_path):
    terraform_or_skip()
    res = CliRunner().invoke(app, ["validate", str(render(skip_tasks=True)), "--only", "terraform-cli",
                                   "--tf-plugin-dir", str(tmp_path), "--format", "json"])
    report = json.loads(res.stdout)
    (r,) = report["results"]
    assert res.exit_code == 0 and r["status"] == "skip" and report["skipped"] == ["terraform-cli"]
    assert "terraform validate: not run (provider hashicorp/aws not available)" in r["detail"]


# -- the real runs ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws_outcome(render) -> tfcli.Outcome:
    mirror_or_skip()
    return tfcli.check(Package.load(render()))


@pytest.mark.slow
def test_default_package_passes_fmt_init_validate_and_test(aws_outcome):
    assert aws_outcome.findings == [] and aws_outcome.not_run == []
    assert aws_outcome.ran["init+validate+test"] == ["environments/dev", "environments/prod", "environments/staging"]
    assert aws_outcome.ran["init+test"] == ["modules/ecr", "modules/irsa"]
    # The mirror's 5.x is outside the roots' "~> 6.0": said, with where it was relaxed.
    for note in aws_outcome.notes:
        assert "relaxed" in note and "temporary copy only" in note


@pytest.mark.slow
def test_cloud_none_roots_run_without_any_provider(render):
    terraform_or_skip()
    outcome = tfcli.check(Package.load(render(cloud="none", skip_tasks=True)))
    assert outcome.findings == [] and outcome.not_run == []
    assert len(outcome.ran["init+validate+test"]) == 3


def _only(pkg: Path, folder: str) -> list[str]:
    return [f"{f.file}: {f.message}" for f in tfcli.check(Package.load(pkg), only=(folder,)).findings]


@pytest.mark.slow
def test_unknown_argument_fails_terraform_validate(render, tmp_path):
    mirror_or_skip()
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    main = pkg / "terraform/modules/ecr/main.tf"
    main.write_text(main.read_text().replace('image_tag_mutability = "IMMUTABLE"',
                                             'image_tag_mutability = "IMMUTABLE"\n  scan_images_on_push  = true'))
    findings = _only(pkg, "environments/prod")
    assert len(findings) == 1 and "terraform validate: Unsupported argument" in findings[0], findings


@pytest.mark.slow
def test_broken_assertion_fails_terraform_test(render, tmp_path):
    mirror_or_skip()
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    test_file = pkg / "terraform/modules/ecr/tests/ecr.tftest.hcl"
    test_file.write_text(test_file.read_text().replace('== "IMMUTABLE"', '== "MUTABLE"'))
    findings = _only(pkg, "modules/ecr")
    assert len(findings) == 1 and findings[0].startswith("terraform/modules/ecr: terraform test:"), findings
    assert 'run "registry_is_immutable_scanned_and_encrypted"... fail' in findings[0]


@pytest.mark.slow
def test_shared_state_key_and_wrong_namespace_fail_the_root_test(render, tmp_path):
    """The copy-paste mistakes the root suite exists for: staging's state key in dev, and
    the identity bound to another environment's namespace."""
    mirror_or_skip()
    pkg = mutable_copy(render(skip_tasks=True), tmp_path, "payments-api")
    versions = pkg / "terraform/environments/dev/versions.tf"
    versions.write_text(versions.read_text().replace("payments-api/dev/", "payments-api/staging/"))
    tfvars = pkg / "terraform/environments/dev/terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace('"payments-api-dev"', '"payments-api-staging"', 1))
    (finding,) = _only(pkg, "environments/dev")
    assert "terraform test:" in finding and "must live under its own key" in finding, finding
    assert "binds to the namespace" in finding and "must trust only the service account" in finding, finding


def test_unformatted_file_fails_fmt(render, tmp_path):
    terraform_or_skip()
    pkg = mutable_copy(render(cloud="gcp", skip_tasks=True), tmp_path, "payments-api")  # no provider here: fmt alone runs
    main = pkg / "terraform/modules/artifact-registry/main.tf"
    main.write_text(main.read_text().replace("  format        = \"DOCKER\"", "  format = \"DOCKER\""))
    findings = tfcli.check(Package.load(pkg)).findings
    assert [f.file for f in findings] == ["terraform/modules/artifact-registry/main.tf"], findings
    assert "terraform fmt -check" in findings[0].message


# -- the generated ci.yml runs the same steps ------------------------------------------
def _terraform_job(pkg: Path) -> dict:
    from scaffold import yamlio

    return yamlio.load_file(pkg / ".github/workflows/ci.yml")["jobs"]["terraform"]


def test_ci_runs_fmt_init_validate_test_on_every_folder(render):
    from scaffold.artifacts import workflows

    pkg = render(skip_tasks=True)
    steps = _terraform_job(pkg)["steps"]
    setup = next(s for s in steps if "uses" in s and s["uses"].startswith("hashicorp/setup-terraform@"))
    assert setup["uses"] == workflows.uses("hashicorp/setup-terraform").split(" # ")[0]
    runs = " ".join(s.get("run", "") for s in steps)
    for cmd in ("fmt -check -recursive", "init -backend=false", "validate", "test"):
        assert f"terraform {cmd}" in runs or f'-chdir="$dir" {cmd}' in runs, cmd
    folders = sorted(str(p.relative_to(pkg)) for p in (pkg / "terraform").glob("*/*") if p.is_dir())
    assert sorted(workflows.terraform_dirs(Package.load(pkg).model)) == folders
    gated = [s for s in steps if s["name"] not in ("Check out", "Did terraform/ change?")]
    assert all(s["if"] == "steps.changed.outputs.terraform == 'true'" for s in gated)


def test_ci_change_detection_script(render, tmp_path):
    """The job's own script, run by bash in a real repository."""
    import os
    import subprocess

    from tests.helpers import GIT_ENV, git

    script = next(s["run"] for s in _terraform_job(render(skip_tasks=True))["steps"] if s.get("id") == "changed")
    repo = tmp_path / "repo"
    (repo / "terraform").mkdir(parents=True)
    (repo / "terraform/main.tf").write_text("# a\n")
    (repo / "README.md").write_text("a\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD").strip()

    def changed(event: str, base: str) -> str:
        out = tmp_path / "out"
        out.write_text("")
        env = {**os.environ, **GIT_ENV, "EVENT": event, "BASE_SHA": base, "BEFORE": base, "GITHUB_OUTPUT": str(out)}
        subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, env=env, check=True)
        return out.read_text().strip()

    (repo / "README.md").write_text("b\n")
    git(repo, "commit", "-qam", "docs only")
    assert changed("pull_request", first) == "terraform=false"
    (repo / "terraform/main.tf").write_text("# b\n")
    git(repo, "commit", "-qam", "terraform")
    assert changed("push", first) == "terraform=true"
    assert changed("push", "0" * 40) == "terraform=true"  # a branch's first push
    assert changed("workflow_dispatch", "") == "terraform=true"
