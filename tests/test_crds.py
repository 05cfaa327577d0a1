"""CRD kinds against their upstream schema packages: each kind's minimal valid object
passes, and unknown fields, wrong types, bad enums/patterns and missing required fields
fail at the right path. Then the checker over rendered packages."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scaffold.validate import crd_schemas
from scaffold import yamlio
from scaffold.model.package import Package
from scaffold.validate import crds as crds_checker
from tests.helpers import mutable_copy, require_tool


@pytest.fixture(autouse=True, scope="module")
def _tools():
    require_tool("node")


META = {"name": "payments-api", "namespace": "payments-api", "labels": {"app.kubernetes.io/name": "payments-api"}}

VALID = {
    "PrometheusRule": {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": META,
        "spec": {"groups": [{"name": "payments-api.slo", "interval": "30s", "rules": [
            {"record": "slo:sli_error:ratio_rate5m", "expr": "sum(rate(http_requests_total{code=~\"5..\"}[5m]))", "labels": {"slo": "availability"}},
            {"alert": "HighErrorRate", "expr": "slo:sli_error:ratio_rate5m > 0.0144", "for": "2m",
             "labels": {"severity": "critical"}, "annotations": {"summary": "errors"}}]}]}},
    "ServiceMonitor": {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": META,
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
                 "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scheme": "http"}]}},
    "PodMonitor": {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": META,
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
                 "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}]}},
    "Probe": {"apiVersion": "monitoring.coreos.com/v1", "kind": "Probe", "metadata": META,
        "spec": {"jobName": "payments-api-synthetic", "interval": "30s", "module": "http_2xx",
                 "prober": {"url": "blackbox-exporter.monitoring.svc:9115", "scheme": "http", "path": "/probe"},
                 "targets": {"staticConfig": {"static": ["https://payments-api.example.com/readyz"],
                                              "labels": {"namespace": "payments-api-prod"}}}}},
    "Rollout": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": META,
        "spec": {"replicas": 2, "revisionHistoryLimit": 3,
                 "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments-api", "scaleDown": "progressively"},
                 "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {"duration": "5m"}},
                     {"analysis": {"templates": [{"templateName": "payments-api-slo"}]}}, {"setWeight": 50}]}}}},
    "AnalysisTemplate": {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": META,
        "spec": {"metrics": [{"name": "success-rate", "interval": "1m", "count": 5, "failureLimit": 1,
                              "successCondition": "result[0] >= 0.999",
                              "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090",
                                                          "query": "1 - slo:sli_error:ratio_rate5m"}}}]}},
    "Application": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "payments-api-prod", "namespace": "argocd"},
        "spec": {"project": "payments-api",
                 "source": {"repoURL": "https://github.com/acme/payments-api", "targetRevision": "main", "path": "k8s/overlays/prod"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "payments-api-prod"},
                 "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"],
                                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}}}},
    "AppProject": {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "payments-api", "namespace": "argocd"},
        "spec": {"description": "payments-api", "sourceRepos": ["https://github.com/acme/payments-api"],
                 "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "payments-api-*"}],
                 "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]}},
    "GitRepository": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"name": "payments-api", "namespace": "flux-system"},
        "spec": {"interval": "1m0s", "url": "https://github.com/acme/payments-api", "ref": {"branch": "main"}}},
    "Kustomization": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "payments-api-prod", "namespace": "flux-system"},
        "spec": {"interval": "10m0s", "path": "./k8s/overlays/prod", "prune": True, "wait": True, "timeout": "5m0s",
                 "sourceRef": {"kind": "GitRepository", "name": "payments-api"}, "targetNamespace": "payments-api-prod"}},
    "ExternalSecret": {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": META,
        "spec": {"refreshInterval": "1h", "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                 "target": {"name": "payments-api-secrets", "creationPolicy": "Owner"},
                 "dataFrom": [{"extract": {"key": "platform/payments-api/prod"}}]}},
    "ClusterSecretStore": {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": "aws-secrets-manager"},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}},
    "SecretStore": {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": META,
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1",
                                      "auth": {"jwt": {"serviceAccountRef": {"name": "payments-api"}}}}}}},
    "HTTPRoute": {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": META,
        "spec": {"parentRefs": [{"name": "public", "namespace": "gateway-system"}], "hostnames": ["payments-api.example.com"],
                 "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                            "backendRefs": [{"name": "payments-api", "port": 8080}]}]}},
    "VeleroSchedule": {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "payments-api-prod-daily", "namespace": "velero"},
        "spec": {"schedule": "0 3 * * *", "useOwnerReferencesInBackup": False,
                 "template": {"ttl": "720h0m0s", "includedNamespaces": ["payments-api-prod"], "snapshotVolumes": True}}},
    "ClusterPolicy": {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "require-labels"},
        "spec": {"validationFailureAction": "Enforce", "background": True, "rules": [{"name": "require-labels",
                 "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
                 "validate": {"message": "labels are required", "pattern": {"metadata": {"labels": {"app.kubernetes.io/name": "?*"}}}}}]}},
}

# (fixture, path to mutate, op, value, error path expected)
BROKEN = [
    # unknown fields: at the top of spec, and nested deep in typed objects
    ("PrometheusRule", ["spec", "groups", 0, "rules", 1, "severity"], "set", "page", "/spec/groups/0/rules/1/severity"),
    ("ServiceMonitor", ["spec", "endpoints", 0, "metricsPath"], "set", "/m", "/spec/endpoints/0/metricsPath"),
    ("PodMonitor", ["spec", "podMetricsEndpoints", 0, "target"], "set", "http", "/spec/podMetricsEndpoints/0/target"),
    ("PodMonitor", ["spec", "podMetricsEndpoints", 0, "interval"], "set", 30, "/spec/podMetricsEndpoints/0/interval"),
    ("PodMonitor", ["spec", "selector"], "del", None, "/spec"),
    ("Probe", ["spec", "targets", "staticConfig", "urls"], "set", ["https://x"], "/spec/targets/staticConfig/urls"),
    ("Probe", ["spec", "prober", "url"], "del", None, "/spec/prober"),
    ("Rollout", ["spec", "strategy", "canary", "steps", 1, "pause", "seconds"], "set", 5, "/spec/strategy/canary/steps/1/pause/seconds"),
    ("AnalysisTemplate", ["spec", "metrics", 0, "provider", "prometheus", "url"], "set", "http://x", "/spec/metrics/0/provider/prometheus/url"),
    ("Application", ["spec", "syncPolicy", "automated", "prune_all"], "set", True, "/spec/syncPolicy/automated/prune_all"),
    ("AppProject", ["spec", "sourceRepo"], "set", ["x"], "/spec/sourceRepo"),
    ("GitRepository", ["spec", "branch"], "set", "main", "/spec/branch"),
    ("Kustomization", ["spec", "sourceRef", "branch"], "set", "main", "/spec/sourceRef/branch"),
    ("ExternalSecret", ["spec", "target", "type"], "set", "Opaque", "/spec/target/type"),
    ("ClusterSecretStore", ["spec", "provider", "aws", "zone"], "set", "a", "/spec/provider/aws/zone"),
    ("HTTPRoute", ["spec", "parentRefs", 0, "gateway"], "set", "public", "/spec/parentRefs/0/gateway"),
    ("HTTPRoute", ["metadata", "label"], "set", "x", "/metadata/label"),
    ("VeleroSchedule", ["spec", "template", "retention"], "set", "30d", "/spec/template/retention"),
    ("VeleroSchedule", ["spec", "use_owner_references_in_backup"], "set", True, "/spec/use_owner_references_in_backup"),
    ("ClusterPolicy", ["spec", "rules", 0, "validate", "msg"], "set", "x", "/spec/rules/0/validate/msg"),
    # wrong types, enums, patterns
    ("PrometheusRule", ["spec", "groups", 0, "rules", 1, "labels"], "set", {"severity": 1}, "/spec/groups/0/rules/1/labels/severity"),
    ("PrometheusRule", ["spec", "groups", 0, "rules", 1, "for"], "set", "2 minutes", "/spec/groups/0/rules/1/for"),
    ("ServiceMonitor", ["spec", "endpoints", 0, "scheme"], "set", "ftp", "/spec/endpoints/0/scheme"),
    ("Rollout", ["spec", "strategy", "canary", "steps", 0, "setWeight"], "set", "20", "/spec/strategy/canary/steps/0/setWeight"),
    ("AnalysisTemplate", ["spec", "metrics", 0, "failureLimit"], "set", [1], "/spec/metrics/0/failureLimit"),
    ("Application", ["spec", "syncPolicy", "automated", "prune"], "set", "yes", "/spec/syncPolicy/automated/prune"),
    ("AppProject", ["spec", "destinations", 0, "namespace"], "set", 5, "/spec/destinations/0/namespace"),
    ("GitRepository", ["spec", "interval"], "set", "every minute", "/spec/interval"),
    ("Kustomization", ["spec", "sourceRef", "kind"], "set", "HelmRepository", "/spec/sourceRef/kind"),
    ("ExternalSecret", ["spec", "secretStoreRef", "kind"], "set", "Vault", "/spec/secretStoreRef/kind"),
    ("ClusterSecretStore", ["spec", "provider", "aws", "service"], "set", "S3", "/spec/provider/aws/service"),
    ("HTTPRoute", ["spec", "rules", 0, "backendRefs", 0, "port"], "set", "8080", "/spec/rules/0/backendRefs/0/port"),
    ("HTTPRoute", ["spec", "hostnames", 0], "set", "Bad_Host", "/spec/hostnames/0"),
    ("VeleroSchedule", ["spec", "template", "ttl"], "set", 720, "/spec/template/ttl"),
    ("ClusterPolicy", ["spec", "validationFailureAction"], "set", "Block", "/spec/validationFailureAction"),
    ("ClusterPolicy", ["spec", "background"], "set", "true", "/spec/background"),
    # missing required fields
    ("PrometheusRule", ["spec", "groups", 0, "rules", 1, "expr"], "del", None, "/spec/groups/0/rules/1"),
    ("ServiceMonitor", ["spec", "selector"], "del", None, "/spec"),
    ("AnalysisTemplate", ["spec", "metrics", 0, "name"], "del", None, "/spec/metrics/0"),
    ("Application", ["spec", "destination"], "del", None, "/spec"),
    ("AppProject", ["spec", "clusterResourceWhitelist", 0, "kind"], "del", None, "/spec/clusterResourceWhitelist/0"),
    ("GitRepository", ["spec", "url"], "del", None, "/spec/url"),
    ("Kustomization", ["spec", "prune"], "del", None, "/spec/prune"),
    ("ExternalSecret", ["spec", "dataFrom", 0, "extract", "key"], "del", None, "/spec/dataFrom/0/extract"),
    ("ClusterSecretStore", ["spec", "provider"], "del", None, "/spec"),
    ("SecretStore", ["spec", "provider", "aws", "auth", "jwt", "serviceAccountRef"], "set", {"namespace": "x"},
     "/spec/provider/aws/auth/jwt/serviceAccountRef"),
    ("HTTPRoute", ["spec", "parentRefs", 0, "name"], "del", None, "/spec/parentRefs/0"),
    ("VeleroSchedule", ["spec", "schedule"], "del", None, "/spec/schedule"),
    ("ClusterPolicy", ["spec", "rules", 0, "name"], "del", None, "/spec/rules/0"),
]
# Rollout's Go types mark nothing under spec required; its broken cases are the two above.


def mutate(name: str, path: list, op: str, value):
    obj = copy.deepcopy(VALID[name])
    cur = obj
    for key in path[:-1]:
        cur = cur[key]
    if op == "del":
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return obj


@pytest.fixture(scope="module")
def broken_results():
    objs = [mutate(name, path, op, value) for name, path, op, value, _ in BROKEN]
    return crd_schemas.validate(objs)


def test_every_kind_has_a_schema_source_and_a_fixture():
    wanted = {"PrometheusRule", "ServiceMonitor", "PodMonitor", "Probe", "Rollout", "AnalysisTemplate", "Application", "AppProject",
              "GitRepository", "Kustomization", "ExternalSecret", "SecretStore", "ClusterSecretStore", "HTTPRoute", "Schedule",
              "ClusterPolicy"}
    assert {kind for _, kind in crd_schemas.SOURCES} == wanted
    assert {(o["apiVersion"], o["kind"]) for o in VALID.values()} == set(crd_schemas.SOURCES)
    kinds_broken = {name for name, *_ in BROKEN}
    assert kinds_broken == set(VALID), "every kind needs broken variants"


def test_minimal_valid_objects_pass():
    objs = list(VALID.values())
    results = crd_schemas.validate(objs)
    assert {o["kind"]: r for o, r in zip(objs, results)} == {o["kind"]: [] for o in objs}


@pytest.mark.parametrize("index", range(len(BROKEN)), ids=[f"{c[0]}-{c[2]}-{'.'.join(map(str, c[1]))}" for c in BROKEN])
def test_broken_variant_fails_at_its_path(index, broken_results):
    case = BROKEN[index]
    errors = broken_results[index]
    assert errors, f"{case[0]}: {case[2]} {case[1]} was accepted"
    assert case[4] in {e.path for e in errors}, errors


def test_unknown_fields_inside_free_form_objects_are_kept():
    """Upstream preserves unknown fields in free-form values (Helm values, Kyverno patterns)."""
    app = copy.deepcopy(VALID["Application"])
    app["spec"]["source"]["helm"] = {"valuesObject": {"any": {"nested": ["thing"]}}}
    policy = copy.deepcopy(VALID["ClusterPolicy"])
    policy["spec"]["rules"][0]["validate"]["pattern"]["spec"] = {"whatever": {"deep": "?*"}}
    assert crd_schemas.validate([app, policy]) == [[], []]


def _leaf_mutations(doc: dict) -> list[tuple[tuple, str]]:
    """A wrong type for every string and bool, an unknown key in every object and the
    removal of every field of a generated object (metadata below the name excepted)."""
    out: list[tuple[tuple, str]] = []

    def walk(value, path: tuple) -> None:
        if path and path[0] in ("apiVersion", "kind") or path[:1] == ("metadata",) and len(path) > 1:
            return
        if path:
            if isinstance(value, dict):
                out.append((path, "unknown"))
            elif isinstance(value, bool):
                out.append((path, "str"))
            elif isinstance(value, str):
                out.append((path, "int"))
            if isinstance(path[-1], str):
                out.append((path, "del"))
        for key, child in (value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list)
                           else ()):
            walk(child, (*path, key))

    walk(doc, ())
    return out


def _apply(doc: dict, path: tuple, op: str) -> dict:
    doc = copy.deepcopy(doc)
    cur = doc
    for key in path[:-1]:
        cur = cur[key]
    if op == "unknown":
        cur[path[-1]]["bogusKey"] = 1
    elif op == "int":
        cur[path[-1]] = 12345
    elif op == "str":
        cur[path[-1]] = "yes"
    else:
        del cur[path[-1]]
    return doc


@pytest.mark.slow
def test_kyverno_npm_schema_rejects_what_the_crd_models_reject(render):
    """ClusterPolicy moved from cloudcoil's pydantic models (generated from Kyverno's CRD;
    building them was 3 s of the checker's CPU) to @kubernetes-models/kyverno's compiled
    validator. Over every field of the package's generated policies, wrong types, unknown
    keys and removals, both accept and reject the same objects."""
    docs = [json.loads(json.dumps(d, default=str))
            for d in yamlio.load_all((render() / "resilience/kyverno-policies.yaml").read_text()) if d]
    cases = [(d, path, op) for d in docs for path, op in _leaf_mutations(d)]
    objs = [_apply(d, path, op) for d, path, op in cases]
    npm = crd_schemas.validate(objs)
    models = crd_schemas.Source("pypi", "cloudcoil-models-kyverno", "cloudcoil.models.kyverno.v1:ClusterPolicy")
    pydantic = [crd_schemas._validate_pydantic(models, o) for o in objs]
    differ = [f"{op} /{'/'.join(map(str, path))}: npm {a[:1]}, CRD models {b[:1]}"
              for (_, path, op), a, b in zip(cases, npm, pydantic) if bool(a) != bool(b)]
    assert len(cases) > 300 and sum(map(bool, npm)) > 100
    assert differ == []


def test_wrong_kind_for_a_known_apiversion_is_not_validated_silently():
    assert crd_schemas.source_for("external-secrets.io/v1", "ExternalSecrets") is None
    assert not crd_schemas.is_builtin("external-secrets.io/v1", "ExternalSecrets")
    assert crd_schemas.is_builtin("apps/v1", "Deployment")
    assert crd_schemas.is_builtin("v1", "ConfigMap")
    assert not crd_schemas.is_builtin("velero.io/v1", "Schedule")


# -- the checker over packages ------------------------------------------------
def _write(path: Path, *docs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n".join(yamlio.dump(d) for d in docs), encoding="utf-8")


@pytest.fixture(scope="module")
def default_copy(render, tmp_path_factory) -> Path:
    dest = mutable_copy(render(), tmp_path_factory.mktemp("crds"), "payments-api")
    return dest


def test_checker_passes_on_default_package_and_validates_its_crds(render):
    require_tool("kubectl")
    pkg = Package.load(render())
    report = crds_checker.check(pkg)
    assert report.findings == []
    # The default package ships at least an ExternalSecret and an HTTPRoute (service + gateway).
    assert report.validated["ExternalSecret"] > 0
    assert report.validated["HTTPRoute"] > 0
    # Every sourced kind the package ships (as other areas add them) is counted as validated.
    present = {(d.get("apiVersion"), d.get("kind")) for _, d in crds_checker.collect(pkg)[0] if isinstance(d, dict)}
    for api_version, kind in present & set(crd_schemas.SOURCES):
        assert report.validated[kind] > 0, f"{kind} is in the package but was not validated"


def test_checker_finds_errors_unknown_kinds_and_names_chaos_mesh(default_copy):
    require_tool("kubectl")
    root = default_copy
    route = yamlio.load_file(root / "k8s/base/httproute.yaml")
    route["spec"]["rules"][0]["timeouts"] = {"request": "10s"}  # a real v1 field: must stay accepted
    route["spec"]["rule"] = []
    _write(root / "k8s/base/httproute.yaml", route)
    _write(root / "resilience/velero/schedule.yaml", mutate("VeleroSchedule", ["spec", "schedule"], "del", None))
    _write(root / "resilience/chaos/pod-kill.yaml",
           {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "PodChaos", "metadata": {"name": "x"},
            "spec": {"action": "pod-kill", "mode": "one"}})
    _write(root / "gitops/extra.yaml",
           {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
           {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []})
    chk = crds_checker.CrdChecker()
    findings = chk.run(Package.load(root))
    by_file = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f.message)
    assert any("/spec/rule: unknown field" in m and "also in k8s/overlays/" in m
               for m in by_file["k8s/base/httproute.yaml"]), by_file
    assert not any("timeouts" in m for m in by_file["k8s/base/httproute.yaml"])
    assert any("/spec/schedule" in m for m in by_file["resilience/velero/schedule.yaml"])
    assert any("Widget" in m and "no upstream schema" in m for m in by_file["gitops/extra.yaml"])
    assert "resilience/chaos/pod-kill.yaml" not in by_file
    not_validated = chk.detail.split("NOT validated: ")[1]
    assert "PodChaos×" in not_validated and "Chaos Mesh" in not_validated


def test_embedded_core_types_are_strict_too():
    """A Rollout's pod template is checked against the Kubernetes core schema, strictly."""
    rollout = copy.deepcopy(VALID["Rollout"])
    del rollout["spec"]["workloadRef"]
    rollout["spec"]["selector"] = {"matchLabels": {"app": "x"}}
    rollout["spec"]["template"] = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [
        {"name": "app", "image": "x", "imagePullPolicy": "Sometimes", "securityContxt": {}}]}}
    paths = {e.path: e.message for e in crd_schemas.validate([rollout])[0]}
    assert "enum" not in paths.get("/spec/template/spec/containers/0/imagePullPolicy", "enum")
    assert "unknown field" in paths["/spec/template/spec/containers/0/securityContxt"]


# -- CRD manifests given with --crd-dir (Chaos Mesh from ../shared/crds) --------
CHAOS = ("PodChaos", "NetworkChaos", "Schedule")


@pytest.fixture(scope="module")
def chaos_schemas():
    from tests.helpers import shared_crds

    return crd_schemas.load_crd_dirs([shared_crds()])


def _chaos_objects(root: Path) -> dict[str, dict]:
    docs = yamlio.load_all((root / "resilience/chaos-experiments.yaml").read_text(encoding="utf-8"))
    return {d["kind"]: d for d in docs if d["apiVersion"].startswith("chaos-mesh.org/")}


def test_crd_dir_loads_served_versions(chaos_schemas):
    assert {("chaos-mesh.org/v1alpha1", k) for k in CHAOS} <= set(chaos_schemas)


def test_generated_chaos_objects_validate_against_their_crds(render, chaos_schemas):
    objects = _chaos_objects(render())
    assert sorted(objects) == sorted(CHAOS)
    assert crd_schemas.validate_with_crds(list(objects.values()), chaos_schemas) == [[], [], []]


# (kind, path to set, bad value, expected error path, expected words)
CHAOS_MUTATIONS = [
    ("PodChaos", ["spec", "gracePeriodSecs"], 0, "/spec/gracePeriodSecs", "unknown field"),
    ("PodChaos", ["spec", "gracePeriod"], "0", "/spec/gracePeriod", "not of type"),
    ("NetworkChaos", ["spec", "delay", "latencyMs"], 60, "/spec/delay/latencyMs", "unknown field"),
    ("NetworkChaos", ["spec", "delay", "latency"], 60, "/spec/delay/latency", "not of type"),
    ("Schedule", ["spec", "podChaos", "selector", "namespace"], ["x"], "/spec/podChaos/selector/namespace",
     "unknown field"),
    ("Schedule", ["spec", "historyLimit"], "5", "/spec/historyLimit", "not of type"),
    ("Schedule", ["metadata", "lables"], {}, "/metadata/lables", "unknown field"),
]


@pytest.mark.parametrize("kind,path,value,where,words", CHAOS_MUTATIONS,
                         ids=[f"{m[0]}-{m[3]}" for m in CHAOS_MUTATIONS])
def test_chaos_mutations_fail_at_their_path(render, chaos_schemas, kind, path, value, where, words):
    obj = copy.deepcopy(_chaos_objects(render())[kind])
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (errors,) = crd_schemas.validate_with_crds([obj], chaos_schemas)
    assert [e for e in errors if e.path == where and words in e.message], errors


def test_preserved_unknown_fields_stay_open():
    schema = crd_schemas.strict_schema({"type": "object", "properties": {
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
        "port": {"x-kubernetes-int-or-string": True},
        "maybe": {"type": "string", "nullable": True}}})
    import jsonschema

    v = jsonschema.Draft4Validator(schema)
    assert not list(v.iter_errors({"free": {"any": 1}, "map": {"k": "v"}, "port": "http", "maybe": None}))
    assert not list(v.iter_errors({"port": 8080}))
    assert [e.validator for e in v.iter_errors({"map": {"k": 1}, "other": 1})] == ["type", "additionalProperties"]


def test_checker_with_crd_dir_validates_chaos_and_catches_mutations(render, tmp_path):
    require_tool("kubectl")
    from tests.helpers import shared_crds

    default_copy = mutable_copy(render(), tmp_path, "payments-api")
    pkg = Package.load(default_copy)
    report = crds_checker.check(pkg, [shared_crds()])
    assert report.findings == [] and not report.unvalidated
    for kind in CHAOS:
        assert report.validated[f"{kind} (chaos-mesh.org)"] == 1
    assert report.validated["Schedule"] > 0  # Velero's, from its own package
    # a mutated copy: unknown field and wrong type both reported, by file
    path = default_copy / "resilience/chaos-experiments.yaml"
    docs = yamlio.load_all(path.read_text(encoding="utf-8"))
    docs[0]["spec"]["gracePeriodSecs"] = 0
    docs[1]["spec"]["duration"] = 600
    _write(path, *docs)
    messages = [f.message for f in crds_checker.check(pkg, [shared_crds()]).findings
                if f.file == "resilience/chaos-experiments.yaml"]
    assert any("PodChaos" in m and "/spec/gracePeriodSecs: unknown field" in m for m in messages), messages
    assert any("NetworkChaos" in m and "/spec/duration" in m and "not of type" in m for m in messages), messages


def test_cli_crd_dir_flag_env_var_and_bad_dir(render, monkeypatch, tmp_path):
    require_tool("kubectl")
    import json

    from typer.testing import CliRunner

    from scaffold.cli import app
    from tests.helpers import shared_crds

    def crds_detail(*args):
        res = CliRunner().invoke(app, ["validate", str(render()), "--only", "crds", "--format", "json", *args])
        assert res.exit_code == 0, res.output
        (r,) = json.loads(res.stdout)["results"]
        return r["detail"]

    monkeypatch.delenv(crd_schemas.CRD_DIRS_ENV, raising=False)
    assert "NOT validated" in crds_detail() and "PodChaos" in crds_detail()
    flagged = crds_detail("--crd-dir", str(shared_crds()))
    assert "NOT validated" not in flagged and "PodChaos (chaos-mesh.org)×1" in flagged
    import os

    monkeypatch.setenv(crd_schemas.CRD_DIRS_ENV, os.pathsep.join([str(tmp_path), str(shared_crds())]))
    assert "NOT validated" not in crds_detail()
    res = CliRunner().invoke(app, ["validate", str(render()), "--only", "crds", "--crd-dir", str(tmp_path / "no")])
    assert res.exit_code == 2 and "--crd-dir" in res.output and "not a directory" in res.output


@pytest.mark.parametrize("answers", [{"blueprint": "worker", "gitops": "flux"},
                                     {"blueprint": "cronjob", "delivery": "rolling"}],
                         ids=["worker-flux", "cronjob-rolling"])
def test_every_blueprint_validates_every_custom_resource_with_crd_dir(render, answers):
    require_tool("kubectl")
    from tests.helpers import shared_crds

    report = crds_checker.check(Package.load(render(skip_tasks=True, **answers)), [shared_crds()])
    assert report.findings == [] and not report.unvalidated, (report.findings, report.unvalidated)
    assert any(k.endswith("(chaos-mesh.org)") for k in report.validated), report.validated
