"""Issue 16, defect 10: jobs that only pull or verify (ci.yml's scan, every cd.yml job) never
receive the registry push credential, and cd.yml's KUBECONFIG user gets only namespaced
read Roles (deploys go through the GitOps deploy branches)."""

from __future__ import annotations

import json

import pytest

from scaffold.artifacts import gitops, k8s, workflows
from scaffold.model.service import ServiceModel

pytestmark = pytest.mark.fast

PUSH = ("secrets.REGISTRY_USERNAME", "secrets.REGISTRY_PASSWORD")


def _pull_only_jobs(m):
    ci = workflows.ci(m)["jobs"]
    yield "ci.scan", ci["scan"]
    for jid, job in workflows.cd(m)["jobs"].items():
        yield f"cd.{jid}", job


def _receives(job) -> str:
    parts = [job.get("env"), job.get("with"), job.get("secrets"), job.get("environment")]
    for st in job.get("steps") or []:
        parts += [st.get("env"), st.get("with")]
    return json.dumps(parts, default=str)


@pytest.mark.parametrize("registry", ["ghcr.io/acme", "registry.example.com/acme"])
def test_no_pull_only_job_receives_the_push_secret(registry):
    m = ServiceModel.from_answers({"service_name": "payments-api", "cloud": "none", "image_registry": registry})
    for jid, job in _pull_only_jobs(m):
        text = _receives(job)
        assert not any(p in text.replace(" ", "") for p in (s.replace(" ", "") for s in PUSH)), (jid, text)
        assert '"registry"' not in json.dumps(job.get("environment")), f"{jid} runs in the push environment"
    # ci.yml passes cd.yml only the read pair; publish and sign keep the push pair
    ci = workflows.ci(m)["jobs"]
    assert "REGISTRY_PASSWORD" not in ci["deploy"]["secrets"]
    if registry.startswith("ghcr.io"):
        assert "github.token" in _receives(ci["scan"]) and ci["scan"]["permissions"]["packages"] == "read"
    else:
        assert "REGISTRY_READ_PASSWORD" in _receives(ci["scan"])
        assert "secrets.REGISTRY_PASSWORD" in _receives(ci["publish"])


def test_mutation_push_secret_in_a_deploy_job_is_caught(monkeypatch):
    m = ServiceModel.from_answers({"service_name": "payments-api", "cloud": "none",
                                   "image_registry": "registry.example.com/acme"})
    monkeypatch.setattr(workflows.steps, "READ_SECRETS", workflows.PUSH_SECRETS)
    leaked = [jid for jid, job in _pull_only_jobs(m) if "secrets.REGISTRY_PASSWORD" in _receives(job)]
    assert "ci.scan" in leaked and any(j.startswith("cd.deploy-") for j in leaked)


@pytest.mark.parametrize("answers", [{}, {"gitops": "flux", "delivery": "rolling"}, {"blueprint": "cronjob"}])
def test_cd_reader_is_namespaced_and_read_only(answers):
    m = ServiceModel.from_answers({"service_name": "payments-api", **answers})
    rbac = k8s.rbac_objects(m) + gitops.files(m)["cd-reader.yaml"]
    roles = [o for o in rbac if o["kind"] == "Role" and o["metadata"]["name"] == k8s.cd_reader_name(m)]
    bindings = [o for o in rbac if o["kind"] == "RoleBinding" and o["metadata"]["name"] == k8s.cd_reader_name(m)]
    assert len(roles) == 2 and len(bindings) == 2
    assert all(b["subjects"] == [k8s.cd_reader_subject(m)] for b in bindings)
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch", "patch"}, rule
            assert "*" not in rule["resources"] + rule["apiGroups"]
            if "patch" in rule["verbs"]:  # only the refresh annotation / canary abort, by name
                assert rule.get("resourceNames"), rule
    assert not any(o["kind"].startswith("Cluster") for o in rbac)


def test_read_only_pair_and_cd_reader_are_documented():
    from scaffold.artifacts import release, security

    m = ServiceModel.from_answers({"service_name": "payments-api", "cloud": "none",
                                   "image_registry": "registry.example.com/acme"})
    names = {i.name for i in release.items(m)}
    assert {"REGISTRY_READ_USERNAME", "REGISTRY_READ_PASSWORD", workflows.READ_ENVIRONMENT} <= names
    kube = next(i for i in release.items(m) if i.name == "KUBECONFIG")
    assert f"`{k8s.cd_reader_name(m)}`" in kube.how
    rows = {r["name"]: r for r in security.secrets(m)}
    assert "scan" in rows["REGISTRY_READ_USERNAME / REGISTRY_READ_PASSWORD"]["used_by"]
    assert "scan" not in rows["REGISTRY_USERNAME / REGISTRY_PASSWORD"]["used_by"]
