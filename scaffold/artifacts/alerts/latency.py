"""The latency symptom alert: p99 over the SLO's threshold, with its runbook, tests and panel."""

from __future__ import annotations

from ...conventions import TICKET
from ...model import slo
from ...model.service import ServiceModel, le_label
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
from .types import Alert


def _high_latency(m: ServiceModel, ns: str) -> Alert:
    h = slo._histogram(m)
    q = (m.slo_latency_target / 100).normalize()
    thr = m.latency_seconds
    expr = (f"histogram_quantile({dec(q)}, sum by (namespace, le) (rate({h}_bucket{{job=\"{m.name}\"}}[5m])))"
            f" > {dec(thr)}")
    pq = f"p{dec(m.slo_latency_target)}"
    a = _symptom(
        m, "HighLatency", TICKET, expr, "10m", f"{m.name}: {pq} latency above {m.slo_latency_ms}ms",
        f"{pq} latency in {{{{ $labels.namespace }}}} is {{{{ $value | humanizeDuration }}}}, above the "
        f"{m.slo_latency_ms}ms SLO threshold.",
        {"meaning": f"The {pq} of {h} has been above {m.slo_latency_ms}ms for 10 minutes.",
         "impact": "Slow responses; sustained, it burns the latency SLO budget.",
         "diagnosis": (f"```promql\n{expr.rsplit(' > ', 1)[0]}\n"
                       f"sum by (namespace) (rate(container_cpu_cfs_throttled_periods_total{{{_pod_sel(m)}}}[5m]))\n```\n\n"
                       + _kubectl_basics(m) + f"\nCheck saturation: `kubectl -n {NS_VAR} top pods -l app.kubernetes.io/name={m.name}`."),
         "mitigation": "Scale out if CPU-bound (raise the HPA bounds in the overlay), or roll back a slow release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": f"{pq} latency", "expr": expr.rsplit(" > ", 1)[0], "unit": "s"},
        f"The {pq} threshold of {m.slo_latency_ms}ms matches the latency SLO", ())
    nxt = next((b for b in m.latency_buckets if b > thr), thr * 2)
    le, le_next = le_label(thr), le_label(nxt)
    base = {"job": m.name, "namespace": ns}

    def buckets(under: int) -> list[dict[str, str]]:
        return [_series(f"{h}_bucket", {**base, "le": le}, f"0+{under}x40"),
                _series(f"{h}_bucket", {**base, "le": le_next}, "0+100x40"),
                _series(f"{h}_bucket", {**base, "le": "+Inf"}, "0+100x40")]

    value = float(thr) + (float(nxt) - float(thr)) * float(q)
    return _with_cases(a, [("every request lands above the threshold", "1m", buckets(0), "30m", {"namespace": ns}, value)],
                       [("every request under the threshold", "1m", buckets(100), "30m")])
