"""Pod health: crash loops, OOM kills and CPU throttling of the app container."""

from __future__ import annotations

from ...conventions import CONTAINER, TICKET
from ...model.service import ServiceModel
from ...model.slo import dec
from .common import (
    NS_VAR,
    _escalation,
    _kubectl_basics,
    _pod_sel,
    _rollback,
    _symptom,
    _with_cases,
)
from .series import _series
from .types import CPU_THROTTLING_RATIO, Alert


def _crashloop(m: ServiceModel, ns: str) -> Alert:
    expr = (f"max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason"
            f"{{{_pod_sel(m)},reason=\"CrashLoopBackOff\"}}[5m])) >= 1")
    a = _symptom(
        m, "PodCrashLooping", TICKET, expr, "15m", f"{m.name}: a pod is crash-looping",
        "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.",
        {"meaning": "A container keeps exiting and Kubernetes backs off restarting it.",
         "impact": "Fewer serving replicas; if all pods crash, the service is down (TargetDown pages).",
         "diagnosis": (f"```sh\nkubectl -n {NS_VAR} describe pod <pod>\nkubectl -n {NS_VAR} logs <pod> -c {CONTAINER} --previous\n```\n\n"
                       f"```promql\n{expr.rsplit(' >= ', 1)[0]}\n```\n\n" + _kubectl_basics(m)),
         "mitigation": "Fix the crash cause (config, secret, dependency). If it came with a release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Crash-looping containers", "expr": expr.rsplit(" >= ", 1)[0], "unit": "short"},
        "Startup failures log a clear reason to stderr", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}
    series = [_series("kube_pod_container_status_waiting_reason", {**lab, "reason": "CrashLoopBackOff", "job": "kube-state-metrics"}, "1+0x40")]
    return _with_cases(a, [("waiting in CrashLoopBackOff for 30m", "1m", series, "30m", lab, 1.0)],
                       [("inside for:", "1m", series, "10m")])


def _oom(m: ServiceModel, ns: str) -> Alert:
    by = "namespace, pod, container"
    oom = f'{_pod_sel(m)},reason="OOMKilled"'
    # restartPolicy Always: a restart whose last reason is OOMKilled. restartPolicy Never (Job
    # pods): the container's own terminated reason, for the 10 minutes after it appears.
    expr = (f"(\n  max by ({by}) (increase(kube_pod_container_status_restarts_total{{{_pod_sel(m)}}}[10m])) >= 1\n"
            f"  and on ({by})\n"
            f"  max by ({by}) (kube_pod_container_status_last_terminated_reason{{{oom}}}) == 1\n)\nor\n"
            f"(\n  max by ({by}) (kube_pod_container_status_terminated_reason{{{oom}}}) == 1\n"
            f"  unless on ({by})\n"
            f"  max by ({by}) (kube_pod_container_status_terminated_reason{{{oom}}} offset 10m) == 1\n)")
    a = _symptom(
        m, "ContainerOOMKilled", TICKET, expr, "0m", f"{m.name}: a container was OOMKilled",
        "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} was OOMKilled "
        "({{ $value | printf \"%.0f\" }} restarts in 10 minutes).",
        {"meaning": f"A container hit its memory limit ({m.resources.memory_limit}) and the kernel killed it.",
         "impact": "In-flight requests or jobs on that pod failed; repeated kills become a crash loop.",
         "diagnosis": (f"```promql\nmax by (pod) (container_memory_working_set_bytes{{{_pod_sel(m)},container=\"{CONTAINER}\"}})\n```\n\n"
                       f"```sh\nkubectl -n {NS_VAR} describe pod <pod> | grep -A3 'Last State'\n```\n\n" + _kubectl_basics(m)),
         "mitigation": "Raise memory_limit (copier update) if usage grew legitimately; roll back a leaking release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Memory working set", "expr": f"max by (pod) (container_memory_working_set_bytes{{{_pod_sel(m)},container=\"{CONTAINER}\"}})",
         "unit": "bytes"},
        f"memory_limit {m.resources.memory_limit} reviewed against the observed working set", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}
    restarts = _series("kube_pod_container_status_restarts_total", lab, "0 0 0 0 0 1 1 1 1 1 1")
    oomed = _series("kube_pod_container_status_last_terminated_reason", {**lab, "reason": "OOMKilled"}, "0 0 0 0 0 1 1 1 1 1 1")
    err = _series("kube_pod_container_status_last_terminated_reason", {**lab, "reason": "Error"}, "0 0 0 0 0 1 1 1 1 1 1")
    never = _series("kube_pod_container_status_terminated_reason", {**lab, "reason": "OOMKilled"}, "_x4 1+0x30")
    return _with_cases(a, [("a restart whose last reason is OOMKilled", "1m", [restarts, oomed], "8m", lab, 1.0),
                           ("a restartPolicy Never container terminated OOMKilled", "1m", [never], "8m", lab, 1.0)],
                       [("a restart for another reason", "1m", [restarts, err], "8m"),
                        ("the OOMKilled container terminated over 10 minutes ago", "1m", [never], "20m")])


def _throttling(m: ServiceModel, ns: str) -> Alert:
    by = "namespace, pod, container"
    sel = f'{_pod_sel(m)},container!=""'
    ratio_q = (f"sum by ({by}) (increase(container_cpu_cfs_throttled_periods_total{{{sel}}}[5m]))\n"
               f"  / sum by ({by}) (increase(container_cpu_cfs_periods_total{{{sel}}}[5m]))")
    expr = f"{ratio_q}\n  > {dec(CPU_THROTTLING_RATIO)}"
    a = _symptom(
        m, "CpuThrottlingHigh", TICKET, expr, "15m", f"{m.name}: CPU throttling high",
        "{{ $value | humanizePercentage }} of CPU periods of {{ $labels.namespace }}/{{ $labels.pod }} "
        f"are throttled (limit {m.resources.cpu_limit}).",
        {"meaning": f"The container hits its CPU limit ({m.resources.cpu_limit}) in over {dec(CPU_THROTTLING_RATIO * 100)}% of CFS periods.",
         "impact": "Added latency: requests wait for CPU quota.",
         "diagnosis": f"```promql\n{ratio_q}\n```\n\n```sh\nkubectl -n {NS_VAR} top pods -l app.kubernetes.io/name={m.name}\n```",
         "mitigation": "Raise cpu_request (the limit is 4x) via copier update, or scale out; roll back a CPU-hungry release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "CPU throttling", "expr": ratio_q, "unit": "percentunit"},
        f"cpu_request {m.resources.cpu_request} reviewed against observed usage", ())
    lab = {"namespace": ns, "pod": f"{m.name}-7d4b9c-x2x9k", "container": CONTAINER}

    def series(throttled: int) -> list[dict[str, str]]:
        return [_series("container_cpu_cfs_throttled_periods_total", lab, f"0+{throttled}x40"),
                _series("container_cpu_cfs_periods_total", lab, "0+100x40")]

    return _with_cases(a, [("30% of periods throttled", "1m", series(30), "30m", lab, 0.3)],
                       [("20% of periods throttled", "1m", series(20), "30m")])
