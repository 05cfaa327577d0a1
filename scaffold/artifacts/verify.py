"""Post-deploy verification: what CD checks after each environment's sync, and the
synthetic probe that keeps checking afterwards.

- **Smoke test** (cd.yml, after the wait for the whole rollout): the environment's
  live URL ``https://<env hostname>/readyz`` must answer 200 within a bounded number
  of attempts. A failure fails the deploy job, whose "Roll back" step then does what
  it does for a failed analysis: abort the Rollout and restore the deploy branch.
- **Synthetic probe**: a prometheus-operator ``Probe`` per environment; the platform's
  blackbox exporter requests the same URL every ``PROBE_INTERVAL``, and the catalog's
  ``SyntheticProbeFailing`` alert pages when it fails for ``PROBE_FOR``.

What has no URL: a service with ``ingress: none`` is probed in-cluster through its
Service (no public URL to smoke-test from a GitHub runner: CD skips the smoke test and
says why); a worker's verification is the rollout's readiness (``kubectl rollout
status``, already in the wait); a cronjob is not run by CD (a verification run would do
the job's real work out of schedule), its runs are judged by CronJobFailed and
CronJobLastSuccessTooOld.
"""

from __future__ import annotations

from typing import Any

from ..model.service import Environment, ServiceModel
from . import kube, manifests

Obj = dict[str, Any]

PROBE_FILE = "probe.yaml"
PROBE_PATH = "/readyz"
PROBE_MODULE = "http_2xx"
PROBE_INTERVAL = "30s"
PROBE_TIMEOUT = "10s"
PROBE_FOR = "5m"
# The platform's blackbox exporter (prometheus-community chart defaults) in the monitoring namespace.
BLACKBOX_HOST = "blackbox-exporter.monitoring.svc:9115"
SMOKE_ATTEMPTS = 10
SMOKE_INTERVAL_SECONDS = 15
SMOKE_TIMEOUT_SECONDS = 10


def probe_name(m: ServiceModel) -> str:
    return f"{m.name}-synthetic"


def job_name(m: ServiceModel) -> str:
    """The `job` label of the probe's series (Probe spec.jobName)."""
    return probe_name(m)


def live_url(m: ServiceModel, env: Environment) -> str:
    """What users reach: the environment's hostname through the Gateway/Ingress; with
    no route, the Service's in-cluster name (probed from the monitoring namespace)."""
    if m.has_route:
        return f"https://{kube.env_hostname(m, env)}{PROBE_PATH}"
    return f"http://{m.name}.{env.namespace}.svc:{m.port}{PROBE_PATH}"


def smoke_tested(m: ServiceModel) -> bool:
    """CD smoke-tests a public URL only: a GitHub runner cannot reach a ClusterIP."""
    return m.has_route


def skip_reason(m: ServiceModel) -> str:
    if m.blueprint == "worker":
        return "a worker serves no URL: its verification is the rollout's readiness (kubectl rollout status)"
    if m.blueprint == "cronjob":
        return ("a cronjob serves no URL, and a verification run would do its real work out of schedule: "
                "CronJobFailed and CronJobLastSuccessTooOld judge its runs")
    if not m.has_route:
        return ("ingress: none leaves no public URL for CD to reach; the synthetic Probe checks the Service "
                "in-cluster and SyntheticProbeFailing pages")
    return ""


def _targets(m: ServiceModel, env: Environment) -> Obj:
    return {"staticConfig": {"static": [live_url(m, env)],
                             "labels": {"namespace": env.namespace, "service": m.name}}}


def probe(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "Probe",
        "metadata": {"name": probe_name(m), "namespace": m.name, "labels": dict(m.labels)},
        "spec": {
            "jobName": job_name(m),
            "interval": PROBE_INTERVAL,
            "scrapeTimeout": PROBE_TIMEOUT,
            "module": PROBE_MODULE,
            "prober": {"url": BLACKBOX_HOST, "scheme": "http", "path": "/probe"},
            "targets": _targets(m, m.production),
        },
    }


def overlay_patches(m: ServiceModel, env: Environment) -> list[Obj]:
    if PROBE_FILE not in manifests.base_files(m):
        return []
    return [kube.patch({"kind": "Probe", "name": probe_name(m)},
                       [{"op": "replace", "path": "/spec/targets", "value": _targets(m, env)}])]


def probe_ingress(m: ServiceModel) -> list[Obj]:
    """With no route the blackbox exporter reaches the pods from the monitoring namespace."""
    if not m.has_http or m.has_route:
        return []
    return [{"from": [kube.from_namespace(kube.MONITORING_NAMESPACE)], "ports": [{"protocol": "TCP", "port": m.port}]}]


# -- CD ---------------------------------------------------------------------------------
def smoke_seconds() -> int:
    """The smoke test's worst case, for the deploy job's timeout."""
    return SMOKE_ATTEMPTS * (SMOKE_TIMEOUT_SECONDS + SMOKE_INTERVAL_SECONDS)


def smoke_env(m: ServiceModel, env: Environment) -> dict[str, str]:
    return {"SMOKE_URL": live_url(m, env), "SMOKE_ATTEMPTS": str(SMOKE_ATTEMPTS),
            "SMOKE_INTERVAL": str(SMOKE_INTERVAL_SECONDS), "SMOKE_TIMEOUT": str(SMOKE_TIMEOUT_SECONDS)}


SMOKE_SCRIPT = """for i in $(seq 1 "$SMOKE_ATTEMPTS"); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$SMOKE_TIMEOUT" "$SMOKE_URL") || code=000
  if [ "$code" = 200 ]; then echo "smoke test: $SMOKE_URL answered 200 (attempt $i)"; exit 0; fi
  echo "smoke test: $SMOKE_URL answered $code (attempt $i of $SMOKE_ATTEMPTS)"
  if [ "$i" != "$SMOKE_ATTEMPTS" ]; then sleep "$SMOKE_INTERVAL"; fi
done
echo "::error::post-deploy smoke test failed: $SMOKE_URL did not answer 200 in $SMOKE_ATTEMPTS attempts; rolling back"
exit 1"""


def smoke_script() -> str:
    return SMOKE_SCRIPT
