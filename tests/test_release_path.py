"""Issue 14: the release path, one test per defect (numbers as in the issue).

Most are model-level (the builders that emit the files, parsed back from their
YAML), so they run in milliseconds; the stubbed deploy runs
(tests/test_deploy_runs.py) and the wiring checker (tests/test_wiring.py) judge
the same properties on rendered packages.
"""

from __future__ import annotations

import re

import pytest

from scaffold.artifacts import backup, canary, gitops, k8s, terraform, workflows
from scaffold import yamlio
from scaffold.model.service import ServiceModel
from tests.deploy_sim.stub import evaluate


def release_markdown(m: ServiceModel) -> str:
    from scaffold.artifacts import release

    return release.markdown(m)


class wiring:  # noqa: N801 - imported lazily, so each test fails on its own on a tree without it
    def __getattr__(self, name):
        from scaffold.validate import wiring as w

        return getattr(w, name)


wiring = wiring()


def model(**answers) -> ServiceModel:
    return ServiceModel.from_answers({"service_name": "payments-api", **answers})


def wf(m: ServiceModel, name: str) -> dict:
    return yamlio.load(workflows.render(m, name))


def deploy_jobs(cd: dict) -> dict[str, dict]:
    return {jid: j for jid, j in cd["jobs"].items() if jid.startswith("deploy-") and "environment" in j}


def step_env(job: dict, key: str) -> dict:
    (st,) = [s for s in job["steps"] if key in (s.get("env") or {})]
    return st["env"]


def _all_runs(cd: dict) -> str:
    return "\n".join(s.get("run", "") for j in cd["jobs"].values() for s in j.get("steps", []))


# 1 -------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("gitops_", ["argocd", "flux"])
def test_1_wait_follows_the_whole_canary_plan(gitops_):
    m = model(gitops=gitops_)
    cd = wf(m, "cd.yml")
    plan = canary.plan_seconds(m)
    pauses = sum(canary.duration_seconds(s["pause"]["duration"]) for s in canary.steps(m) if "pause" in s)
    assert plan > pauses >= 25 * 60
    for jid, job in deploy_jobs(cd).items():
        env = step_env(job, "PLAN_POLLS")
        budget = int(env["PLAN_POLLS"]) * int(env["POLL"])
        assert budget >= plan, jid
        total = budget + int(env["SYNC_POLLS"]) * int(env["POLL"]) + canary.duration_seconds(env["HEALTH_TIMEOUT"])
        assert job["timeout-minutes"] * 60 >= total, jid
        # no wait on Argo CD's Healthy before the Rollout finished: a paused canary is Suspended
        run = [s for s in job["steps"] if "PLAN_POLLS" in (s.get("env") or {})][0]["run"]
        loop_end = run.index("done", run.index('seq 1 "$PLAN_POLLS"'))
        assert "health.status" not in run[:loop_end]


# 2 -------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("registry", ["ghcr.io/acme", "registry.example.com/acme"])
def test_2_deploy_jobs_get_their_secrets(registry):
    m = model(image_registry=registry)
    cd, ci = wf(m, "cd.yml"), wf(m, "ci.yml")
    declared = set(cd["on"]["workflow_call"]["secrets"])
    read = set(re.findall(r"secrets\.([A-Z_]+)", workflows.render(m, "cd.yml")))
    assert read <= declared and "KUBECONFIG" in read
    assert set(ci["jobs"]["deploy"]["secrets"]) == declared


# 3 -------------------------------------------------------------------------------------
@pytest.mark.fast
def test_3_flux_wait_targets_objects_that_exist():
    m = model(gitops="flux")
    objects = {(o["kind"].lower(), o["metadata"]["name"]) for objs in gitops.files(m).values() for o in objs}
    for job in deploy_jobs(wf(m, "cd.yml")).values():
        for st in job["steps"]:
            for kind, var in re.findall(r'annotate (\w+) "\$(\w+)"', st.get("run", "")):
                assert (kind, st["env"][var]) in objects, (kind, st["env"][var])


# 4 -------------------------------------------------------------------------------------
@pytest.mark.fast
def test_4_analysis_tolerates_no_data_and_compares_canary_with_stable():
    m = model()
    for tmpl in canary.analysis_templates(m):
        metrics = tmpl["spec"]["metrics"]
        assert {a["name"] for a in tmpl["spec"]["args"]} >= {"canary-hash", "stable-hash"}
        for metric in metrics:
            cond = metric["successCondition"]
            assert evaluate(cond, []) is True  # no series: not an Error
            assert evaluate(cond, [float("nan")]) is True  # 0/0: no requests
            assert evaluate(cond, [0.9]) is False  # a failing canary still fails
            assert "{{args.canary-hash}}" in metric["provider"]["prometheus"]["query"]
        assert any("{{args.stable-hash}}" in x["provider"]["prometheus"]["query"] for x in metrics)
    args = {a["name"]: a.get("valueFrom") for a in canary.rollout(m)["spec"]["strategy"]["canary"]["analysis"]["args"]}
    assert args["canary-hash"] == {"podTemplateHashValue": "Latest"}
    assert args["stable-hash"] == {"podTemplateHashValue": "Stable"}


# 5 -------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "none"])
def test_5_secret_keys_in_the_providers_format_and_store_documented(cloud):
    m = model(cloud=cloud)
    # each provider's documented name format (GCP secret IDs and Key Vault names take no '/')
    rule = re.compile({"aws": r"^[A-Za-z0-9/_+=.@-]{1,512}$", "gcp": r"^[A-Za-z0-9_-]{1,255}$",
                       "azure": r"^[0-9A-Za-z-]{1,127}$", "none": r"^[A-Za-z0-9/_.-]{1,512}$"}[cloud])
    for env in m.environments:
        assert rule.match(k8s.secret_key(m, env)), k8s.secret_key(m, env)
    assert f"`{k8s.secret_store(m)}`" in release_markdown(m)


# 6 -------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_6_identity_binding_from_terraform_names(cloud):
    m = model(cloud=cloud)
    for env in m.environments:
        binding = terraform.identity_binding(m, env)
        (key,) = binding
        assert key == wiring.IDENTITY_ANNOTATION[cloud]
        if cloud != "azure":
            assert terraform.identity_name(m, env) in binding[key]
        patches = [p for p in k8s.overlay_patches(m, env) if p["target"]["kind"] == "ServiceAccount"]
        # a strategic-merge patch: the annotation merged into the base's (issue 22)
        assert yamlio.load(patches[0]["patch"])["metadata"]["annotations"] == binding
    assert k8s.service_account(m)["metadata"]["annotations"] == terraform.identity_binding(m, m.production)
    if cloud == "azure":
        assert k8s.pod_template(m)["metadata"]["labels"][k8s.AZURE_WI_LABEL] == "true"
    assert any(r["ports"][0]["port"] == 443 for r in k8s.identity_egress(m))


@pytest.mark.fast
def test_6_registry_chosen_once():
    ghcr = model()
    assert not any(terraform.tfvars(ghcr, e)["create_registry"] for e in ghcr.environments)
    ecr = model(image_registry="111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme")
    assert [terraform.tfvars(ecr, e)["create_registry"] for e in ecr.environments] == [False, False, True]


def test_6_acr_is_usable(render):
    from scaffold.validate import terraform as tfcheck

    root = render(skip_tasks=True, cloud="azure")
    acr = tfcheck.parse(root / "terraform" / "modules" / "acr" / "main.tf")
    (res,) = [r["this"] for r in acr["resource"] if "azurerm_container_registry" in r for r in [r["azurerm_container_registry"]]]
    assert res["quarantine_policy_enabled"] is False  # quarantined images cannot be pulled
    assert res["public_network_access_enabled"] is True  # GitHub-hosted runners push over it


# 7 -------------------------------------------------------------------------------------
@pytest.mark.fast
def test_7_plan_limits():
    m = model()
    ci, cd = wf(m, "ci.yml"), wf(m, "cd.yml")
    prov = [s for job in ci["jobs"].values() for s in job.get("steps", [])
            if "attest-build-provenance" in s.get("uses", "")]  # the sign job, after the gating scan
    assert prov and prov[0]["if"] == workflows.PROVENANCE_IF
    for job in deploy_jobs(cd).values():
        gh = [s for s in job["steps"] if "gh attestation verify" in s.get("run", "")]
        assert gh and gh[0]["if"] == workflows.PROVENANCE_IF
    sarif = [s for s in ci["jobs"]["scan"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert sarif and all(s.get("continue-on-error") is True for s in sarif)
    # CD never pushes main: every push targets the job's deploy branch
    for job in deploy_jobs(cd).values():
        for st in job["steps"]:
            for dst in re.findall(r"git push .*?(\S+)$", st.get("run", ""), re.M):
                assert dst.endswith(':refs/heads/$DEPLOY_BRANCH"'), dst
            if "DEPLOY_BRANCH" in (st.get("env") or {}):
                assert st["env"]["DEPLOY_BRANCH"].startswith("deploy/")
    assert "BLUEPRINT_UPDATE_TOKEN" in release_markdown(m)


# 8 -------------------------------------------------------------------------------------
@pytest.mark.fast
def test_8_flux_does_not_chain_prod_behind_dev():
    m = model(gitops="flux")
    for env in m.environments:
        assert "dependsOn" not in gitops.flux_kustomization(m, env)["spec"]


@pytest.mark.fast
def test_8_flux_health_follows_the_rollout_plan():
    m = model(gitops="flux")
    spec = gitops.flux_kustomization(m, m.production)["spec"]
    (expr,) = spec["healthCheckExprs"]
    assert expr["kind"] == "Rollout" and "Paused" in expr["inProgress"] and "Degraded" in expr["failed"]
    assert canary.duration_seconds(spec["timeout"]) >= canary.plan_seconds(m)
    assert "healthCheckExprs" not in gitops.flux_kustomization(model(gitops="flux", delivery="rolling"),
                                                               m.production)["spec"]


# 9 -------------------------------------------------------------------------------------
@pytest.mark.fast
def test_9_concurrency_per_environment_reviewers_checked_no_exact_revision_wait():
    m = model()
    cd = wf(m, "cd.yml")
    assert "${{ github.run_id }}" in cd["concurrency"]["group"]  # the run holds no global lock
    groups = [j["concurrency"]["group"] for j in deploy_jobs(cd).values()]
    assert len(set(groups)) == len(m.environments) and all(m.name in g for g in groups)
    checks = [s for s in cd["jobs"]["verify"]["steps"] if s.get("env", {}).get("ENVIRONMENT") == m.production.name]
    assert checks and "required_reviewers" in checks[0]["run"]
    runs = _all_runs(cd)
    assert "sync.revision" not in runs and "lastAppliedRevision" not in runs


# 10 ------------------------------------------------------------------------------------
def test_10_azurerm_gets_subscription_id(render):
    from scaffold.validate import terraform as tfcheck

    root = render(skip_tasks=True, cloud="azure", azure_subscription_id="12345678-1234-1234-1234-123456789abc")
    for env in ("dev", "prod"):
        main = tfcheck.parse(root / "terraform" / "environments" / env / "main.tf")
        (provider,) = [p["azurerm"] for p in main["provider"] if "azurerm" in p]
        assert provider["subscription_id"] == "${var.subscription_id}"
        tfvars = tfcheck.parse(root / "terraform" / "environments" / env / "terraform.tfvars")
        assert tfvars["subscription_id"] == "12345678-1234-1234-1234-123456789abc"


# 11 ------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("blueprint", ["service", "worker"])
def test_11_prestop_before_sigterm(blueprint):
    m = model(blueprint=blueprint)
    spec = k8s.pod_spec(m)
    (c,) = spec["containers"]
    sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < sleep < spec["terminationGracePeriodSeconds"]


# 12 ------------------------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("gitops_", ["argocd", "flux"])
def test_12_resilience_is_deployed_and_velero_scoped(gitops_):
    m = model(gitops=gitops_)
    paths = set()
    for objs in gitops.files(m).values():
        for o in objs:
            spec = o.get("spec") or {}
            paths.add((spec.get("source") or {}).get("path") or spec.get("path"))
    assert {"resilience", "./resilience"} & paths
    for sched in backup.schedules(m):
        assert sched["spec"]["template"].get("includeClusterResources") is not True


# 13 ------------------------------------------------------------------------------------
@pytest.mark.fast
def test_13_ingress_reaches_the_acme_solver():
    m = model(ingress="ingress")
    names = {p["metadata"]["name"]: p for p in k8s.network_policies(m)}
    solver = names[f"{m.name}-acme-solver"]["spec"]
    assert solver["podSelector"]["matchLabels"] == k8s.CERT_MANAGER_SOLVER
    assert solver["ingress"][0]["ports"] == [{"protocol": "TCP", "port": k8s.ACME_SOLVER_PORT}]
    assert f"{m.name}-acme-solver" not in {p["metadata"]["name"] for p in k8s.network_policies(model())}


# terraform validate on the one provider this machine mirrors -----------------------------
TF_MIRROR = "/opt/tf-plugins"


@pytest.mark.slow
def test_terraform_validate_aws(render, tmp_path):
    """`terraform init -backend=false` + `validate` on every aws root, providers from the
    filesystem mirror (offline). The mirror holds hashicorp/aws 5.x, so the copy's version
    constraint is relaxed to >= 5.0; everything else is the generated HCL as is."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    from tests.helpers import require_tool

    tf = require_tool("terraform")
    if not Path(TF_MIRROR, "registry.terraform.io", "hashicorp", "aws").is_dir():
        pytest.skip(f"no hashicorp/aws provider mirror in {TF_MIRROR}")
    root = render(skip_tasks=True, image_registry="111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme")
    work = tmp_path / "terraform"
    shutil.copytree(root / "terraform", work)
    for path in work.rglob("*.tf"):
        path.write_text(path.read_text().replace('"~> 6.0"', '">= 5.0"'))
    rc = tmp_path / "cli.tfrc"
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{TF_MIRROR}"\n  }}\n}}\n')
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1",
           "TF_PLUGIN_CACHE_DIR": "", "CHECKPOINT_DISABLE": "1"}
    for env_dir in sorted((work / "environments").iterdir()):
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            proc = subprocess.run([tf, *args], cwd=env_dir, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{env_dir.name}: terraform {args[0]}\n{proc.stdout}{proc.stderr}"


@pytest.mark.fast
def test_4_gateway_canary_weights_are_requests():
    """ingress=gateway: Argo Rollouts' Gateway API plugin sets the HTTPRoute weights between
    the stable and canary Services; Argo CD ignores those weights. Elsewhere, pods."""
    m = model()
    strat = canary.rollout(m)["spec"]["strategy"]["canary"]
    assert strat["stableService"] == m.name and strat["canaryService"] == canary.canary_service_name(m)
    assert strat["trafficRouting"]["plugins"][canary.GATEWAY_PLUGIN]["httpRoute"] == k8s.http_route(m)["metadata"]["name"]
    services = {s["metadata"]["name"]: s for s in k8s.services(m)}
    assert services[m.name]["spec"]["selector"] == services[canary.canary_service_name(m)]["spec"]["selector"]
    backends = {b["name"]: b["weight"] for b in k8s.http_route(m)["spec"]["rules"][0]["backendRefs"]}
    assert backends == {m.name: 100, canary.canary_service_name(m): 0}
    app = gitops.application(m, m.production)["spec"]
    assert app["ignoreDifferences"][0]["kind"] == "HTTPRoute" and "RespectIgnoreDifferences=true" in app[
        "syncPolicy"]["syncOptions"]
    for env in m.environments:  # the plugin looks for the route in the environment's namespace
        (patch,) = [p for p in k8s.overlay_patches(m, env) if p["target"]["kind"] == "Rollout"]
        assert yamlio.load(patch["patch"])[0]["value"] == env.namespace
    plain = model(ingress="ingress")
    assert "trafficRouting" not in canary.rollout(plain)["spec"]["strategy"]["canary"]
    assert len(k8s.services(plain)) == 1


# per-organisation answers ----------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("field,value", [("aws_account_id", "12345"), ("azure_subscription_id", "not-a-guid"),
                                         ("cloud_region", "EU West"), ("state_bucket", "Bad_Bucket"),
                                         ("secret_store", "Vault Store")])
def test_org_answers_reject_bad_values_naming_the_field(field, value):
    from scaffold.answers import rules as answers

    with pytest.raises(answers.AnswerError) as err:
        model(**{field: value})
    assert str(err.value).startswith(f"{field}: must ") and "\n" not in str(err.value)


def test_org_answers_reach_terraform_and_manifests(render):
    from scaffold.validate import terraform as tfcheck

    root = render(skip_tasks=True, cloud="azure", team="pay-ops", cloud_region="swedencentral",
                  secret_store="kv-payments")
    answers = yamlio.load_file(root / ".copier-answers.yml")
    assert answers["state_bucket"] == "payopstfstate"  # copier.yml's default == scaffold.model.service.cloud_defaults
    assert model(cloud="azure", team="pay-ops").state_bucket == "payopstfstate"
    tfvars = tfcheck.parse(root / "terraform" / "environments" / "prod" / "terraform.tfvars")
    assert tfvars["location"] == "swedencentral"
    versions = tfcheck.parse(root / "terraform" / "environments" / "prod" / "versions.tf")
    (backend,) = versions["terraform"][0]["backend"]
    assert backend["azurerm"]["storage_account_name"] == "payopstfstate"
    (es,) = [d for d in yamlio.load_all((root / "k8s" / "base" / "externalsecret.yaml").read_text())
             if d["metadata"]["name"] == "payments-api"]
    assert es["spec"]["secretStoreRef"]["name"] == "kv-payments"
