"""Issue #22 defect 1: the day-2 edits a team makes stick, and validate tells an edit from breakage.

A key added to k8s/base reaches every overlay build (overlays used to patch
``op: replace, path: /data`` and friends, replacing whole maps); the
``overlay-keeps-base`` checker reports a base key an overlay drops; the edits the
runbooks tell the team to make pass validate; and the ConfigMap carries exactly
what the app reads (the ``app-config`` checker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffold.model.package import Package
from scaffold.validate import load_checkers, run_all, run_one
from scaffold.validate.overlays import dropped, overlay_drops
from tests.helpers import mutable_copy, require_tool
from tests.test_k8s import ANSWER_SETS

# azure worker (Deployment, SecretStore and identity patches) and cronjob (CronJob pod path); the
# Rollout's pod template is the Deployment's (workloadRef), so the service patches the same objects.
SETS = ("worker", "cronjob")
VALIDATE = ("kubernetes", "kustomize", "overlay-keeps-base", "app-config", "wiring")


def copy(render, tmp_path: Path, answer_set: str) -> Path:
    src = render(name="payments-api", skip_tasks=True, **ANSWER_SETS[answer_set])
    dest = mutable_copy(src, tmp_path)
    return dest


def edit_docs(path: Path, change) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for d in docs:
        change(d)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def at(obj: Any, path: tuple) -> Any:
    for part in path:
        if isinstance(part, dict):  # a list item by name
            (key, value), = part.items()
            obj = next(i for i in obj if i.get(key) == value)
        else:
            obj = obj[part]
    return obj


def add_base_keys(root: Path) -> list[tuple[str, str, tuple, Any]]:
    """A team's day-2 edits of k8s/base: one new key in each map an overlay patches."""
    m = Package.load(root).model
    want: list[tuple[str, str, tuple, Any]] = []

    def add(kind: str, name: str, path: tuple, value: Any):
        def change(d):
            if d.get("kind") == kind and d["metadata"]["name"] == name:
                *parent, leaf = path
                target = at(d, tuple(parent))
                if isinstance(value, dict) and isinstance(target.get(leaf), dict):
                    target[leaf].update(value)
                else:
                    target[leaf] = value
        return change, (kind, name, path, value)

    base = root / "k8s" / "base"
    pods = ("spec", "jobTemplate", "spec", "template", "spec") if m.blueprint == "cronjob" else ("spec", "template", "spec")
    workload = "CronJob" if m.blueprint == "cronjob" else "Deployment"
    container = pods + ("containers", {"name": "app"})
    edits = [
        ("configmap.yaml", "ConfigMap", f"{m.name}-config", ("data", "FEATURE_FLAGS"), "beta"),
        ("configmap.yaml", "ConfigMap", f"{m.name}-config", ("metadata", "labels", "team.example.com/tier"), "gold"),
        (f"{workload.lower()}.yaml", workload, m.name, container + ("resources", "requests", "hugepages-2Mi"), "0"),
        (f"{workload.lower()}.yaml", workload, m.name, ("metadata", "annotations"), {"team.example.com/owner": "payments"}),
        ("namespace.yaml", "ResourceQuota", m.name, ("spec", "hard", "count/secrets"), "20"),
        ("namespace.yaml", "LimitRange", m.name, ("spec", "limits", {"type": "Container"}, "min"), {"cpu": "10m"}),
        ("serviceaccount.yaml", "ServiceAccount", m.name, ("metadata", "annotations"), {"team.example.com/contact": "oncall"}),
    ]
    for file, kind, name, path, value in edits:
        change, expect = add(kind, name, path, value)
        edit_docs(base / file, change)
        want.append(expect)
    # a container env entry (a list merged by name)
    def env(d):
        if d.get("kind") == workload:
            at(d, container).setdefault("env", []).append({"name": "FEATURE_FLAGS_URL", "value": "https://flags"})
    edit_docs(base / f"{workload.lower()}.yaml", env)
    want.append((workload, m.name, container + ("env", {"name": "FEATURE_FLAGS_URL"}, "value"), "https://flags"))
    return want


def read_in_app(root: Path, *keys: str) -> None:
    """The app side of the edit: the python skeleton reads the new variables."""
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + "".join(f'\nFLAG_{i} = os.environ.get("{k}", "")\n' for i, k in enumerate(keys)))


@pytest.mark.slow
@pytest.mark.parametrize("answer_set", SETS)
def test_a_base_key_reaches_every_overlay_build(render, tmp_path: Path, answer_set: str) -> None:
    root = copy(render, tmp_path, answer_set)
    want = add_base_keys(root)
    read_in_app(root, "FEATURE_FLAGS", "FEATURE_FLAGS_URL")
    require_tool("kubectl")
    pkg = Package.load(root)  # one build per overlay, shared with the checkers below
    for env in pkg.model.environments:
        res = pkg.overlay_build(root / "k8s" / "overlays" / env.name)
        assert res.returncode == 0, res.output
        objs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(res.stdout) if d}
        for kind, name, path, value in want:
            got = at(objs[(kind, name)], path)
            if isinstance(value, dict):
                assert value.items() <= got.items(), (env.name, kind, path, got)
            else:
                assert got == value, (env.name, kind, path, got)
        # and the overlay's own values still win: its ResourceQuota is the environment's
        kust = yaml.safe_load((root / "k8s/overlays" / env.name / "kustomization.yaml").read_text())
        quota = next(yaml.safe_load(p["patch"]) for p in kust["patches"] if p["target"]["kind"] == "ResourceQuota")
        assert quota["spec"]["hard"].items() <= objs[("ResourceQuota", pkg.model.name)]["spec"]["hard"].items()
    # The edit passes validate (every checker that reads k8s/; the strict schemas once, on the worker).
    names = VALIDATE if answer_set == "worker" else ("overlay-keeps-base", "app-config", "kustomize")
    factories = load_checkers()
    results = {n: run_one(factories[n], pkg) for n in names}
    assert all(r.status == "pass" for r in results.values()), {
        n: [f"{f.file}: {f.message}" for f in r.findings] for n, r in results.items() if r.status != "pass"}


def test_overlay_keeps_base_flags_a_whole_map_replace(render, tmp_path: Path) -> None:
    """Mutation: the old overlay patch (replace /data) drops the team's key: the checker names it."""
    root = copy(render, tmp_path, "service-canary-gateway")
    generated = next(d for d in yaml.safe_load_all((root / "k8s/base/configmap.yaml").read_text())
                     if d and d.get("kind") == "ConfigMap")["data"]
    edit_docs(root / "k8s/base/configmap.yaml", lambda d: d["data"].update(FEATURE_FLAGS="beta"))
    kust = root / "k8s/overlays/staging/kustomization.yaml"
    doc = yaml.safe_load(kust.read_text())
    # the old patch: the whole map, as generated, replaces the base's data
    doc["patches"].append({"target": {"kind": "ConfigMap", "name": "payments-api-config"},
                           "patch": yaml.safe_dump([{"op": "replace", "path": "/data", "value": dict(generated)}])})
    kust.write_text(yaml.safe_dump(doc, sort_keys=False))
    require_tool("kubectl")
    result = run_one(load_checkers()["overlay-keeps-base"], Package.load(root))
    assert result.status == "fail"
    assert [(f.file, f.message.split(" of the base")[0]) for f in result.findings] == [
        ("k8s/overlays/staging", "ConfigMap/payments-api-config: drops /data/FEATURE_FLAGS")]


@pytest.mark.fast
def test_dropped_matches_list_items_by_name_and_ignores_values() -> None:
    base = {"kind": "Deployment", "metadata": {"name": "a", "namespace": "a", "labels": {"x": "1"}},
            "spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B"}]}],
                     "hostnames": ["a.example.com"]}}
    over = {"kind": "Deployment", "metadata": {"name": "a", "namespace": "a-dev", "labels": {"x": "2", "y": "3"}},
            "spec": {"containers": [{"name": "app", "env": [{"name": "B"}, {"name": "A", "value": "9"}]}],
                     "hostnames": ["a.dev.example.com"]}}
    assert list(dropped(base, over)) == []
    over["spec"]["containers"][0]["env"] = [{"name": "A"}]
    del over["metadata"]["labels"]["x"]
    assert list(dropped(base, over)) == ["/metadata/labels/x", "/spec/containers[name=app]/env[name=A]/value",
                                         "/spec/containers[name=app]/env[name=B]"]
    assert overlay_drops({("Secret", "s"): {}}, {}) == ["Secret/s: the overlay build drops this base object"]


@pytest.mark.slow
def test_runbook_edit_raise_the_hpa_ceiling_in_the_overlay(render, tmp_path: Path) -> None:
    """HpaMaxedOut / HighLatency say: raise the HPA bounds for prod in the overlay. Within
    the namespace quota that edit passes validate (past it, the kustomize checker's
    hpa_fits_quota says to raise both)."""
    root = copy(render, tmp_path, "service-canary-gateway")
    text = (root / "runbooks/HpaMaxedOut.md").read_text()
    assert "overlay" in text  # the instruction this test follows (raise the HPA bounds in the overlay)
    prod = root / "k8s/overlays/prod/kustomization.yaml"
    doc = yaml.safe_load(prod.read_text())
    hpa = next(p for p in doc["patches"] if p["target"]["kind"] == "HorizontalPodAutoscaler")
    ops = yaml.safe_load(hpa["patch"])
    # the new ceiling still fits the quota's pods with the rollout's surge (the quota keeps headroom)
    ceiling = next(o for o in ops if o["path"] == "/spec/maxReplicas")
    ceiling["value"] += 2
    hpa["patch"] = yaml.safe_dump(ops)
    prod.write_text(yaml.safe_dump(doc, sort_keys=False))
    results = {r.checker: r for r in run_all(root, only=("kustomize", "overlay-keeps-base"))}
    assert all(r.status == "pass" for r in results.values()), {
        n: [f.message for f in r.findings] for n, r in results.items()}
