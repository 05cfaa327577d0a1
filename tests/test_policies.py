"""Kyverno policies: the generated ClusterPolicies (read from the package) are
evaluated against every object of every overlay build and pass; mutated
objects are rejected by the rule that guards the property."""

from __future__ import annotations

import copy
import subprocess

import pytest

from scaffold.validate import policy_eval
from scaffold import yamlio
from scaffold.model.package import Package
from tests.helpers import require_tool

BLUEPRINTS = [{"blueprint": "service"}, {"blueprint": "service", "delivery": "rolling"},
              {"blueprint": "worker"}, {"blueprint": "cronjob"}]


def policies(pkg_root) -> list[dict]:
    docs = yamlio.load_all((pkg_root / "resilience" / "kyverno-policies.yaml").read_text())
    assert docs and all(d["kind"] == "ClusterPolicy" for d in docs)
    return docs


def overlay_objects(pkg_root, env) -> list[dict]:
    kubectl = require_tool("kubectl")
    proc = subprocess.run([kubectl, "kustomize", str(pkg_root / "k8s" / "overlays" / env)],
                          capture_output=True, text=True, check=True)
    return yamlio.load_all(proc.stdout)


@pytest.mark.parametrize("answers", BLUEPRINTS, ids=lambda a: "-".join(a.values()))
def test_every_overlay_satisfies_every_policy(render, answers):
    pkg_root = render(skip_tasks=True, **answers)
    model = Package.load(pkg_root).model
    pols = policies(pkg_root)
    for env in model.environments:
        objs = overlay_objects(pkg_root, env.name)
        checked, violations = policy_eval.evaluate_all(pols, objs)
        assert [str(v) for v in violations] == []
        # every policy applied to the workload: nothing passes vacuously
        workload = next(o for o in objs if o["kind"] == model.workload_kind)
        for p in pols:
            applied, _ = policy_eval.evaluate(p, workload)
            assert applied, f"{p['metadata']['name']} did not apply to the {workload['kind']}"
        assert checked >= len(pols)


def _violations(pols, obj) -> set[tuple[str, str]]:
    return {(v.policy.split("-", 2)[-1], v.rule) for p in pols for v in policy_eval.evaluate(p, obj)[1]}


def _pod_spec(obj):
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


@pytest.mark.parametrize("answers", [{"blueprint": "service"}, {"blueprint": "cronjob"}],
                         ids=["deployment", "cronjob"])
def test_mutations_are_rejected(render, answers):
    pkg_root = render(skip_tasks=True, **answers)
    model = Package.load(pkg_root).model
    pols = policies(pkg_root)
    objs = overlay_objects(pkg_root, model.production.name)
    good = next(o for o in objs if o["kind"] == model.workload_kind)
    assert _violations(pols, good) == set()

    def mutated(fn):
        obj = copy.deepcopy(good)
        fn(obj)
        return _violations(pols, obj)

    c = lambda o: _pod_spec(o)["containers"][0]  # noqa: E731
    assert ("pss-restricted", "no-privilege") in mutated(lambda o: c(o)["securityContext"].update(privileged=True))
    assert ("pss-restricted", "no-privilege") in mutated(
        lambda o: c(o)["securityContext"].update(allowPrivilegeEscalation=True))
    assert ("pss-restricted", "run-as-non-root") in mutated(
        lambda o: _pod_spec(o)["securityContext"].pop("runAsNonRoot"))
    assert ("pss-restricted", "run-as-non-root") in mutated(lambda o: c(o)["securityContext"].update(runAsUser=0))
    assert ("pss-restricted", "drop-all-capabilities") in mutated(
        lambda o: c(o)["securityContext"]["capabilities"].update(drop=["NET_RAW"]))
    assert ("pss-restricted", "seccomp-runtime-default") in mutated(
        lambda o: _pod_spec(o)["securityContext"].update(seccompProfile={"type": "Unconfined"}))
    assert ("pss-restricted", "no-host-namespaces") in mutated(lambda o: _pod_spec(o).update(hostNetwork=True))
    assert ("pss-restricted", "no-host-path-or-ports") in mutated(
        lambda o: _pod_spec(o).setdefault("volumes", []).append({"name": "h", "hostPath": {"path": "/"}}))
    assert ("images-by-digest", "image-digest") in mutated(lambda o: c(o).update(image=f"{model.image}:1.0"))
    assert ("images-by-digest", "image-digest") in mutated(lambda o: c(o).update(image=model.image))
    assert ("images-by-digest", "image-digest") in mutated(  # an init container is checked too
        lambda o: _pod_spec(o).setdefault("initContainers", []).append({**copy.deepcopy(c(o)), "image": "busybox"}))
    assert ("resources-set", "requests-and-limits") in mutated(lambda o: c(o)["resources"].pop("limits"))
    assert ("resources-set", "requests-and-limits") in mutated(lambda o: c(o)["resources"]["limits"].pop("memory"))
    label = "app.kubernetes.io/part-of"
    tmpl = good["spec"]["template"] if good["kind"] != "CronJob" else good["spec"]["jobTemplate"]["spec"]["template"]
    assert label in tmpl["metadata"]["labels"]
    if good["kind"] == "CronJob":
        assert ("required-labels", "pod-labels") in mutated(
            lambda o: o["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"].pop(label))
    else:
        assert ("required-labels", "pod-labels") in mutated(lambda o: o["spec"]["template"]["metadata"]["labels"].pop(label))
    # an object outside the service's namespaces is not this policy's business
    assert mutated(lambda o: (o["metadata"].update(namespace="elsewhere"),
                              c(o)["securityContext"].update(privileged=True))) == set()


def test_object_labels_rule(render):
    pkg_root = render(skip_tasks=True)
    model = Package.load(pkg_root).model
    pols = policies(pkg_root)
    objs = overlay_objects(pkg_root, model.production.name)
    svc = next(o for o in objs if o["kind"] == "Service")
    assert _violations(pols, svc) == set()
    bad = copy.deepcopy(svc)
    bad["metadata"]["labels"].pop("app.kubernetes.io/name")
    assert ("required-labels", "object-labels") in _violations(pols, bad)


# -- pattern semantics ------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("value,pattern,ok", [
    ("a@sha256:" + "0" * 64, "*@sha256:?*", True),
    ("a@sha256:", "*@sha256:?*", False),
    ("", "?*", False),
    (None, "?*", False),
    ("RuntimeDefault", "RuntimeDefault | Localhost", True),
    ("Unconfined", "RuntimeDefault | Localhost", False),
    (10001, ">0", True),
    (0, ">0", False),
    (False, False, True),
    ("false", False, False),
    ({"a": 1}, {"=(b)": 2}, True),
    ({"b": 3}, {"=(b)": 2}, False),
    ({"hostPath": {}}, {"X(hostPath)": "null"}, False),
    ({"emptyDir": {}}, {"X(hostPath)": "null"}, True),
    ({"kind": "x", "v": 1}, {"(kind)": "y", "v": 2}, True),  # condition fails: map skipped
    ({"kind": "y", "v": 1}, {"(kind)": "y", "v": 2}, False),
    ([{"a": 1}, {"a": 2}], [{"a": 1}], False),
    (["ALL", "X"], ["ALL"], True),
    (["NET_RAW"], ["ALL"], False),
    ([], ["ALL"], False),
])
def test_pattern_semantics(value, pattern, ok):
    assert (policy_eval.check(value, pattern) == []) is ok


# -- backups and chaos ------------------------------------------------------------
def test_velero_schedules_follow_resilience_policy(render):
    from scaffold.artifacts import resilience

    pkg_root = render(environments=["dev", "qa", "staging", "prod"], skip_tasks=True)
    model = Package.load(pkg_root).model
    docs = yamlio.load_all((pkg_root / "resilience" / "velero-schedules.yaml").read_text())
    by_ns = {d["spec"]["template"]["includedNamespaces"][0]: d for d in docs}
    assert sorted(by_ns) == sorted(e.namespace for e in model.environments)
    for p in resilience.policies(model):
        d = by_ns[p.namespace]
        assert d["spec"]["schedule"] == p.tier.schedule
        assert d["spec"]["template"]["ttl"] == f"{p.retention_days * 24}h0m0s"
    assert by_ns["payments-api-prod"]["spec"]["template"]["ttl"] != by_ns["payments-api-dev"]["spec"]["template"]["ttl"]


@pytest.mark.parametrize("blueprint", ["service", "worker", "cronjob"])
def test_chaos_hypotheses_name_an_slo_and_an_existing_runbook(render, blueprint):
    pkg_root = render(blueprint=blueprint, skip_tasks=True)
    model = Package.load(pkg_root).model
    slo_names = {s["name"] for s in yamlio.load_file(pkg_root / "observability" / "slo.yaml")["slos"]}
    docs = yamlio.load_all((pkg_root / "resilience" / "chaos-experiments.yaml").read_text())
    assert sorted(d["kind"] for d in docs) == ["NetworkChaos", "PodChaos", "Schedule"]
    readme = (pkg_root / "resilience" / "README.md").read_text()
    for d in docs:
        ann = d["metadata"]["annotations"]
        assert ann["scaffold.dev/slo"] in slo_names
        assert ann["scaffold.dev/alert"] in ann["scaffold.dev/hypothesis"]
        runbook = ann["scaffold.dev/runbook"].removeprefix(model.runbook_base_url + "/")
        assert (pkg_root / "runbooks" / runbook).is_file(), runbook
        assert d["metadata"]["namespace"] in {e.namespace for e in model.environments}
        assert d["metadata"]["namespace"] != model.production.namespace  # pre-production only
        if d["kind"] != "Schedule":
            assert ann["scaffold.dev/hypothesis"] in readme
