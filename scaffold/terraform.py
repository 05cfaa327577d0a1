"""Terraform policy: which modules a cloud gets, per-environment values and a
safe HCL emitter, so templates never quote a user value or size a quota."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from scaffold import quantities
from scaffold.model import Environment, ServiceModel

REQUIRED_VERSION = ">= 1.11"  # S3 native locking (use_lockfile) is GA from 1.11
PROVIDERS: dict[str, tuple[str, str]] = {
    "kubernetes": ("hashicorp/kubernetes", "~> 2.38"),
    "aws": ("hashicorp/aws", "~> 6.0"),
    "google": ("hashicorp/google", "~> 6.0"),
    "azurerm": ("hashicorp/azurerm", "~> 4.0"),
}
CLOUD_PROVIDER = {"aws": "aws", "gcp": "google", "azure": "azurerm", "none": None}
# Modules every package ships, then the cloud's registry + workload identity pair.
CLOUD_MODULES = {
    "aws": ("ecr", "irsa"),
    "gcp": ("artifact-registry", "gke-workload-identity"),
    "azure": ("acr", "aks-workload-identity"),
    "none": (),
}
MODULE_SUMMARY = {
    "namespace": "namespace with Pod Security Standards labels, ResourceQuota and LimitRange",
    "ecr": "ECR repository: immutable tags, scan on push, KMS-encrypted",
    "irsa": "IAM role for the service account (IRSA)",
    "artifact-registry": "Artifact Registry repository: immutable tags, CMEK-encrypted",
    "gke-workload-identity": "Google service account bound through Workload Identity",
    "acr": "Azure Container Registry (Premium, private, no admin user)",
    "aks-workload-identity": "managed identity with a federated credential for the service account",
}
# Quota headroom over replicas_max: a canary or surge runs old and new pods side by side.
QUOTA_HEADROOM = 2
QUOTA_EXTRA_PODS = 5  # hooks, debug pods, restore drills
STATE_NAMESPACE = "terraform-state"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def modules(m: ServiceModel) -> list[str]:
    return ["namespace", *CLOUD_MODULES[m.cloud]]


def providers(m: ServiceModel) -> dict[str, tuple[str, str]]:
    wanted = ["kubernetes"] + ([CLOUD_PROVIDER[m.cloud]] if CLOUD_PROVIDER[m.cloud] else [])
    return {name: PROVIDERS[name] for name in wanted}


# -- HCL emitter ---------------------------------------------------------------
def hcl(value: Any, indent: int = 0) -> str:
    """One HCL expression for a literal value. Strings are JSON-escaped and
    template sequences (``${``, ``%{``) doubled, so a value can never interpolate."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("${", "$${").replace("%{", "%%{")
    pad = "  " * (indent + 1)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + "".join(f"{pad}{hcl(v, indent + 1)},\n" for v in value) + "  " * indent + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        width = max(len(_key(k)) for k in value)
        body = "".join(f"{pad}{_key(k).ljust(width)} = {hcl(v, indent + 1)}\n" for k, v in value.items())
        return "{\n" + body + "  " * indent + "}"
    raise TypeError(f"no HCL form for {type(value).__name__}")


def _key(k: Any) -> str:
    k = str(k)
    return k if _IDENT.match(k) else hcl(k)


def assignments(values: dict[str, Any]) -> str:
    """``name = value`` lines, aligned like ``terraform fmt``."""
    width = max(len(k) for k in values)
    return "".join(f"{k.ljust(width)} = {hcl(v)}\n" for k, v in values.items())


# -- per-environment values ----------------------------------------------------
def quota(m: ServiceModel, env: Environment) -> dict[str, Any]:
    """ResourceQuota sized for replicas_max pods x headroom, plus a few spare pods."""
    r = env.resources
    n = env.replicas_max * QUOTA_HEADROOM
    cpu_req = quantities.parse(r.cpu_request, "cpu") * n
    cpu_lim = quantities.parse(r.cpu_limit, "cpu") * n
    mem_req = quantities.parse(r.memory_request, "memory") * n
    mem_lim = quantities.parse(r.memory_limit, "memory") * n
    return {
        "quota_requests_cpu": quantities.format_cpu(cpu_req),
        "quota_limits_cpu": quantities.format_cpu(cpu_lim),
        "quota_requests_memory": quantities.format_memory(mem_req),
        "quota_limits_memory": quantities.format_memory(mem_lim),
        "quota_pods": n + QUOTA_EXTRA_PODS,
    }


def limit_range(m: ServiceModel, env: Environment) -> dict[str, str]:
    """LimitRange defaults equal the blueprint's own container resources."""
    r = env.resources
    return {
        "default_request_cpu": r.cpu_request,
        "default_request_memory": r.memory_request,
        "default_limit_cpu": r.cpu_limit,
        "default_limit_memory": r.memory_limit,
    }


def cloud_values(m: ServiceModel, env: Environment) -> dict[str, Any]:
    """Where the cluster lives. These are starting values the owner edits:
    they name the cluster per environment after the service's team."""
    cluster = f"{m.team}-{env.name}"
    if m.cloud == "aws":
        return {"aws_region": "eu-west-1", "cluster_name": cluster}
    if m.cloud == "gcp":
        return {"project_id": f"{m.team}-{env.name}", "region": "europe-west1"}
    if m.cloud == "azure":
        return {"location": "westeurope", "resource_group_name": f"rg-{m.team}-{env.name}",
                "cluster_name": cluster}
    return {}


def tfvars(m: ServiceModel, env: Environment) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_name": m.name,
        "environment": env.name,
        "namespace": env.namespace,
        "kube_context": f"{m.team}-{env.name}",
        "labels": dict(sorted(env.labels.items())),
        **quota(m, env),
        **limit_range(m, env),
        **cloud_values(m, env),
    }
    if m.cloud != "none":
        values["service_account"] = m.name
        values["identity_name"] = identity_name(m, env)
        values["create_registry"] = env.production  # one registry; promotion is by digest
        values["registry_name"] = registry_name(m)
    if m.cloud == "azure":
        values["replica_location"] = "northeurope"
    return values


# name -> (type, description); the root variables.tf is rendered from this table.
ROOT_VARIABLES: dict[str, tuple[str, str]] = {
    "service_name": ("string", "Service name; names the registry and identities."),
    "environment": ("string", "Environment this root module manages."),
    "namespace": ("string", "Kubernetes namespace of the service in this environment."),
    "service_account": ("string", "Kubernetes service account the workload runs as."),
    "kube_context": ("string", "kubeconfig context of this environment's cluster."),
    "kubeconfig_path": ("string", "Path of the kubeconfig the kubernetes provider reads."),
    "labels": ("map(string)", "Labels for the namespace (the blueprint's app.kubernetes.io set)."),
    "quota_requests_cpu": ("string", "ResourceQuota total CPU requests."),
    "quota_limits_cpu": ("string", "ResourceQuota total CPU limits."),
    "quota_requests_memory": ("string", "ResourceQuota total memory requests."),
    "quota_limits_memory": ("string", "ResourceQuota total memory limits."),
    "quota_pods": ("number", "ResourceQuota pod count."),
    "default_request_cpu": ("string", "LimitRange default CPU request."),
    "default_request_memory": ("string", "LimitRange default memory request."),
    "default_limit_cpu": ("string", "LimitRange default CPU limit."),
    "default_limit_memory": ("string", "LimitRange default memory limit."),
    "identity_name": ("string", "Name of the cloud identity the service account maps to."),
    "create_registry": ("bool", "Whether this environment owns the image registry (production only)."),
    "registry_name": ("string", "Image registry (repository) name."),
    "aws_region": ("string", "AWS region of the cluster and registry."),
    "cluster_name": ("string", "Kubernetes cluster name in the cloud account."),
    "project_id": ("string", "Google Cloud project of the cluster and registry."),
    "region": ("string", "Google Cloud region of the registry."),
    "location": ("string", "Azure region of the registry and identity."),
    "resource_group_name": ("string", "Azure resource group of the cluster, registry and identity."),
    "replica_location": ("string", "Azure region the registry geo-replicates to."),
}
DEFAULTS = {"kubeconfig_path": "~/.kube/config"}


def root_variables(m: ServiceModel) -> list[dict[str, Any]]:
    """Variables of an environment root: exactly the tfvars keys plus defaults."""
    names = list(tfvars(m, m.environments[0])) + list(DEFAULTS)
    out = []
    for name in names:
        typ, desc = ROOT_VARIABLES[name]
        var = {"name": name, "type": typ, "description": hcl(desc)}
        if name in DEFAULTS:
            var["default"] = hcl(DEFAULTS[name])
        out.append(var)
    return out


def identity_name(m: ServiceModel, env: Environment) -> str:
    """Per-environment identity: GCP account ids are 6-30 chars starting with a letter, IAM roles 64."""
    limit = 30 if m.cloud == "gcp" else 64
    base = m.name if m.name[0].isalpha() else f"s{m.name}"
    suffix = f"-{env.name}"
    name = f"{base[: max(limit - len(suffix), 1)].rstrip('-')}{suffix}"[:limit].rstrip("-")
    return name if len(name) >= 6 else f"{name}-wi"


def backend(m: ServiceModel, env: Environment) -> tuple[str, dict[str, Any]]:
    """The remote-state backend: one state per environment, locked.

    none: the kubernetes backend keeps state in a Secret of the cluster itself
    and locks with a Lease, so even a cloud-less package gets remote, locked state."""
    key = f"{m.name}/{env.name}"
    if m.cloud == "aws":
        return "s3", {"bucket": f"{m.team}-terraform-state", "key": f"{key}/terraform.tfstate",
                      "region": "eu-west-1", "encrypt": True, "use_lockfile": True}
    if m.cloud == "gcp":
        return "gcs", {"bucket": f"{m.team}-terraform-state", "prefix": key}
    if m.cloud == "azure":
        return "azurerm", {"resource_group_name": f"rg-{m.team}-tfstate",
                           "storage_account_name": storage_account(m.team),
                           "container_name": "tfstate", "key": f"{key}.tfstate",
                           "use_azuread_auth": True}
    return "kubernetes", {"secret_suffix": f"{m.name}-{env.name}", "namespace": STATE_NAMESPACE,
                          "config_path": "~/.kube/config", "config_context": f"{m.team}-{env.name}"}


def storage_account(team: str) -> str:
    """Azure storage account names: 3-24 lowercase letters and digits."""
    return (re.sub(r"[^a-z0-9]", "", team) + "tfstate")[:24]


def registry_name(m: ServiceModel) -> str:
    """ACR names are 5-50 alphanumerics; other registries take the service name."""
    if m.cloud == "azure":
        return (re.sub(r"[^a-z0-9]", "", m.name) + "acr")[:50]
    return m.name


def backend_block(m: ServiceModel, env: Environment) -> str:
    kind, attrs = backend(m, env)
    body = "".join(f"    {line}\n" for line in assignments(attrs).splitlines())
    return f'  backend "{kind}" {{\n{body}  }}\n'


def required_providers_block(m: ServiceModel) -> str:
    lines = []
    for name, (source, version) in providers(m).items():
        lines.append(f"    {name} = {{\n      source  = {hcl(source)}\n      version = {hcl(version)}\n    }}\n")
    return "  required_providers {\n" + "".join(lines) + "  }\n"
