"""The deploy job's own scripts, run against stubbed CLIs that play a cluster
(tests/deploy_sim): for Argo CD and Flux, canary and rolling.

- a healthy release ends green after the Rollout's whole plan, with no rollback;
- a release whose analysis fails is rolled back (the deploy branch returns to its
  previous tip, the Rollout is aborted);
- a release with no traffic yet (a quiet dev, no series) is not aborted;
- the first deploy (no deploy branch yet, no stable ReplicaSet) ends green;
- without cluster credentials nothing is pushed.
"""

from __future__ import annotations

import pytest

from tests.deploy_sim import NEW_DIGEST, OLD_DIGEST, run_job
from tests.helpers import mutable_copy

pytestmark = pytest.mark.slow

VARIANTS = [("argocd", "canary"), ("argocd", "rolling"), ("flux", "canary"), ("flux", "rolling")]
HEALTHY = {"prometheus_result": [0.0]}
FAILING = {"prometheus_result": [0.3]}
NO_TRAFFIC = {"prometheus_result": []}


@pytest.fixture(scope="module")
def packages(render):
    return {v: render(gitops=v[0], delivery=v[1], skip_tasks=True) for v in VARIANTS}


def _plan_seconds(run) -> int:
    from tests.deploy_sim.stub import STEP_READY, duration

    total = 0
    for st in run.state["steps"]:
        total += duration(st["pause"]["duration"]) if "pause" in st else STEP_READY if "setWeight" in st else 300
    return total


@pytest.mark.parametrize("variant", VARIANTS, ids=["-".join(v) for v in VARIANTS])
def test_healthy_release_ends_green_without_rollback(packages, variant, tmp_path):
    run = run_job(packages[variant], "deploy-dev", tmp_path, scenario=HEALTHY)
    assert run.green, run.log
    assert not run.ran("Roll back")
    assert run.state["abort_patches"] == 0
    assert run.state["remote"]["deploy/dev"] == run.state["pushes"][-1]["sha"]
    assert run.state["commits"][run.state["remote"]["deploy/dev"]] == NEW_DIGEST
    assert len(run.state["pushes"]) == 1  # the deploy commit only, no revert
    if variant[1] == "canary":
        # the wait lasted the whole plan: it did not call a paused canary done, nor give up on it
        assert run.state["clock"] >= _plan_seconds(run)


@pytest.mark.parametrize("gitops", ["argocd", "flux"])
def test_failing_analysis_is_rolled_back(packages, gitops, tmp_path):
    run = run_job(packages[(gitops, "canary")], "deploy-dev", tmp_path, scenario=FAILING)
    assert not run.green
    assert run.ran("Roll back"), run.log
    assert dict(run.steps)["Roll back"] == 0, run.log
    assert run.state["abort_patches"] == 1
    assert run.state["commits"][run.state["remote"]["deploy/dev"]] == OLD_DIGEST  # branch restored


@pytest.mark.parametrize("gitops", ["argocd", "flux"])
def test_no_traffic_is_not_aborted(packages, gitops, tmp_path):
    run = run_job(packages[(gitops, "canary")], "deploy-dev", tmp_path, scenario=NO_TRAFFIC)
    assert run.green, run.log
    assert not run.ran("Roll back")


@pytest.mark.parametrize("variant", VARIANTS, ids=["-".join(v) for v in VARIANTS])
def test_first_deploy_ends_green(packages, variant, tmp_path):
    run = run_job(packages[variant], "deploy-dev", tmp_path, scenario={**NO_TRAFFIC, "first_deploy": True})
    assert run.green, run.log
    assert run.state["commits"][run.state["remote"]["deploy/dev"]] == NEW_DIGEST


def test_missing_kubeconfig_pushes_nothing(packages, tmp_path):
    run = run_job(packages[("argocd", "canary")], "deploy-dev", tmp_path, scenario=HEALTHY, secrets={})
    assert not run.green
    assert run.state["pushes"] == [], run.log
    assert not run.ran("Roll back")


# -- the simulation can fail: yesterday's defects, replayed -------------------------------
def test_sim_aborts_a_nan_only_guard_without_traffic(packages, tmp_path):
    """Defect 4 replayed: `isNaN(result[0]) || ...` errors on an empty result; after
    consecutiveErrorLimit the Rollout aborts and CD rolls back."""
    import re

    pkg = mutable_copy(packages[("argocd", "canary")], tmp_path)
    path = pkg / "k8s" / "base" / "analysistemplate.yaml"
    path.write_text(re.sub(r"len\(result\) == 0 \|\| ", "", path.read_text()))
    run = run_job(pkg, "deploy-dev", tmp_path / "run", scenario=NO_TRAFFIC)
    assert not run.green and run.ran("Roll back") and run.state["abort_patches"] == 1


def test_sim_fails_a_wait_shorter_than_the_plan(packages, tmp_path):
    """Defect 1 replayed: a wait budget below the plan gives up on a healthy canary."""
    import re

    pkg = mutable_copy(packages[("flux", "canary")], tmp_path)
    cd = pkg / ".github" / "workflows" / "cd.yml"
    cd.write_text(re.sub(r"PLAN_POLLS: '\d+'", "PLAN_POLLS: '60'", cd.read_text()))  # 15 minutes
    run = run_job(pkg, "deploy-dev", tmp_path / "run", scenario=HEALTHY)
    assert not run.green and run.ran("Roll back")
    assert run.state["commits"][run.state["remote"]["deploy/dev"]] == OLD_DIGEST


# -- post-deploy verification (issue 17): the smoke test of the live URL -----------------
SMOKE = "Smoke test the live URL (post-deploy verification)"


def _step_index(run, name):
    return [n for n, _ in run.steps].index(name)


@pytest.mark.parametrize("job", ["deploy-dev", "deploy-staging", "deploy-prod"])
def test_verification_runs_after_each_environment(packages, job, tmp_path):
    """After the sync and the rollout, each environment's own live URL is smoke-tested,
    with bounded retries (dev's URL refuses, then errs, then answers)."""
    from scaffold.artifacts import k8s
    from scaffold.model.package import Package

    pkg = packages[("argocd", "rolling")]  # rolling: the same steps, without a canary's simulated plan
    m = Package.load(pkg).model
    env = k8s.env_by_name(m, job.removeprefix("deploy-"))
    codes = [0, 502, 200] if job == "deploy-dev" else [200]
    run = run_job(pkg, job, tmp_path, scenario={**HEALTHY, "live_codes": codes})
    assert run.green, run.log
    assert run.ran(SMOKE) and _step_index(run, SMOKE) > _step_index(run, "Wait for sync and the whole rollout")
    assert [c["code"] for c in run.state["curls"]] == codes
    assert {c["url"] for c in run.state["curls"]} == {f"https://{k8s.env_hostname(m, env)}/readyz"}
    assert all(c["digest_applied"] == NEW_DIGEST for c in run.state["curls"])  # the new release, not the old
    assert not run.ran("Roll back")


def test_failing_smoke_test_rolls_back(packages, tmp_path):
    """A live URL that keeps failing fails the job after bounded attempts, and the same
    Roll back step as a failed analysis restores the deploy branch."""
    from scaffold.artifacts import verify

    run = run_job(packages[("flux", "rolling")], "deploy-dev", tmp_path, scenario={**HEALTHY, "live_codes": [503]})
    assert not run.green
    assert dict(run.steps)[SMOKE] != 0
    assert len(run.state["curls"]) == verify.SMOKE_ATTEMPTS  # bounded, and every attempt was made
    assert run.ran("Roll back") and dict(run.steps)["Roll back"] == 0, run.log
    assert run.state["commits"][run.state["remote"]["deploy/dev"]] == OLD_DIGEST
    assert "post-deploy smoke test failed" in run.log
