"""Answer rules: the one place that decides what copier.yml accepts.

copier.yml validators call :func:`check` through the Jinja extension, the
model calls :func:`validate_all` before anything renders, and ``scaffold new``
calls it before Copier runs. One rule set, three doors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .. import yamlio
from . import blueprints, cronspec, observability, quantities, slo_spec
from .values import DNS_LABEL, percent, printable, show  # noqa: F401 (rules.show, rules.percent ...)

# Every pattern is ASCII-only and anchored with \Z (Python's `$` also matches
# before a final newline; `\d` and `\s` match any Unicode digit or space).
DNS_SUBDOMAIN_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z", re.ASCII)
# host[:port]/path[/path...]: lowercase, no tag, no digest (OCI distribution spec).
_REG_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
IMAGE_REGISTRY = re.compile(
    rf"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{{1,5}})?"
    rf"(?:/{_REG_COMPONENT})+\Z", re.ASCII
)
GITHUB_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}\Z", re.ASCII)
URL = re.compile(r"^https://[a-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?\Z", re.ASCII)
ASSIGNEE = re.compile(r"^@?[A-Za-z0-9][A-Za-z0-9._-]{0,38}\Z", re.ASCII)
K8S_VERSION = re.compile(r"^1\.([0-9]{1,2})\Z", re.ASCII)
MARKERS = ("{{", "}}", "{%", "%}", "{#", "${{")

BLUEPRINTS = blueprints.NAMES  # scaffold/data/blueprints.yml
STACKS = ("python", "node", "go", "dotnet")
CLOUDS = ("aws", "gcp", "azure", "none")
GITOPS = ("argocd", "flux")
DELIVERY = ("canary", "rolling")
INGRESS = ("gateway", "ingress", "none")
# Backstage's well-known Component lifecycles (backstage.io/docs/features/software-catalog/descriptor-format)
LIFECYCLES = ("experimental", "production", "deprecated")
# A PagerDuty object ID (service: P + 6 letters/digits, longer in some accounts)
PAGERDUTY_ID = re.compile(r"^P[A-Z0-9]{5,13}\Z", re.ASCII)
MIN_K8S_MINOR = 30


class AnswerError(ValueError):
    """A bad answer: names the field and says what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# Answers are small: the biggest is `slos` (60 items). A bigger value is an
# accident or an alias bomb; either way it is refused before anything walks it.
MAX_NODES = 5000
MAX_DEPTH = 8
MAX_TEXT = 64 * 1024


_PLAIN_SCALARS = (int, float, bool, Decimal)


def bounded(value: Any) -> str | None:
    """None when the value is a plain tree of bounded size, else what is wrong.
    A container reached twice is a YAML anchor/alias (or a merge key): refused,
    since copy-by-reference is how a few hundred bytes expand to gigabytes."""
    kind = type(value)  # one scalar, as most answers are: what the walk below would say of it
    if kind is str:
        return None if len(value) <= MAX_TEXT else f"is too large (more than {MAX_TEXT} characters of text)"
    if kind in _PLAIN_SCALARS or value is None:
        return None
    from collections import deque

    seen: set[int] = set()
    stack: deque[tuple[Any, int]] = deque([(value, 0)])  # breadth first: a shared value shows early
    nodes = text = 0
    while stack:
        item, depth = stack.popleft()
        nodes += 1
        if nodes > MAX_NODES:
            return f"is too large (more than {MAX_NODES} values)"
        if depth > MAX_DEPTH:
            return f"is nested too deeply (more than {MAX_DEPTH} levels)"
        if isinstance(item, str):
            text += len(item)
            if text > MAX_TEXT:
                return f"is too large (more than {MAX_TEXT} characters of text)"
        elif isinstance(item, (list, tuple, dict)):
            if id(item) in seen:
                return "must not use YAML anchors, aliases or merge keys (a value appears twice by reference)"
            seen.add(id(item))
            if isinstance(item, dict):
                for k, v in item.items():
                    stack.append((k, depth + 1))
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in item)
        elif not isinstance(item, (int, float, bool, Decimal)) and item is not None:
            return f"must be plain YAML data (text, numbers, lists, mappings); got a {type(item).__name__}"
    return None


def shipped_k8s_minors() -> list[int]:
    """Kubernetes minors kubernetes-validate can judge strictly, oldest first."""
    import importlib.util
    import os

    # Found, not imported: importing kubernetes_validate pulls jsonschema (~70 ms in every
    # process that asks, the hook and `scaffold new` included), and only its folder is read.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes_validate")
    root = os.path.join(list(spec.submodule_search_locations)[0], "kubernetes-json-schema")
    minors = set()
    for name in os.listdir(root):
        m = re.match(r"^v1\.(\d+)\.\d+-local-strict$", name)
        if m:
            minors.add(int(m.group(1)))
    return sorted(minors)


def _dns_label(value: Any, lo: int = 1, hi: int = 63) -> str | None:
    if not isinstance(value, str) or not DNS_LABEL.fullmatch(value) or not lo <= len(value) <= hi:
        return (
            f"must be a DNS-1123 label: {lo}-{hi} characters of lowercase a-z, 0-9 and '-', "
            f"starting and ending with a letter or digit; got {show(value)}"
        )
    return None


def _choice(choices: tuple[str, ...]) -> Callable[[Any, Mapping[str, Any]], str | None]:
    def rule(value: Any, _: Mapping[str, Any]) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(choices)}; got {show(value)}"
        return None

    return rule


def _int_between(lo: int, hi: int) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            return f"must be a whole number from {lo} to {hi}; got {show(value)}"
        return None

    return rule


def _percent_rule(lo: str, hi: str) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        d = percent(value)
        if d is None or not Decimal(lo) <= d < Decimal(hi) or int(d.as_tuple().exponent) < -4:
            return f"must be a percentage with at most 4 decimals, {lo} <= x < {hi}; got {show(value)}"
        return None

    return rule


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or len(value) > limit:
        return f"must be text of at most {limit} characters; got {show(value)}"
    if not printable(value):
        return f"must be a single line without control characters; got {show(value)}"
    if any(m in value for m in MARKERS):
        return f"must not contain template markers ({', '.join(MARKERS)}); got {show(value)}"
    return None


def _service_name(v: Any, a: Mapping[str, Any]) -> str | None:
    return _dns_label(v, 3, 40)


def _team(v: Any, a: Mapping[str, Any]) -> str | None:
    return _dns_label(v, 2, 40)


def _environments(v: Any, a: Mapping[str, Any]) -> str | None:
    allowed = "must be a list of 1 to 8 unique DNS-1123 labels of at most 20 characters (the last is production)"
    if not isinstance(v, list) or not 1 <= len(v) <= 8:
        return f"{allowed}; got {show(v)}"
    for env in v:
        if _dns_label(env, 2, 20):
            return f"{allowed}; {show(env)} is not such a label"
    if len(set(v)) != len(v):
        dupes = sorted({e for e in v if v.count(e) > 1})
        return f"{allowed}; {', '.join(dupes)} appears more than once"
    return None


def _k8s_version(v: Any, a: Mapping[str, Any]) -> str | None:
    minors = shipped_k8s_minors()
    newest = minors[-1]
    m = K8S_VERSION.fullmatch(v) if isinstance(v, str) else None
    if not m or not MIN_K8S_MINOR <= int(m.group(1)) <= newest:
        return f"must be a Kubernetes minor version from 1.{MIN_K8S_MINOR} to 1.{newest}, like \"1.{newest - 2}\"; got {show(v)}"
    return None


def _replicas_min(v: Any, a: Mapping[str, Any]) -> str | None:
    return _int_between(1, 1000)(v)


def _replicas_max(v: Any, a: Mapping[str, Any]) -> str | None:
    if err := _int_between(1, 1000)(v):
        return err
    lo = a.get("replicas_min")
    if isinstance(lo, int) and not isinstance(lo, bool) and v < lo:
        return f"must be at least replicas_min ({lo}); got {v}"
    return None


def _environment_replicas(v: Any, a: Mapping[str, Any]) -> str | None:
    """Per-environment HPA bounds, e.g. {prod: {min: 3, max: 30}}; a missing side
    comes from replicas_min/replicas_max."""
    allowed = "must map environment names to {min: N, max: M} (1 <= min <= max <= 1000)"
    if v in (None, ""):
        return None
    if not isinstance(v, dict):
        return f"{allowed}; got {show(v)}"
    listed = a.get("environments")
    envs = listed if isinstance(listed, list) else []
    for env, bounds in v.items():
        if env not in envs:
            return f"{allowed}; {show(env)} is not one of the environments ({', '.join(map(str, envs))})"
        if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"}:
            return f"{allowed}; {env}: got {show(bounds)}"
        for side in ("min", "max"):
            if side in bounds and (err := _int_between(1, 1000)(bounds[side])):
                return f"{env}.{side} {err}"
        lo = bounds.get("min", a.get("replicas_min"))
        hi = bounds.get("max", a.get("replicas_max"))
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            return f"{allowed}; {env}: min {lo} > max {hi}"
        if envs and env == envs[-1] and isinstance(lo, int) and "min" in bounds and lo < 2:
            return f"{env} is production: min must be at least 2; got {lo}"
    return None


def _quantity(kind: str) -> Callable[[Any, Mapping[str, Any]], str | None]:
    def rule(v: Any, a: Mapping[str, Any]) -> str | None:
        if quantities.parse(v, kind) is None:
            example = "100m, 0.5 or 2" if kind == "cpu" else "128Mi, 1Gi or 500M"
            return f"must be a Kubernetes {kind} quantity greater than zero, like {example}; got {show(v)}"
        return None

    return rule


def _memory_limit(v: Any, a: Mapping[str, Any]) -> str | None:
    if err := _quantity("memory")(v, a):
        return err
    req = quantities.parse(a.get("memory_request"), "memory")
    limit = quantities.parse(v, "memory")  # not None: checked just above
    if req is not None and limit is not None and limit < req:
        return f"must be at least memory_request ({a.get('memory_request')}); got {show(v)}"
    return None


def _image_registry(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or len(v) > 200 or not IMAGE_REGISTRY.fullmatch(v):
        return (
            "must be registry/org in lowercase, like ghcr.io/acme or 123.dkr.ecr.eu-west-1.amazonaws.com/team, "
            f"with no tag, digest, scheme or trailing slash; got {show(v)}"
        )
    return None


def _hostname(v: Any, a: Mapping[str, Any]) -> str | None:
    allowed = "must be a lowercase DNS name with at least two labels, like api.example.com"
    if not isinstance(v, str) or len(v) > 253 or "." not in v:
        return f"{allowed}; got {show(v)}"
    if not all(DNS_SUBDOMAIN_LABEL.fullmatch(p) for p in v.split(".")):
        return f"{allowed}; got {show(v)}"
    envs = a.get("environments")
    if isinstance(envs, list) and len(envs) > 1 and all(isinstance(e, str) for e in envs):
        longest = max(envs[:-1], key=len)  # non-production environments serve <env>.<hostname>
        if len(longest) + 1 + len(v) > 253:
            return (f"must leave room for the environment prefix: {longest}.<hostname> must fit 253 characters, "
                    f"so at most {252 - len(longest)} characters; got {len(v)}")
    return None


def _slo_latency_ms(v: Any, a: Mapping[str, Any]) -> str | None:
    return _int_between(1, 60000)(v)


def _slo_window_days(v: Any, a: Mapping[str, Any]) -> str | None:
    if v not in (28, 30) or type(v) is not int:
        return f"must be 28 or 30; got {show(v)}"
    return None


def _bool(v: Any, a: Mapping[str, Any]) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false; got {show(v)}"


def _github_repo(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or not GITHUB_REPO.fullmatch(v) or ".." in v:
        return f"must be owner/name as on GitHub, like acme/payments-api; got {show(v)}"
    return None


def _url(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or len(v) > 300 or not URL.fullmatch(v) or ".." in v:
        return f"must be an https:// URL without query, fragment or spaces; got {show(v)}"
    return None


def _assignee(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or (v != "" and not ASSIGNEE.fullmatch(v)):
        return f"must be a handle like @sre-agent (letters, digits, '.', '_', '-'), or empty for none; got {show(v)}"
    return None


def _pagerduty_service_id(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or not PAGERDUTY_ID.fullmatch(v):
        return f"must be a PagerDuty service ID like PABC123 (P and 5-13 capital letters or digits); got {show(v)}"
    return None


def _system(v: Any, a: Mapping[str, Any]) -> str | None:
    if v == "":
        return None
    return _dns_label(v, 1, 63)


def _schedule(v: Any, a: Mapping[str, Any]) -> str | None:
    if err := cronspec.error(v):
        return f"must be a five-field cron expression with real ranges, like \"*/15 * * * *\" ({err}); got {show(v)}"
    return None


def _description(v: Any, a: Mapping[str, Any]) -> str | None:
    return _text(v, 300)


def _slos(v: Any, a: Mapping[str, Any]) -> str | None:
    if err := slo_spec.check_extra_slos(v):
        return err
    if a.get("blueprint") == "cronjob" and any("latency_ms" in item for item in v or []):
        return "latency_ms SLOs need a request histogram, which the cronjob blueprint has none of; use error_query/total_query"
    return None


def _aws_account_id(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9]{12}", v, re.ASCII):
        return f"must be a 12-digit AWS account ID, like 111122223333; got {show(v)}"
    return None


def _guid(v: Any, a: Mapping[str, Any]) -> str | None:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v):
        return f"must be a lowercase GUID, like 00000000-0000-0000-0000-000000000000; got {show(v)}"
    return None


def _cloud_region(v: Any, a: Mapping[str, Any]) -> str | None:
    if a.get("cloud") == "none" and v == "":
        return None
    if not isinstance(v, str) or not re.fullmatch(r"[a-z][a-z0-9-]{1,30}[a-z0-9]", v):
        return f"must be the cloud's region name, like eu-west-1, europe-west1 or westeurope; got {show(v)}"
    return None


def _state_bucket(v: Any, a: Mapping[str, Any]) -> str | None:
    if a.get("cloud") == "none" and v == "":
        return None
    if a.get("cloud") == "azure":
        if not isinstance(v, str) or not re.fullmatch(r"[a-z0-9]{3,24}", v):
            return f"must be an Azure storage account name: 3-24 lowercase letters and digits; got {show(v)}"
        return None
    if not isinstance(v, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", v) or ".." in v:
        return f"must be a bucket name: 3-63 of lowercase letters, digits, '.' and '-'; got {show(v)}"
    return None


# Delivery strategies each blueprint has (its definition's `delivery`): a canary is an Argo
# Rollout whose analysis reads the HTTP SLOs, so only a service has one; a worker's or cronjob's pods roll.
BLUEPRINT_DELIVERY = {bp.name: bp.delivery for bp in blueprints.DEFINITIONS.values()}


def _delivery(v: Any, a: Mapping[str, Any]) -> str | None:
    if err := _choice(DELIVERY)(v, a):
        return err
    blueprint = a.get("blueprint") or "service"
    allowed = BLUEPRINT_DELIVERY.get(blueprint, DELIVERY)
    if v not in allowed:
        return (f"{show(v)} needs the service blueprint (an Argo Rollout analysed on HTTP SLOs); "
                f"a {blueprint} is delivered {' or '.join(allowed)}")
    return None


def _secret_store(v: Any, a: Mapping[str, Any]) -> str | None:
    return _dns_label(v, 1, 63)


def _trace_sampling(v: Any, a: Mapping[str, Any]) -> str | None:
    return observability.check_trace_sampling(v, a)


def _otlp_endpoint(v: Any, a: Mapping[str, Any]) -> str | None:
    return observability.endpoint_problem(v)


RULES: dict[str, Callable[[Any, Mapping[str, Any]], str | None]] = {
    "blueprint": _choice(BLUEPRINTS),
    "service_name": _service_name,
    "description": _description,
    "team": _team,
    "stack": _choice(STACKS),
    "with_app": _bool,
    "port": lambda v, a: _int_between(1024, 65535)(v),
    "image_registry": _image_registry,
    "environments": _environments,
    "k8s_version": _k8s_version,
    "replicas_min": _replicas_min,
    "replicas_max": _replicas_max,
    "environment_replicas": _environment_replicas,
    "cpu_request": _quantity("cpu"),
    "memory_request": _quantity("memory"),
    "memory_limit": _memory_limit,
    "slo_availability": lambda v, a: _percent_rule("90", "100")(v),
    "slo_latency_ms": _slo_latency_ms,
    "slo_latency_target": lambda v, a: _percent_rule("90", "100")(v),
    "slo_window_days": _slo_window_days,
    "slos": _slos,
    "cloud": _choice(CLOUDS),
    "gitops": _choice(GITOPS),
    "delivery": _delivery,
    "ingress": _choice(INGRESS),
    "hostname": _hostname,
    "schedule": _schedule,
    "github_repo": _github_repo,
    "runbook_base_url": _url,
    "dashboard_base_url": _url,
    "backlog": _bool,
    "backlog_assignee": _assignee,
    "advanced": _bool,
    # per-organisation cloud facts (the release path): placeholders until answered
    "aws_account_id": _aws_account_id,
    "azure_subscription_id": _guid,
    "cloud_region": _cloud_region,
    "state_bucket": _state_bucket,
    "secret_store": _secret_store,
    "trace_sampling": _trace_sampling,
    # the Backstage entity (catalog-info.yaml)
    "lifecycle": _choice(LIFECYCLES),
    "pagerduty_service_id": _pagerduty_service_id,
    "system": _system,
    # capacity planning: what one fully used CPU core handles (docs/capacity.md)
    "throughput_per_core": lambda v, a: _int_between(1, 100000)(v),
    # where the OpenTelemetry Collector sends traces and logs (scaffold/telemetry.py)
    "traces_endpoint": _otlp_endpoint,
    "logs_endpoint": _otlp_endpoint,
}


def check(field: str, value: Any, answers: Mapping[str, Any]) -> str:
    """The copier validator contract: '' when fine, else a message naming the field."""
    rule = RULES.get(field)
    if rule is None:
        return f"{field}: unknown answer"
    err = bounded(value) or rule(value, answers)
    return f"{field}: {err}" if err else ""


def validate_all(answers: Mapping[str, Any]) -> None:
    """Check every known answer, then the cross-field rules; raise the first error."""
    for field in RULES:
        if field in answers:
            err = bounded(answers[field]) or RULES[field](answers[field], answers)
            if err:
                raise AnswerError(field, err)


# Question types as copier.yml declares them (tests/test_answers.py checks they agree).
TYPES: dict[str, str] = {
    "with_app": "bool", "backlog": "bool",
    "port": "int", "replicas_min": "int", "replicas_max": "int", "slo_latency_ms": "int",
    "slo_window_days": "int",
    "slo_availability": "float", "slo_latency_target": "float",
    "environments": "yaml", "slos": "yaml", "environment_replicas": "yaml",
}
TYPES["advanced"] = "bool"
TYPES["trace_sampling"] = "yaml"
TYPES["throughput_per_core"] = "int"
# Answers that are lists: "dev, staging, prod" is accepted as well as YAML's [dev, staging, prod].
LIST_ANSWERS = ("environments",)
# An example of a good answer per question: prompt errors lead with it.
EXAMPLES: dict[str, str] = {
    "blueprint": "service", "service_name": "payments-api", "description": "Takes card payments",
    "team": "payments", "stack": "python", "with_app": "yes", "port": "8080",
    "image_registry": "ghcr.io/acme", "environments": "dev, staging, prod", "k8s_version": "1.35",
    "replicas_min": "2", "replicas_max": "10", "environment_replicas": "{prod: {min: 3, max: 30}}",
    "aws_account_id": "123456789012", "azure_subscription_id": "00000000-0000-0000-0000-000000000000",
    "cloud_region": "eu-west-1", "state_bucket": "acme-terraform-state", "secret_store": "platform-secrets", "cpu_request": "100m", "memory_request": "128Mi",
    "memory_limit": "256Mi", "slo_availability": "99.9", "slo_latency_ms": "300",
    "slo_latency_target": "99.0", "slo_window_days": "30",
    "slos": "[{name: checkout, objective: 99.5, latency_ms: 800}]", "cloud": "aws", "gitops": "argocd",
    "delivery": "canary", "ingress": "gateway", "hostname": "payments.example.com",
    "schedule": "*/15 * * * *", "github_repo": "acme/payments-api",
    "runbook_base_url": "https://github.com/acme/payments-api/blob/main/runbooks",
    "dashboard_base_url": "https://grafana.example.com", "backlog": "yes", "backlog_assignee": "@sre-agent",
    "advanced": "no", "trace_sampling": "{prod: 0.05}",
    "lifecycle": "experimental", "pagerduty_service_id": "PABC123", "system": "payments",
    "throughput_per_core": "200",
    "traces_endpoint": "http://tempo.observability.svc:4318", "logs_endpoint": "http://loki.observability.svc:3100/otlp",
}


def split_list(field: str, value: Any) -> Any:
    """A comma-separated answer to a list question, as the list it means."""
    if field in LIST_ANSWERS and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def yaml_problem(raw: str) -> str:
    """What is wrong with a YAML answer, in a few words: the parser's problem and its column."""
    try:
        yamlio.load(raw)
    except Exception as exc:  # noqa: BLE001 - any YAML error is the user's input
        problem = (getattr(exc, "problem", None) or str(exc).splitlines()[0]).replace("'<stream end>'", "the end").replace(", but got ", ", got ")
        mark = getattr(exc, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None and mark.line == 0 else (
            f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "")
        return f"YAML error{where}: {problem}"
    return ""


_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


def coerce(field: str, raw: Any) -> Any:
    """Parse a --data string the way Copier would, but fail naming the field."""
    kind = TYPES.get(field, "str")
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if kind == "int":
        if not re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII):
            raise AnswerError(field, f"must be a whole number; got {show(raw)}")
        return int(text)
    if kind == "float":
        if not re.fullmatch(r"[+-]?[0-9]+(?:\.[0-9]+)?", text, re.ASCII):  # float() takes "nan", "1_0", "\uff19"
            raise AnswerError(field, f"must be a number; got {show(raw)}")
        return float(text)
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise AnswerError(field, f"must be true or false; got {show(raw)}")
    if kind == "yaml":
        try:
            return split_list(field, yamlio.load_answers(raw))
        except yamlio.UnsafeAnswers as exc:
            raise AnswerError(field, str(exc)) from None
        except Exception:  # noqa: BLE001 - any YAML error is the user's input
            raise AnswerError(field, f"{yaml_problem(raw)}; write it like {EXAMPLES.get(field, '[a, b]')}") from None
    return raw
