"""Canary: the AnalysisTemplates query the SLO's own recording rules (present in
the generated rule files), with thresholds equal to scaffold.model.slo's error budgets;
the Rollout wraps the Deployment and the HPA/PDB follow it."""

from __future__ import annotations

import re
import subprocess

from scaffold.model import slo as slo_policy
from scaffold import yamlio
from scaffold.model.package import Package
from tests.helpers import require_tool

QUERY = re.compile(r'^max\((?P<rule>[a-z_:0-9]+)\{service="(?P<service>[^"]+)",slo="(?P<slo>[^"]+)",'
                   r'namespace="\{\{args\.namespace\}\}"\}\)$')


def _base(pkg_root, name):
    return yamlio.load_all((pkg_root / "k8s" / "base" / name).read_text())


def _recording_rules(pkg_root) -> dict[str, list[dict]]:
    rules: dict[str, list[dict]] = {}
    for f in sorted((pkg_root / "observability" / "prometheus").glob("*.rules.yaml")):
        for group in yamlio.load_file(f)["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    rules.setdefault(rule["record"], []).append(rule)
    return rules


def test_analysis_queries_are_slo_recording_rules_with_slo_thresholds(render):
    pkg_root = render(slo_availability=99.5, slo_latency_target=99.0, skip_tasks=True,
                      slos=[{"name": "checkout", "objective": 99.9, "latency_ms": 500}])
    model = Package.load(pkg_root).model
    slos = {s.name: s for s in slo_policy.slos_for(model)}
    rules = _recording_rules(pkg_root)
    templates = _base(pkg_root, "analysistemplate.yaml")
    assert [t["kind"] for t in templates] == ["AnalysisTemplate", "AnalysisTemplate"]
    for t in templates:
        metrics = t["spec"]["metrics"]
        # every request SLO gates the canary: canary vs stable and canary alone, by pod-template hash
        assert sorted(m["name"] for m in metrics) == sorted(f"{s}-{k}" for s in slos for k in ("canary", "vs-stable"))
        for metric in metrics:
            q = metric["provider"]["prometheus"]["query"]
            assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in q
            if metric["name"].endswith("-vs-stable"):
                assert 'rollouts_pod_template_hash="{{args.stable-hash}}"' in q
            slo = slos[metric["name"].rsplit("-", 2 if metric["name"].endswith("-vs-stable") else 1)[0]]
            limit = slo.budget if metric["name"].endswith("-vs-stable") else slo_policy.threshold(
                slo_policy.burn_rate_windows(model.slo_window_days)[0].factor, slo.objective)
            # defect 4: an empty result is no evidence, never an Error
            assert metric["successCondition"] == (
                f"len(result) == 0 || isNaN(result[0]) || result[0] <= {slo_policy.dec(limit)}")
            assert metric["failureLimit"] >= 0 and metric["consecutiveErrorLimit"] > 0
            continue
            q = QUERY.match(metric["provider"]["prometheus"]["query"])
            assert q, metric["provider"]["prometheus"]["query"]
            assert q["service"] == model.name and q["slo"] == metric["name"]
            recorded = rules.get(q["rule"], [])
            # the recording rule exists, for this service and SLO
            assert any(r.get("labels", {}).get("service") == model.name and r["labels"].get("slo") == q["slo"]
                       for r in recorded), f"{q['rule']} for slo={q['slo']} not recorded"
            budget = slos[q["slo"]].budget
            assert metric["successCondition"] == f"isNaN(result[0]) || result[0] <= {slo_policy.dec(budget)}"
            assert metric["failureLimit"] >= 0 and metric["consecutiveErrorLimit"] > 0
    assert slo_policy.dec(slos["availability"].budget) == "0.005"
    # the gate template is finite, the background one runs until promotion
    background, gate = templates
    assert all("count" not in m for m in background["spec"]["metrics"])
    assert all(m["count"] > 0 for m in gate["spec"]["metrics"])


def test_rollout_wraps_deployment_and_hpa_pdb_follow(render):
    kubectl = require_tool("kubectl")
    pkg_root = render(skip_tasks=True)
    model = Package.load(pkg_root).model
    for env in model.environments:
        proc = subprocess.run([kubectl, "kustomize", str(pkg_root / "k8s" / "overlays" / env.name)],
                              capture_output=True, text=True, check=True)
        objs = {(o["kind"], o["metadata"]["name"]): o for o in yamlio.load_all(proc.stdout)}
        rollout = objs[("Rollout", model.name)]
        deployment = objs[("Deployment", model.name)]
        ref = rollout["spec"]["workloadRef"]
        assert (ref["kind"], ref["name"], ref["scaleDown"]) == ("Deployment", model.name, "progressively")
        assert "template" not in rollout["spec"]
        assert rollout["spec"]["selector"] == deployment["spec"]["selector"]
        canary = rollout["spec"]["strategy"]["canary"]
        names = {t["metadata"]["name"] for (k, _), t in objs.items() if k == "AnalysisTemplate"}
        assert {t["templateName"] for t in canary["analysis"]["templates"]} <= names
        gates = [s for s in canary["steps"] if "analysis" in s]
        assert gates and all({t["templateName"] for t in g["analysis"]["templates"]} <= names for g in gates)
        weights = [s["setWeight"] for s in canary["steps"] if "setWeight" in s]
        assert weights == sorted(weights) and 0 < weights[0] < 50
        hpa = objs[("HorizontalPodAutoscaler", model.name)]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                                 "name": model.name}
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (env.replicas_min, env.replicas_max)
        pdb = objs[("PodDisruptionBudget", model.name)]
        assert pdb["spec"]["selector"] == rollout["spec"]["selector"]
        # the overlay's resources patch reaches the pods through the Deployment
        assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == env.resources.as_k8s()
        assert "@sha256:" in deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_rolling_and_worker_have_no_rollout(render):
    for answers in ({"delivery": "rolling"}, {"blueprint": "worker"}):
        pkg_root = render(skip_tasks=True, **answers)
        base = pkg_root / "k8s" / "base"
        assert not (base / "rollout.yaml").exists() and not (base / "analysistemplate.yaml").exists()
        hpa = _base(pkg_root, "hpa.yaml")[0]
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
