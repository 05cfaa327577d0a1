"""The typed service model: answers in, every derived value computed once.

Templates read this object; they never compute names, labels, replica bounds
or SLO math themselves. Build it with :func:`ServiceModel.from_answers`,
which validates first, so an invalid model cannot exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache, wraps
from typing import Any, Callable, Mapping, TypeVar

from ..answers import blueprints, quantities, rules

T = TypeVar("T")

# Answers with their defaults. copier.yml must agree (tests/test_answers.py checks).
DEFAULTS: dict[str, Any] = {
    "blueprint": "service",
    "description": "",
    "team": "platform",
    "stack": "python",
    "with_app": True,
    "port": 8080,
    "image_registry": "ghcr.io/acme",
    "environments": ["dev", "staging", "prod"],
    "k8s_version": "1.35",
    "replicas_min": 2,
    "replicas_max": 10,
    "environment_replicas": {},
    "cpu_request": "100m",
    "memory_request": "128Mi",
    "memory_limit": "256Mi",
    "slo_availability": 99.9,
    "slo_latency_ms": 300,
    "slo_latency_target": 99.0,
    "slo_window_days": 30,
    "slos": [],
    "cloud": "aws",
    "gitops": "argocd",
    "delivery": "canary",
    "ingress": "gateway",
    "schedule": "*/15 * * * *",
    "backlog": True,
    "backlog_assignee": "",  # no assignee: the team picks up its own tasks
    # per-organisation cloud facts: placeholders the README's "Before the first deploy" names
    "aws_account_id": "111122223333",
    "azure_subscription_id": "00000000-0000-0000-0000-000000000000",
    "trace_sampling": {},  # per-environment ratio; unnamed: 1.0, production 0.1 (scaffold/tracing.py)
    # the Backstage entity: day 0 is experimental; the PagerDuty service the pager receiver's
    # routing key belongs to (a placeholder, like aws_account_id); no System unless one is named
    "lifecycle": "experimental",
    "pagerduty_service_id": "PXXXXXX",
    "system": "",
    # the OpenTelemetry Collector's backends (scaffold/telemetry.py)
    "traces_endpoint": "http://tempo.observability.svc:4318",
    "logs_endpoint": "http://loki.observability.svc:3100/otlp",
}

# Defaults computed from earlier answers, so that no earlier answer can make a later
# default invalid (copier.yml renders them with ``{{ scaffold_default('name') }}``).
DERIVED_DEFAULTS = ("memory_limit", "replicas_max", "advanced", "delivery", "throughput_per_core")
# Questions behind "customise advanced settings?": with `no`, their defaults are taken.
ADVANCED = ("replicas_min", "replicas_max", "environment_replicas", "cpu_request", "memory_request", "memory_limit",
            "slo_latency_target", "slo_window_days", "slos", "runbook_base_url", "dashboard_base_url",
            "trace_sampling", "system", "throughput_per_core")
DEFAULTS["advanced"] = False
# Capacity assumption: requests (service) or jobs (worker) per second one fully used CPU
# core handles, until the team measures its own (the `throughput_per_core` answer).
THROUGHPUT_PER_CORE = {bp.name: bp.throughput_per_core for bp in blueprints.DEFINITIONS.values()}
DEFAULTS["throughput_per_core"] = THROUGHPUT_PER_CORE["service"]
ADVANCED += ("traces_endpoint", "logs_endpoint")

_VALIDATED: set[str] = set()  # canonical answer sets that passed validate_all
RUN_AS_UID = 10001
RUN_AS_GID = 10001
PRODUCTION_MIN_REPLICAS = 2
CPU_LIMIT_FACTOR = 4  # burst headroom; throttling alerts watch the ceiling
EPHEMERAL_REQUEST = "64Mi"
EPHEMERAL_LIMIT = "256Mi"
# Histogram buckets (seconds) every app skeleton exposes; the SLO threshold is added.
BASE_BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10")


def slugify(text: str, limit: int = 40) -> str:
    """A folder name as a DNS-1123 label (the default service_name)."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:limit].strip("-")
    if len(slug) < 3:
        slug = (slug + "-svc").strip("-")
    return slug


def answer_default(name: str, answers: Mapping[str, Any]) -> Any:
    """The default of ``name`` given the answers so far (DEFAULTS fill the rest)."""
    a = {**DEFAULTS, **{k: v for k, v in answers.items() if v is not None}}
    if name == "memory_limit":  # twice the request, within the quantity bounds
        request = quantities.parse(a.get("memory_request"), "memory")
        if request is None:
            return DEFAULTS["memory_limit"]
        return quantities.format_memory(min(request * 2, quantities.parse("1Ti", "memory")))
    if name == "replicas_max":  # 10, or twice the minimum when that is more (at most 1000)
        low = a.get("replicas_min")
        if isinstance(low, bool) or not isinstance(low, int) or not 1 <= low <= 1000:
            return DEFAULTS["replicas_max"]
        return min(1000, max(DEFAULTS["replicas_max"], 2 * low))
    if name == "throughput_per_core":  # the blueprint's own assumption
        return THROUGHPUT_PER_CORE.get(a.get("blueprint"), DEFAULTS["throughput_per_core"])
    if name == "delivery":  # the blueprint's own: a canary for a service, rolling otherwise
        return delivery_for(a.get("blueprint"), DEFAULTS["delivery"])
    if name == "advanced":  # yes when an advanced answer is already given (-d, or an update)
        return any(key in answers and answers[key] is not None and answers[key] != answer_default(key, answers)
                   for key in ADVANCED)
    if name in ("hostname", "github_repo", "runbook_base_url", "dashboard_base_url") and "service_name" in a:
        return derived_defaults(a["service_name"], a.get("github_repo"))[name]
    return DEFAULTS.get(name)


def delivery_for(blueprint: Any, delivery: Any) -> Any:
    """The delivery a blueprint gets: a service keeps its answer; a worker or cronjob has
    no Rollout, so it is rolling. Earlier versions recorded `delivery: canary` for them
    too (and generated no Rollout): such answers files still load, as what is generated;
    `copier update` drops the answer (its question is not asked for them)."""
    allowed = rules.BLUEPRINT_DELIVERY.get(blueprint) if isinstance(blueprint, str) else None
    if allowed and delivery not in allowed and delivery in rules.DELIVERY:
        return allowed[0]
    return delivery


def metrics_port(blueprint: str, port: int) -> int:
    """A service serves /metrics on its own port, next to the app port, which the
    HTTPRoute/Ingress never routes to (issue 16: /metrics was public). Workers have
    no route and keep one port."""
    if not blueprints.get(blueprint).http:
        return port
    return port + 1 if port < 65535 else port - 1


def derived_defaults(service_name: str, github_repo: str | None = None) -> dict[str, str]:
    """Defaults that depend on other answers (copier.yml renders the same)."""
    repo = github_repo or f"acme/{service_name}"
    return {
        "hostname": f"{service_name}.example.com",
        "github_repo": repo,
        "runbook_base_url": f"https://github.com/{repo}/blob/main/runbooks",
        "dashboard_base_url": "https://grafana.example.com",
    }


CLOUD_REGIONS = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope", "none": ""}
SECRET_STORES = {"aws": "aws-secrets-manager", "gcp": "gcp-secret-manager",
                 "azure": "azure-key-vault", "none": "vault"}


def cloud_defaults(cloud: str, team: str) -> dict[str, str]:
    """Per-organisation cloud facts, defaulted from other answers (copier.yml renders the same)."""
    if cloud == "azure":  # a storage account: 3-24 lowercase letters and digits
        bucket = (re.sub(r"[^a-z0-9]", "", team) + "tfstate")[:24]
    elif cloud in ("aws", "gcp"):
        bucket = f"{team}-terraform-state"
    else:
        bucket = ""
    return {"cloud_region": CLOUD_REGIONS.get(cloud, ""), "state_bucket": bucket,
            "secret_store": SECRET_STORES.get(cloud, "vault")}


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    ephemeral_request: str = EPHEMERAL_REQUEST
    ephemeral_limit: str = EPHEMERAL_LIMIT

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {
                "cpu": self.cpu_request,
                "memory": self.memory_request,
                "ephemeral-storage": self.ephemeral_request,
            },
            "limits": {
                "cpu": self.cpu_limit,
                "memory": self.memory_limit,
                "ephemeral-storage": self.ephemeral_limit,
            },
        }


@dataclass(frozen=True)
class Environment:
    name: str
    index: int
    namespace: str
    production: bool
    replicas_min: int
    replicas_max: int
    resources: Resources
    labels: dict[str, str]
    previous: str | None  # the environment this one is promoted from


@dataclass(frozen=True)
class ServiceModel:
    answers: dict[str, Any] = field(repr=False)
    blueprint: str
    name: str
    description: str
    team: str
    stack: str
    with_app: bool
    port: int
    metrics_port: int
    image_registry: str
    k8s_version: str
    cloud: str
    gitops: str
    delivery: str
    ingress: str
    hostname: str
    schedule: str
    github_repo: str
    runbook_base_url: str
    dashboard_base_url: str
    backlog: bool
    backlog_assignee: str
    slo_availability: Decimal
    slo_latency_ms: int
    slo_latency_target: Decimal
    slo_window_days: int
    extra_slos: tuple[dict[str, Any], ...]
    resources: Resources
    environments: tuple[Environment, ...]
    aws_account_id: str = DEFAULTS["aws_account_id"]
    azure_subscription_id: str = DEFAULTS["azure_subscription_id"]
    cloud_region: str = ""
    state_bucket: str = ""
    secret_store: str = ""
    lifecycle: str = DEFAULTS["lifecycle"]
    pagerduty_service_id: str = DEFAULTS["pagerduty_service_id"]
    system: str = ""

    # -- construction -------------------------------------------------------
    @classmethod
    def from_answers(cls, raw: Mapping[str, Any]) -> "ServiceModel":
        data = {k: v for k, v in raw.items() if not str(k).startswith("_")}
        for k, v in data.items():  # before anything below walks a value (json.dumps, str())
            if err := rules.bounded(v):
                raise rules.AnswerError(str(k), err)
        merged = {**DEFAULTS, **data}
        for key in DERIVED_DEFAULTS:
            if key not in data:
                merged[key] = answer_default(key, merged)
        merged["delivery"] = delivery_for(merged.get("blueprint"), merged.get("delivery"))
        if "service_name" not in merged:
            raise rules.AnswerError("service_name", "is required")
        for key, value in derived_defaults(merged["service_name"], merged.get("github_repo")).items():
            merged.setdefault(key, value)
        for key, value in cloud_defaults(str(merged.get("cloud")), str(merged.get("team"))).items():
            merged.setdefault(key, value)
        key = json.dumps(merged, sort_keys=True, default=str)
        if key not in _VALIDATED:  # templates call this hundreds of times per render
            rules.validate_all(merged)
            if len(_VALIDATED) > 256:
                _VALIDATED.clear()
            _VALIDATED.add(key)
        return _build(key)

    # -- derived values -----------------------------------------------------
    @property
    def image(self) -> str:
        return f"{self.image_registry}/{self.name}"

    @property
    def production(self) -> Environment:
        return self.environments[-1]

    @property
    def throughput_per_core(self) -> int:
        """Requests or jobs per second one fully used CPU core handles (capacity planning)."""
        return int(self.answers.get("throughput_per_core") or THROUGHPUT_PER_CORE.get(self.blueprint, 1))

    @property
    def workload_kind(self) -> str:
        return blueprints.get(self.blueprint).workload

    @property
    def has_http(self) -> bool:
        return blueprints.get(self.blueprint).http

    @property
    def has_route(self) -> bool:
        return self.has_http and self.ingress != "none"

    @property
    def scales(self) -> bool:
        """HPA and PDB apply to long-running pods only."""
        return blueprints.get(self.blueprint).scales

    @property
    def canary(self) -> bool:
        return self.delivery == "canary" and "canary" in blueprints.get(self.blueprint).delivery

    @property
    def k8s_minor(self) -> int:
        return int(self.k8s_version.split(".")[1])

    @property
    def newest_k8s_version(self) -> str:
        return f"1.{rules.shipped_k8s_minors()[-1]}"

    @cached_property
    def selector_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.name}

    @cached_property
    def labels(self) -> dict[str, str]:
        return {
            **self.selector_labels,
            "app.kubernetes.io/component": self.blueprint,
            "app.kubernetes.io/part-of": self.name,
            "app.kubernetes.io/managed-by": "kustomize",
            "scaffold.dev/team": self.team,
        }

    @property
    def latency_seconds(self) -> Decimal:
        return Decimal(self.slo_latency_ms) / 1000

    @property
    def latency_le(self) -> str:
        """The ``le`` label value of the SLO bucket, as client libraries print it
        (prometheus_client: ``0.3``, ``1.0``)."""
        return le_label(self.latency_seconds)

    @property
    def latency_buckets(self) -> list[Decimal]:
        """Histogram bounds in seconds, always including the SLO threshold."""
        bounds = {Decimal(b) for b in BASE_BUCKETS} | {self.latency_seconds}
        bounds |= {Decimal(s["latency_ms"]) / 1000 for s in self.extra_slos if "latency_ms" in s}
        return sorted(bounds)

    def dashboard_uid(self, kind: str) -> str:
        """Grafana uids are at most 40 characters."""
        return f"{self.name[: 39 - len(kind)].rstrip('-')}-{kind}"

    def dashboard_url(self, kind: str) -> str:
        return f"{self.dashboard_base_url}/d/{self.dashboard_uid(kind)}"

    def runbook_url(self, alert_name: str) -> str:
        return f"{self.runbook_base_url}/{alert_name}.md"

    def to_json(self) -> str:
        return json.dumps(self.answers, sort_keys=True, default=str)


def cached_per_model(maxsize: int = 256) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache ``fn(m, *args)`` on the model's canonical answers (a model holds
    dicts, so it is not hashable). For emitted text that Copier asks for more
    than once per render, or that two files share."""
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @lru_cache(maxsize=maxsize)
        def by_answers(answers_key: str, *args: Any) -> T:
            return fn(ServiceModel.from_answers(json.loads(answers_key)), *args)

        @wraps(fn)
        def call(m: ServiceModel, *args: Any) -> T:
            return by_answers(m.to_json(), *args)
        return call
    return wrap


def le_label(seconds: Decimal) -> str:
    """Format a bucket bound like prometheus_client's floatToGoString (Python repr)."""
    return repr(float(seconds))


def _percent(value: Any) -> Decimal:
    d = rules.percent(value)
    assert d is not None  # validated before
    return d


def env_namespace(service_name: str, env_name: str) -> str:
    """The namespace of a service in one environment: the one name the overlay deploys
    into, the GitOps controller targets and Terraform binds the workload identity to."""
    return f"{service_name}-{env_name}"


def _environment(name: str, index: int, count: int, a: dict[str, Any], base: Resources, labels: dict[str, str]) -> Environment:
    production = index == count - 1
    lo, hi = a["replicas_min"], a["replicas_max"]
    own = (a.get("environment_replicas") or {}).get(name) or {}
    lo, hi = own.get("min", lo), own.get("max", hi)
    hi = max(hi, lo)  # only min given, above the global max
    if production:
        lo = max(lo, PRODUCTION_MIN_REPLICAS)
        hi = max(hi, lo)
    return Environment(
        name=name,
        index=index,
        namespace=env_namespace(a["service_name"], name),
        production=production,
        replicas_min=lo,
        replicas_max=hi,
        resources=base,
        labels={**labels, "scaffold.dev/environment": name},
        previous=a["environments"][index - 1] if index else None,
    )


@lru_cache(maxsize=64)
def _build(key: str) -> ServiceModel:
    """Cached on the canonical answers, so every template of a render shares one model."""
    a = json.loads(key)
    cpu = quantities.parse(a["cpu_request"], "cpu")
    mem_req = quantities.parse(a["memory_request"], "memory")
    mem_lim = quantities.parse(a["memory_limit"], "memory")
    resources = Resources(
        cpu_request=quantities.format_cpu(cpu),
        cpu_limit=quantities.format_cpu(cpu * CPU_LIMIT_FACTOR),
        memory_request=quantities.format_memory(mem_req),
        memory_limit=quantities.format_memory(mem_lim),
    )
    model = ServiceModel(
        answers=a,
        blueprint=a["blueprint"],
        name=a["service_name"],
        description=a["description"] or f"The {a['service_name']} {a['blueprint']}, owned by {a['team']}.",
        team=a["team"],
        stack=a["stack"],
        with_app=a["with_app"],
        port=a["port"],
        metrics_port=metrics_port(a["blueprint"], a["port"]),
        image_registry=a["image_registry"],
        k8s_version=a["k8s_version"],
        cloud=a["cloud"],
        gitops=a["gitops"],
        delivery=a["delivery"],
        ingress=a["ingress"],
        hostname=a["hostname"],
        schedule=a["schedule"],
        github_repo=a["github_repo"],
        runbook_base_url=a["runbook_base_url"],
        dashboard_base_url=a["dashboard_base_url"],
        backlog=a["backlog"],
        backlog_assignee=a["backlog_assignee"],
        slo_availability=_percent(a["slo_availability"]),
        slo_latency_ms=a["slo_latency_ms"],
        slo_latency_target=_percent(a["slo_latency_target"]),
        slo_window_days=a["slo_window_days"],
        extra_slos=tuple(a.get("slos") or ()),
        resources=resources,
        environments=(),
        aws_account_id=a["aws_account_id"],
        azure_subscription_id=a["azure_subscription_id"],
        cloud_region=a["cloud_region"],
        state_bucket=a["state_bucket"],
        secret_store=a["secret_store"],
        lifecycle=a["lifecycle"],
        pagerduty_service_id=a["pagerduty_service_id"],
        system=a["system"],
    )
    labels = model.labels
    envs = tuple(
        _environment(env, i, len(a["environments"]), a, resources, labels)
        for i, env in enumerate(a["environments"])
    )
    object.__setattr__(model, "environments", envs)
    return model
