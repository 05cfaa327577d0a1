"""The post-deploy synthetic probe of the live URL (scaffold.artifacts.verify)."""

from __future__ import annotations

from ...conventions import PAGE
from ...model.service import ServiceModel
from .. import verify
from .common import (
    NS_VAR,
    _escalation,
    _kubectl_basics,
    _ns_sel,
    _rollback,
    _symptom,
    _with_cases,
)
from .series import _series
from .types import Alert


def _synthetic_probe(m: ServiceModel, ns: str) -> Alert:
    """The post-deploy synthetic probe (scaffold.verify): the blackbox exporter's
    probe_success for the live URL, per environment."""
    sel = f'job="{verify.job_name(m)}",{_ns_sel(m)}'
    expr = f"max by (namespace) (probe_success{{{sel}}}) == 0"
    url = verify.live_url(m, m.production)
    a = _symptom(
        m, "SyntheticProbeFailing", PAGE, expr, verify.PROBE_FOR, f"{m.name}: the synthetic probe of the live URL fails",
        "The blackbox probe of " + m.name + " in {{ $labels.namespace }} has failed for "
        f"{verify.PROBE_FOR}: users cannot reach {verify.PROBE_PATH}.",
        {"meaning": (f"The platform's blackbox exporter requests {url} (per environment: k8s/base/probe.yaml and the "
                     f"overlays) every {verify.PROBE_INTERVAL}, and no probe in a namespace has succeeded for "
                     f"{verify.PROBE_FOR}: no 2xx within {verify.PROBE_TIMEOUT}, a TLS or DNS failure, or the route is gone."),
         "impact": "What users see: the live URL is down or unreachable, whatever the pods' own metrics say.",
         "diagnosis": (f"```promql\nprobe_success{{{sel}}}\nprobe_http_status_code{{{sel}}}\n"
                       f"probe_duration_seconds{{{sel}}}\n```\n\n"
                       f"```sh\ncurl -sS -o /dev/null -w '%{{http_code}} %{{time_total}}s\\n' {url}\n"
                       f"kubectl -n {NS_VAR} get probe {verify.probe_name(m)} -o yaml\n```\n\n" + _kubectl_basics(m)
                       + "\nCheck the route (HTTPRoute/Ingress status), the certificate, DNS, then the pods."),
         "mitigation": ("A failed post-deploy smoke test has already rolled back; if the probe fails after a release "
                        "anyway:\n\n" + _rollback(m)
                        + "If no release is involved, fix the route, certificate or DNS record the diagnosis points at."),
         "escalation": _escalation(m, PAGE)},
        {"title": "Synthetic probe success", "expr": f"min by (namespace) (probe_success{{{sel}}})", "unit": "short"},
        f"The platform's blackbox exporter ({verify.BLACKBOX_HOST}) serves the {verify.PROBE_MODULE} module and "
        f"probes {url}", ())
    lab = {"namespace": ns}
    raw = {"job": verify.job_name(m), "namespace": ns, "instance": url, "service": m.name}
    return _with_cases(a, [("every probe fails for 10m", "30s", [_series("probe_success", raw, "0+0x40")], "10m", lab, 0.0)],
                       [("the probe succeeds", "30s", [_series("probe_success", raw, "1+0x40")], "10m"),
                        ("failing for less than for:", "30s", [_series("probe_success", raw, "1+0x10 0+0x30")], "8m")])
