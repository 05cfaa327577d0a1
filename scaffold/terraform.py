"""Terraform policy: which modules a cloud gets, per-environment values and a
safe HCL emitter, so templates never quote a user value.

Ownership: Terraform owns the cloud side only (image registry, workload
identity). Every in-cluster object, the Namespace, its ResourceQuota and
LimitRange included, is owned by GitOps (`k8s/`, sized by scaffold.k8s);
Terraform receives the namespace name (`Environment.namespace`) as a plain value."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from .model import Environment, ServiceModel

# S3 native locking (use_lockfile) is GA from 1.11; `removed` blocks need 1.7.
REQUIRED_VERSION = ">= 1.11"
PROVIDERS: dict[str, tuple[str, str]] = {
    "aws": ("hashicorp/aws", "~> 6.0"),
    "google": ("hashicorp/google", "~> 6.0"),
    "azurerm": ("hashicorp/azurerm", "~> 4.0"),
}
CLOUD_PROVIDER = {"aws": "aws", "gcp": "google", "azure": "azurerm", "none": None}
# The cloud's registry + workload identity pair; `none` has no cloud side.
CLOUD_MODULES = {
    "aws": ("ecr", "irsa"),
    "gcp": ("artifact-registry", "gke-workload-identity"),
    "azure": ("acr", "aks-workload-identity"),
    "none": (),
}
MODULE_SUMMARY = {
    "ecr": "ECR repository: immutable tags, scan on push, KMS-encrypted",
    "irsa": "IAM role for the service account (IRSA)",
    "artifact-registry": "Artifact Registry repository: immutable tags, CMEK-encrypted",
    "gke-workload-identity": "Google service account bound through Workload Identity",
    "acr": "Azure Container Registry (Premium, private, no admin user)",
    "aks-workload-identity": "managed identity with a federated credential for the service account",
}
# What earlier blueprint versions managed and existing states still hold: each
# environment root carries `removed { from = ... lifecycle { destroy = false } }`
# for these, so the next apply forgets the objects instead of destroying them.
# module.namespace (Namespace, ResourceQuota, LimitRange) moved to GitOps ownership.
FORGOTTEN = ("module.namespace",)
STATE_NAMESPACE = "terraform-state"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def modules(m: ServiceModel) -> list[str]:
    return list(CLOUD_MODULES[m.cloud])


def providers(m: ServiceModel) -> dict[str, tuple[str, str]]:
    provider = CLOUD_PROVIDER[m.cloud]
    return {provider: PROVIDERS[provider]} if provider else {}


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
def cloud_values(m: ServiceModel, env: Environment) -> dict[str, Any]:
    """Where the cluster lives. These are starting values the owner edits:
    they name the cluster per environment after the service's team."""
    cluster = f"{m.team}-{env.name}"
    if m.cloud == "aws":
        return {"aws_region": m.cloud_region, "cluster_name": cluster}
    if m.cloud == "gcp":
        return {"project_id": f"{m.team}-{env.name}", "region": m.cloud_region}
    if m.cloud == "azure":
        return {"location": m.cloud_region, "resource_group_name": f"rg-{m.team}-{env.name}",
                "cluster_name": cluster}
    return {}


def kube_context(m: ServiceModel, env: Environment) -> str:
    """kubeconfig context of an environment's cluster (the `none` state backend reads it)."""
    return f"{m.team}-{env.name}"


def tfvars(m: ServiceModel, env: Environment) -> dict[str, Any]:
    # The namespace GitOps creates for this environment; the identity binds to it.
    values: dict[str, Any] = {"namespace": env.namespace}
    if m.cloud != "none":
        values = {"service_name": m.name, "environment": env.name, **values, **cloud_values(m, env)}
        values["service_account"] = m.name
        values["identity_name"] = identity_name(m, env)
        # One registry (promotion is by digest), and only when CI pushes to this cloud's registry.
        values["create_registry"] = env.production and pushes_to_cloud_registry(m)
        values["registry_name"] = registry_name(m)
    if m.cloud == "azure":
        values["replica_location"] = "northeurope"
        values["subscription_id"] = m.azure_subscription_id  # azurerm 4 refuses to plan without it
    return values


# name -> (type, description); the root variables.tf is rendered from this table.
ROOT_VARIABLES: dict[str, tuple[str, str]] = {
    "service_name": ("string", "Service name; names the registry and identities."),
    "environment": ("string", "Environment this root module manages."),
    "namespace": ("string", "Kubernetes namespace of the service in this environment (created by GitOps, not here)."),
    "service_account": ("string", "Kubernetes service account the workload runs as."),
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
    "subscription_id": ("string", "Azure subscription of the cluster, registry and identity (azurerm 4 requires it)."),
}
def root_variables(m: ServiceModel) -> list[dict[str, Any]]:
    """Variables of an environment root: exactly the tfvars keys."""
    out = []
    for name in tfvars(m, m.environments[0]):
        typ, desc = ROOT_VARIABLES[name]
        out.append({"name": name, "type": typ, "description": hcl(desc)})
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
        return "s3", {"bucket": m.state_bucket, "key": f"{key}/terraform.tfstate",
                      "region": m.cloud_region, "encrypt": True, "use_lockfile": True}
    if m.cloud == "gcp":
        return "gcs", {"bucket": m.state_bucket, "prefix": key}
    if m.cloud == "azure":
        return "azurerm", {"resource_group_name": f"rg-{m.team}-tfstate",
                           "storage_account_name": m.state_bucket,
                           "container_name": "tfstate", "key": f"{key}.tfstate",
                           "use_azuread_auth": True}
    return "kubernetes", {"secret_suffix": f"{m.name}-{env.name}", "namespace": STATE_NAMESPACE,
                          "config_path": "~/.kube/config", "config_context": kube_context(m, env)}


def storage_account(team: str) -> str:
    """Azure storage account names: 3-24 lowercase letters and digits."""
    return (re.sub(r"[^a-z0-9]", "", team) + "tfstate")[:24]


CLOUD_REGISTRY_HOST = {
    "aws": re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$"),
    "gcp": re.compile(r"^[a-z0-9-]+-docker\.pkg\.dev$"),
    "azure": re.compile(r"^[a-z0-9]+\.azurecr\.io$"),
}


def pushes_to_cloud_registry(m: ServiceModel) -> bool:
    """The registry is chosen once, by `image_registry`: Terraform creates the cloud's
    registry only when that is where CI pushes (ghcr.io needs none)."""
    pattern = CLOUD_REGISTRY_HOST.get(m.cloud)
    return bool(pattern and pattern.match(m.image_registry.split("/", 1)[0]))


AZURE_CLIENT_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"  # `terraform output client_id`


def identity_binding(m: ServiceModel, env: Environment) -> dict[str, str]:
    """The ServiceAccount annotation that binds the workload to the identity this
    environment's Terraform root creates (same identity_name, same project)."""
    ident = identity_name(m, env)
    if m.cloud == "aws":
        return {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{m.aws_account_id}:role/{ident}"}
    if m.cloud == "gcp":
        project = cloud_values(m, env)["project_id"]
        return {"iam.gke.io/gcp-service-account": f"{ident}@{project}.iam.gserviceaccount.com"}
    if m.cloud == "azure":
        return {"azure.workload.identity/client-id": AZURE_CLIENT_ID_PLACEHOLDER}
    return {}


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
    """required_providers, or nothing when the root uses no provider (cloud: none)."""
    if not providers(m):
        return ""
    lines = []
    for name, (source, version) in providers(m).items():
        lines.append(f"    {name} = {{\n      source  = {hcl(source)}\n      version = {hcl(version)}\n    }}\n")
    return "  required_providers {\n" + "".join(lines) + "  }\n"


def removed_blocks() -> str:
    """`removed` blocks that make existing states forget, never destroy, what moved out
    of Terraform (FORGOTTEN). A no-op for a state that never held them."""
    return "".join(f"removed {{\n  from = {addr}\n\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
                   for addr in FORGOTTEN)
