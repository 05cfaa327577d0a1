"""Pod Security Standards evaluator: a compliant pod passes, each violation is named."""

from __future__ import annotations

import copy

import pytest

from scaffold.artifacts import k8s
from scaffold.validate import pss
from scaffold.model.service import ServiceModel


def good_spec() -> dict:
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app", "image": "x",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
    }


def controls(spec: dict, level: str = "restricted", meta: dict | None = None) -> set[str]:
    return {v.control for v in pss.check(spec, meta, level)}


@pytest.mark.fast
def test_compliant_pod_passes_both_levels():
    assert pss.check(good_spec(), level="restricted") == []
    assert pss.check(good_spec(), level="baseline") == []


def _set(spec: dict, path: str, value) -> dict:
    node = spec
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    last = keys[-1]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return spec


BASELINE = [
    ("containers.0.securityContext.privileged", True, "Privileged Containers"),
    ("hostNetwork", True, "Host Namespaces"),
    ("hostPID", True, "Host Namespaces"),
    ("hostIPC", True, "Host Namespaces"),
    ("volumes", [{"name": "h", "hostPath": {"path": "/"}}], "HostPath Volumes"),
    ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "Host Ports"),
    ("containers.0.securityContext.capabilities.add", ["SYS_ADMIN"], "Capabilities"),
    ("securityContext.seccompProfile", {"type": "Unconfined"}, "Seccomp"),
    ("containers.0.securityContext.procMount", "Unmasked", "/proc Mount Type"),
    ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}], "Sysctls"),
    ("containers.0.securityContext.seLinuxOptions", {"type": "spc_t"}, "SELinux"),
    ("securityContext.seLinuxOptions", {"user": "root"}, "SELinux"),
    ("containers.0.securityContext.appArmorProfile", {"type": "Unconfined"}, "AppArmor"),
    ("securityContext.windowsOptions", {"hostProcess": True}, "HostProcess"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("path", "value", "control"), BASELINE, ids=[b[0] + "=" + str(b[1]) for b in BASELINE])
def test_baseline_violations_fail_both_levels(path, value, control):
    spec = _set(good_spec(), path, value)
    assert control in controls(spec, "baseline")
    assert control in controls(spec, "restricted")


RESTRICTED = [
    ("securityContext.runAsNonRoot", None, "Running as Non-root"),
    ("containers.0.securityContext.runAsNonRoot", False, "Running as Non-root"),
    ("containers.0.securityContext.runAsUser", 0, "Running as Non-root user"),
    ("securityContext.runAsUser", 0, "Running as Non-root user"),
    ("securityContext.seccompProfile", None, "Seccomp"),
    ("containers.0.securityContext.allowPrivilegeEscalation", None, "Privilege Escalation"),
    ("containers.0.securityContext.allowPrivilegeEscalation", True, "Privilege Escalation"),
    ("containers.0.securityContext.capabilities", None, "Capabilities"),
    ("containers.0.securityContext.capabilities.drop", ["NET_RAW"], "Capabilities"),
    ("containers.0.securityContext.capabilities.add", ["CHOWN"], "Capabilities"),
    ("volumes", [{"name": "n", "nfs": {"server": "s", "path": "/"}}], "Volume Types"),
    ("volumes", [{"name": "g", "gitRepo": {"repository": "r"}}], "Volume Types"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("path", "value", "control"), RESTRICTED, ids=[r[0] + "=" + str(r[1]) for r in RESTRICTED])
def test_restricted_violations(path, value, control):
    spec = _set(good_spec(), path, value)
    assert control in controls(spec, "restricted")


@pytest.mark.fast
def test_restricted_only_violations_pass_baseline():
    spec = _set(good_spec(), "containers.0.securityContext.capabilities", None)
    spec = _set(spec, "securityContext.runAsNonRoot", None)
    assert pss.check(spec, level="baseline") == []


@pytest.mark.fast
def test_net_bind_service_may_be_added():
    spec = _set(good_spec(), "containers.0.securityContext.capabilities.add", ["NET_BIND_SERVICE"])
    assert pss.check(spec) == []


@pytest.mark.fast
def test_container_level_settings_satisfy_pod_level_controls():
    spec = good_spec()
    del spec["securityContext"]
    spec["containers"][0]["securityContext"].update(runAsNonRoot=True, seccompProfile={"type": "Localhost",
                                                                                        "localhostProfile": "p"})
    assert pss.check(spec) == []


@pytest.mark.fast
def test_init_and_ephemeral_containers_are_judged():
    for field in ("initContainers", "ephemeralContainers"):
        spec = good_spec()
        spec[field] = [{"name": "i", "image": "x"}]
        found = pss.check(spec)
        assert {v.control for v in found} >= {"Privilege Escalation", "Capabilities"}
        assert all(field in v.where for v in found)


@pytest.mark.fast
def test_apparmor_annotation():
    meta = {"annotations": {pss.APPARMOR_ANNOTATION + "app": "unconfined"}}
    assert "AppArmor" in controls(good_spec(), "baseline", meta)
    meta = {"annotations": {pss.APPARMOR_ANNOTATION + "app": "runtime/default"}}
    assert pss.check(good_spec(), meta) == []


@pytest.mark.fast
def test_unknown_level_is_refused():
    with pytest.raises(ValueError):
        pss.check(good_spec(), level="privileged-ish")


@pytest.mark.fast
@pytest.mark.parametrize("blueprint", ["service", "worker", "cronjob"])
def test_pod_templates_found_in_every_workload_kind(blueprint):
    m = ServiceModel.from_answers({"service_name": "payments-api", "blueprint": blueprint, "delivery": "rolling"})
    workload = k8s.cron_job(m) if blueprint == "cronjob" else k8s.deployment(m)
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
               "spec": {"template": k8s.pod_template(m)}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": k8s.pod_spec(m)}
    for obj in (workload, rollout, pod):
        assert len(list(pss.pod_templates(obj))) == 1, obj["kind"]
        assert pss.check_object(obj) == []
        bad = copy.deepcopy(obj)
        _, _, spec = next(pss.pod_templates(bad))
        spec["containers"][0]["securityContext"]["privileged"] = True
        found = pss.check_object(bad)
        assert [v.control for v in found] == ["Privileged Containers"]
        assert found[0].where.endswith("containers[0].securityContext.privileged")


@pytest.mark.fast
def test_objects_without_pod_templates_yield_nothing():
    assert list(pss.pod_templates({"kind": "Service", "spec": {"ports": []}})) == []
    assert list(pss.pod_templates({"kind": "Rollout", "spec": {"workloadRef": {"name": "x"}}})) == []
