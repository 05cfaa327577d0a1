"""Pod Security Standards (baseline and restricted) over any pod template.

A plain-Python reading of https://kubernetes.io/docs/concepts/security/pod-security-standards/
so the spine can judge Deployments, CronJobs, Rollouts, ... without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

BASELINE_CAPS = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                           "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
RESTRICTED_CAPS = frozenset({"NET_BIND_SERVICE"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                "persistentVolumeClaim", "projected", "secret"})
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                          "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                          "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                          "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_OK = frozenset({"RuntimeDefault", "Localhost"})
LEVELS = ("baseline", "restricted")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


@dataclass(frozen=True)
class Violation:
    level: str  # the weakest level the pod fails: baseline or restricted
    control: str
    where: str  # JSON-ish path inside the pod spec
    message: str

    def __str__(self) -> str:
        return f"PSS {self.level} / {self.control}: {self.where}: {self.message}"


# -- locating pod templates --------------------------------------------------
_TEMPLATE_PATHS = {
    "Pod": (),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_DEFAULT_TEMPLATE = ("spec", "template")


def pod_templates(obj: Obj) -> Iterator[tuple[str, Obj, Obj]]:
    """(path, metadata, pod spec) for every pod template an object carries."""
    if not isinstance(obj, dict):
        return
    kind = obj.get("kind")
    path = _TEMPLATE_PATHS.get(str(kind), _DEFAULT_TEMPLATE)
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and isinstance(node.get("spec"), dict) and "containers" in node["spec"]:
        yield ".".join(path) or "(pod)", node.get("metadata") or {}, node["spec"]


# -- evaluation --------------------------------------------------------------
def _containers(spec: Obj) -> Iterator[tuple[str, Obj]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(field) or []):
            yield f"{field}[{i}]", c


def check(spec: Obj, metadata: Obj | None = None, level: str = "restricted") -> list[Violation]:
    """Every violation of ``level`` (restricted includes baseline) in one pod spec."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    out = list(_baseline(spec, metadata or {}))
    if level == "restricted":
        out += list(_restricted(spec))
    return out


def _v(level: str, control: str, where: str, message: str) -> Violation:
    return Violation(level, control, where, message)


def _baseline(spec: Obj, meta: Obj) -> Iterator[Violation]:
    b = "baseline"
    for ns in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(ns):
            yield _v(b, "Host Namespaces", f"spec.{ns}", "must be unset or false")
    psc = spec.get("securityContext") or {}
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        yield _v(b, "HostProcess", "spec.securityContext.windowsOptions.hostProcess", "must be unset or false")
    for i, vol in enumerate(spec.get("volumes") or []):
        if "hostPath" in vol:
            yield _v(b, "HostPath Volumes", f"spec.volumes[{i}]", f"hostPath volume {vol.get('name')!r} is forbidden")
    yield from _seccomp_not_unconfined(psc, "spec.securityContext")
    yield from _selinux(psc, "spec.securityContext")
    yield from _apparmor(psc, "spec.securityContext")
    for j, sysctl in enumerate(psc.get("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield _v(b, "Sysctls", f"spec.securityContext.sysctls[{j}]", f"unsafe sysctl {sysctl.get('name')!r}")
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(APPARMOR_ANNOTATION) and not (value == "runtime/default" or str(value).startswith("localhost/")):
            yield _v(b, "AppArmor", f"metadata.annotations[{key}]", f"profile {value!r} is not allowed")
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        w = f"spec.{where}"
        if sc.get("privileged"):
            yield _v(b, "Privileged Containers", f"{w}.securityContext.privileged", "must be unset or false")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield _v(b, "HostProcess", f"{w}.securityContext.windowsOptions.hostProcess", "must be unset or false")
        added = set((sc.get("capabilities") or {}).get("add") or [])
        if extra := sorted(added - BASELINE_CAPS):
            yield _v(b, "Capabilities", f"{w}.securityContext.capabilities.add", f"{extra} beyond the baseline set")
        for k, port in enumerate(c.get("ports") or []):
            if port.get("hostPort"):
                yield _v(b, "Host Ports", f"{w}.ports[{k}].hostPort", "must be unset or 0")
        if sc.get("procMount", "Default") != "Default":
            yield _v(b, "/proc Mount Type", f"{w}.securityContext.procMount", "must be Default")
        yield from _seccomp_not_unconfined(sc, f"{w}.securityContext")
        yield from _selinux(sc, f"{w}.securityContext")
        yield from _apparmor(sc, f"{w}.securityContext")


def _seccomp_not_unconfined(sc: Obj, where: str) -> Iterator[Violation]:
    if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield _v("baseline", "Seccomp", f"{where}.seccompProfile.type", "Unconfined is forbidden")


def _selinux(sc: Obj, where: str) -> Iterator[Violation]:
    opts = sc.get("seLinuxOptions") or {}
    if opts.get("type", "") not in SELINUX_TYPES:
        yield _v("baseline", "SELinux", f"{where}.seLinuxOptions.type", f"type {opts['type']!r} is not allowed")
    for key in ("user", "role"):
        if opts.get(key):
            yield _v("baseline", "SELinux", f"{where}.seLinuxOptions.{key}", "must be unset")


def _apparmor(sc: Obj, where: str) -> Iterator[Violation]:
    profile = sc.get("appArmorProfile")
    if profile and profile.get("type") not in APPARMOR_OK:
        yield _v("baseline", "AppArmor", f"{where}.appArmorProfile.type", f"{profile.get('type')!r} is not allowed")


def _restricted(spec: Obj) -> Iterator[Violation]:
    r = "restricted"
    psc = spec.get("securityContext") or {}
    for i, vol in enumerate(spec.get("volumes") or []):
        kinds = [k for k in vol if k != "name"]
        if kinds and not set(kinds) <= RESTRICTED_VOLUMES:
            yield _v(r, "Volume Types", f"spec.volumes[{i}]", f"volume type {kinds[0]!r} is not allowed")
    pod_nonroot = psc.get("runAsNonRoot") is True
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")
    if psc.get("runAsUser") == 0:
        yield _v(r, "Running as Non-root user", "spec.securityContext.runAsUser", "must not be 0")
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        w = f"spec.{where}.securityContext"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield _v(r, "Privilege Escalation", f"{w}.allowPrivilegeEscalation", "must be false")
        nonroot = sc.get("runAsNonRoot")
        if nonroot is False or (nonroot is None and not pod_nonroot):
            yield _v(r, "Running as Non-root", f"{w}.runAsNonRoot", "must be true (here or on the pod)")
        if sc.get("runAsUser") == 0:
            yield _v(r, "Running as Non-root user", f"{w}.runAsUser", "must not be 0")
        ctype = (sc.get("seccompProfile") or {}).get("type")
        if ctype not in ("RuntimeDefault", "Localhost") and not (ctype is None and pod_seccomp):
            yield _v(r, "Seccomp", f"{w}.seccompProfile.type", "must be RuntimeDefault or Localhost (here or on the pod)")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield _v(r, "Capabilities", f"{w}.capabilities.drop", "must include ALL")
        if extra := sorted(set(caps.get("add") or []) - RESTRICTED_CAPS):
            yield _v(r, "Capabilities", f"{w}.capabilities.add", f"only NET_BIND_SERVICE may be added, not {extra}")


def check_object(obj: Obj, level: str = "restricted") -> list[Violation]:
    """Violations across every pod template in a manifest object."""
    out = []
    for path, meta, spec in pod_templates(obj):
        for v in check(spec, meta, level):
            out.append(Violation(v.level, v.control, f"{path}.{v.where}" if path != "(pod)" else v.where, v.message))
    return out
