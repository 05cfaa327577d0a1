"""The Kubernetes package: rendered for several answer sets, judged by the real
checkers (kubernetes-validate strict, PSS, kubectl kustomize), and shown to fail
when the manifests break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scaffold.artifacts import k8s, telemetry
from scaffold.validate import pss
from scaffold import tools
from scaffold.answers.rules import AnswerError
from scaffold.model.service import RUN_AS_UID, ServiceModel
from scaffold.model.package import Package
from scaffold.validate import run_all
from tests.helpers import mutable_copy, require_tool

ANSWER_SETS = {
    "service-canary-gateway": dict(),
    "service-rolling-ingress-1.30": dict(delivery="rolling", ingress="ingress", k8s_version="1.30",
                                         environments=["qa", "production"], cloud="gcp"),
    "service-rolling-none-prod-only": dict(delivery="rolling", ingress="none", environments=["prod"],
                                           replicas_min=1, replicas_max=3, port=9090, cloud="none"),
    "worker": dict(blueprint="worker", delivery="rolling", cpu_request="250m", memory_request="1Gi",
                   memory_limit="2Gi", cloud="azure"),
    "worker-canary-answer": dict(blueprint="worker", k8s_version="1.32"),
    "cronjob": dict(blueprint="cronjob", schedule="0 3 * * *", environments=["dev", "stage", "live"]),
}
CHECKERS = ("kubernetes", "kustomize")


@pytest.fixture(scope="module", params=sorted(ANSWER_SETS))
def pkg(request, render) -> Path:
    return render(name="payments-api", skip_tasks=True, **ANSWER_SETS[request.param])


def model_of(root: Path) -> ServiceModel:
    return Package.load(root).model


def run_checks(root: Path) -> dict:
    require_tool("kubectl")
    return {r.checker: r for r in run_all(root, only=CHECKERS)}


def build(root: Path, env: str) -> list[dict]:
    require_tool("kubectl")
    res = tools.run("kubectl", "kustomize", str(root / "k8s" / "overlays" / env))
    assert res.returncode == 0, res.output
    return [d for d in yaml.safe_load_all(res.stdout) if d]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def is_collector(doc: dict) -> bool:
    """The per-namespace OpenTelemetry Collector (scaffold.artifacts.telemetry), not the app."""
    return doc["metadata"]["labels"].get("app.kubernetes.io/name") == telemetry.COLLECTOR_NAME


def test_checkers_pass(pkg):
    results = run_checks(pkg)
    for name in CHECKERS:
        assert results[name].status == "pass", [str(f) for f in results[name].findings]


def test_base_files_follow_the_answers(pkg):
    m = model_of(pkg)
    files = sorted(p.name for p in (pkg / "k8s" / "base").glob("*.yaml"))
    assert files == sorted(k8s.base_resources(m) + ["kustomization.yaml"])
    has = set(files)
    assert ("cronjob.yaml" in has) == (m.blueprint == "cronjob")
    # canary keeps the Deployment: the Rollout runs its pods through workloadRef
    assert ("deployment.yaml" in has) == (m.blueprint != "cronjob")
    assert ("service.yaml" in has) == (m.blueprint == "service")
    assert ({"hpa.yaml", "pdb.yaml"} <= has) == (m.blueprint != "cronjob")
    assert ("httproute.yaml" in has) == (m.blueprint == "service" and m.ingress == "gateway")
    assert ("ingress.yaml" in has) == (m.blueprint == "service" and m.ingress == "ingress")
    assert "secret.yaml" not in has


def test_overlays_per_environment(pkg):
    m = model_of(pkg)
    assert sorted(p.name for p in (pkg / "k8s" / "overlays").iterdir()) == sorted(e.name for e in m.environments)
    namespaces = set()
    for env in m.environments:
        docs = build(pkg, env.name)
        assert [d["metadata"]["name"] for d in by_kind(docs, "Namespace")] == [env.namespace]
        assert all(d["metadata"].get("namespace") == env.namespace for d in docs if d["kind"] != "Namespace")
        assert all(d["metadata"]["labels"]["scaffold.dev/environment"] == env.name for d in docs)
        assert not by_kind(docs, "Secret"), "plaintext Secrets are never shipped"
        namespaces.add(env.namespace)
        for d in docs:
            for _, _, spec in pss.pod_templates(d):
                c = spec["containers"][0]
                if is_collector(d):  # pinned by tag and digest, sized under the LimitRange's max
                    assert c["image"] == telemetry.COLLECTOR_IMAGE and "@sha256:" in c["image"]
                    assert c["resources"] == telemetry.collector_resources(m)
                    continue
                assert c["image"] == f"{m.image}@{k8s.PLACEHOLDER_DIGEST}"
                assert c["resources"] == env.resources.as_k8s()
        hpas = by_kind(docs, "HorizontalPodAutoscaler")
        if m.scales:
            (h,) = hpas
            assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (env.replicas_min, env.replicas_max)
            if env.production:
                assert h["spec"]["minReplicas"] >= 2
            assert h["spec"]["scaleTargetRef"]["kind"] == ("Rollout" if m.canary else "Deployment")
        else:
            assert not hpas and not by_kind(docs, "PodDisruptionBudget")
        secrets = {d["metadata"]["name"]: d for d in by_kind(docs, "ExternalSecret")}
        es = secrets.pop(m.name)
        # defect 7: a pull secret for registries the nodes cannot pull from by themselves
        assert list(secrets) == ([k8s.pull_secret_name(m)] if k8s.needs_pull_secret(m) else [])
        assert es["spec"]["dataFrom"][0]["extract"]["key"] == k8s.secret_key(m, env)
        assert es["spec"]["dataFrom"][0]["extract"]["key"].endswith(("/" if m.cloud in ("aws", "none") else "-")
                                                                    + env.name)
        assert es["spec"]["secretStoreRef"]["name"] == k8s.SECRET_STORES[m.cloud]
        for route in by_kind(docs, "HTTPRoute"):
            assert route["spec"]["hostnames"] == [k8s.env_hostname(m, env)]
        for ing in by_kind(docs, "Ingress"):
            assert ing["spec"]["rules"][0]["host"] == k8s.env_hostname(m, env)
        quota = by_kind(docs, "ResourceQuota")[0]["spec"]["hard"]
        assert int(quota["pods"]) >= (env.replicas_max if m.scales else 1)
    assert len(namespaces) == len(m.environments)


def test_workload_hardening(pkg):
    m = model_of(pkg)
    docs = build(pkg, m.production.name)
    workloads = [w for w in docs if list(pss.pod_templates(w))]
    assert {w["kind"] for w in workloads if not is_collector(w)} == {m.workload_kind}
    assert [w["kind"] for w in workloads if is_collector(w)] == ["Deployment"]
    for w in workloads:
        (_, _, spec), = pss.pod_templates(w)
        c = spec["containers"][0]
        sc, psc = c["securityContext"], spec["securityContext"]
        assert psc["runAsUser"] == RUN_AS_UID and psc["runAsGroup"] >= 10000 and psc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
        assert spec["automountServiceAccountToken"] is False
        assert {"tmp"} <= {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        assert set(c["resources"]["limits"]) == set(c["resources"]["requests"]) == {"cpu", "memory",
                                                                                    "ephemeral-storage"}
        if is_collector(w):  # one health_check endpoint serves both probes
            assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(c)
            continue
        if w["kind"] == "CronJob":
            s = w["spec"]
            assert s["concurrencyPolicy"] == "Forbid" and s["schedule"] == m.schedule
            assert s["startingDeadlineSeconds"] > 0 and s["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
            assert s["successfulJobsHistoryLimit"] >= 1 and s["failedJobsHistoryLimit"] >= 1
        else:
            assert c["livenessProbe"]["httpGet"]["path"] != c["readinessProbe"]["httpGet"]["path"]
            assert "startupProbe" in c
            assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
            anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        if w["kind"] == "Deployment":
            assert w["spec"]["strategy"]["type"] == "RollingUpdate"
            assert "replicas" not in w["spec"], "the HPA owns the replica count"
    for sa in by_kind(docs, "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False
    ns = by_kind(docs, "Namespace")[0]["metadata"]["labels"]
    assert all(ns[f"pod-security.kubernetes.io/{mode}"] == "restricted" for mode in ("enforce", "audit", "warn"))
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        assert pdb["spec"]["maxUnavailable"] >= 1 and pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_network_policy_allows_only_what_is_needed(pkg):
    m = model_of(pkg)
    docs = build(pkg, m.environments[0].name)
    policies = {p["metadata"]["name"]: p["spec"] for p in by_kind(docs, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = policies[m.name]
    sources = [r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for r in allow.get("ingress", [])]
    expected = ([k8s.gateway_namespace(m)] if m.has_route else []) + \
        ([k8s.MONITORING_NAMESPACE] if m.blueprint != "cronjob" else []) + \
        ([k8s.MONITORING_NAMESPACE] if m.has_http and not m.has_route else [])  # the blackbox probe, in-cluster
    assert sources == expected
    dns, *identity, collector = allow["egress"]
    assert collector == telemetry.app_egress(m)[0]  # OTLP to the namespace's collector, nothing else
    assert sorted(p["protocol"] for p in dns["ports"]) == ["TCP", "UDP"]
    assert {p["port"] for p in dns["ports"]} == {53}
    # defect 6: workload identity reaches STS / the metadata server / Entra ID; nothing else
    assert identity == k8s.identity_egress(m)
    assert bool(identity) == (m.cloud != "none")
    for rule in identity:
        assert all(p["protocol"] == "TCP" and p["port"] in (80, 443, 988) for p in rule["ports"])
    # defect 13: with ingress=ingress, cert-manager's HTTP-01 solver is reachable from the controller
    solver = policies.get(f"{m.name}-acme-solver")
    assert (solver is not None) == (m.has_route and m.ingress == "ingress")
    if solver:
        assert solver["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
        assert solver["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": k8s.INGRESS_NAMESPACE}


def test_role_is_least_privilege(pkg):
    m = model_of(pkg)
    roles = by_kind(build(pkg, m.environments[0].name), "Role")
    # The app's own Role; the CD reader's (read-only, named resources) is judged in test_registry_read_only.
    (role,) = [r for r in roles if not r["metadata"]["name"].endswith("-cd-reader")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [k8s.configmap_name(m)], "verbs": ["get"]}]


# -- the checkers must fail when the manifests break --------------------------
@pytest.fixture()
def broken(render, tmp_path) -> Path:
    src = render(name="payments-api", skip_tasks=True, blueprint="worker", delivery="rolling")
    dest = mutable_copy(src, tmp_path)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def findings(root: Path, name: str) -> list[str]:
    result = run_checks(root)[name]
    assert result.status == "fail"
    return [f"{f.file}: {f.message}" for f in result.findings]


def test_privileged_container_is_reported_in_base_and_every_overlay(broken):
    _edit(broken / "k8s/base/deployment.yaml", "privileged: false", "privileged: true")
    assert any("Privileged Containers" in f for f in findings(broken, "kubernetes"))
    over = [f for f in findings(broken, "kustomize") if "Privileged" in f]
    # reported once for the overlays, naming every build it breaks (issue 20: not one row per overlay)
    assert len(over) == 1 and over[0].startswith("k8s/overlays: ")
    assert over[0].endswith("(in the dev, staging, prod builds)")


def test_unknown_field_fails_strict_schema(broken):
    _edit(broken / "k8s/base/deployment.yaml", "revisionHistoryLimit:", "revisionHistorylimit:")
    assert any("revisionHistorylimit" in f and "strict" in f for f in findings(broken, "kubernetes"))


def test_removed_api_version_is_not_mistaken_for_a_crd(broken):
    _edit(broken / "k8s/base/hpa.yaml", "autoscaling/v2", "autoscaling/v2beta2")
    assert any("HorizontalPodAutoscaler" in f and "has no" in f for f in findings(broken, "kubernetes"))


def test_unlisted_base_file_is_reported(broken):
    shutil.copy(broken / "k8s/base/configmap.yaml", broken / "k8s/base/extra.yaml")
    assert any(f.startswith("k8s/base/extra.yaml:") and "not listed" in f for f in findings(broken, "kubernetes"))


def test_broken_overlay_build_is_reported(broken):
    _edit(broken / "k8s/overlays/staging/kustomization.yaml", "- ../../base", "- ../../missing")
    assert any(f.startswith("k8s/overlays/staging:") and "kubectl kustomize failed" in f
               for f in findings(broken, "kustomize"))


def test_overlay_that_loses_its_digest_pin_or_ha_is_reported(broken):
    prod = broken / "k8s/overlays/prod/kustomization.yaml"
    kust = yaml.safe_load(prod.read_text())
    kust["images"] = [{"name": kust["images"][0]["name"], "newTag": "latest"}]
    for p in kust["patches"]:
        if p["target"]["kind"] == "HorizontalPodAutoscaler":
            p["patch"] = p["patch"].replace("value: 2", "value: 1", 1)
    prod.write_text(yaml.safe_dump(kust))
    out = findings(broken, "kustomize")
    assert any("not pinned by digest" in f for f in out)
    assert any("production minReplicas 1 < 2" in f for f in out)


def test_overlay_for_unknown_environment_is_reported(broken):
    shutil.copytree(broken / "k8s/overlays/dev", broken / "k8s/overlays/qa")
    assert any("'qa' is not one of the environments" in f for f in findings(broken, "kustomize"))


def test_yaml_11_booleans_are_caught_after_the_build(broken):
    """`on` is true to PyYAML but a string once kustomize re-emits it: the overlay check sees it."""
    _edit(broken / "k8s/base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: on")
    assert any("readOnlyRootFilesystem" in f for f in findings(broken, "kustomize"))


# -- policy math --------------------------------------------------------------
@pytest.mark.fast
def test_quota_covers_rollout_headroom():
    m = ServiceModel.from_answers({"service_name": "payments-api", "delivery": "rolling", "replicas_max": 8})
    hard = k8s.quota_hard(m, m.resources, 8)
    assert hard["pods"] == "12"  # 8 + 25% surge, + the collector and its surge pod
    assert hard["limits.cpu"] == "4400m" and hard["requests.memory"] == "1408Mi"  # + 2 x 200m, + 2 x 64Mi
    canary = ServiceModel.from_answers({"service_name": "payments-api", "replicas_max": 8})
    assert k8s.quota_hard(canary, canary.resources, 8)["pods"] == "18"


@pytest.mark.fast
def test_env_hostname_never_exceeds_dns_limit():
    host = ".".join(["a" * 60] * 4)  # 243 chars
    # issue 16: staging/dev must never fall back to production's name on the shared Gateway
    with pytest.raises(AnswerError, match="must leave room for the environment prefix"):
        ServiceModel.from_answers({"service_name": "payments-api", "hostname": host,
                                   "environments": ["development", "prod"]})
    m = ServiceModel.from_answers({"service_name": "payments-api", "hostname": host, "environments": ["qa", "prod"]})
    assert k8s.env_hostname(m, m.environments[0]) == f"qa.{host}" and len(f"qa.{host}") <= 253
    assert k8s.env_hostname(m, m.environments[1]) == host
