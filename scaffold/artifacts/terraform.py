"""Terraform policy: which modules a cloud gets, per-environment values and a
safe HCL emitter, so templates never quote a user value.

Ownership: Terraform owns the cloud side only (image registry, workload
identity). Every in-cluster object, the Namespace, its ResourceQuota and
LimitRange included, is owned by GitOps (`k8s/`, sized by scaffold.k8s);
Terraform receives the namespace name (`Environment.namespace`) as a plain value."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..model.service import Environment, ServiceModel

# S3 native locking (use_lockfile) is GA from 1.11; `removed` blocks need 1.7.
REQUIRED_VERSION = ">= 1.11"
# Environment roots pin a major (what `terraform init` installs for users); modules only
# state the minimum they need, so a root may move to the next major without editing them.
PROVIDERS: dict[str, tuple[str, str]] = {
    "aws": ("hashicorp/aws", "~> 6.0"),
    "google": ("hashicorp/google", "~> 6.0"),
    "azurerm": ("hashicorp/azurerm", "~> 4.0"),
}
# aws: everything the modules use (ECR scanning/encryption blocks, IRSA data sources)
# exists in 5.x; `scaffold validate` runs them against the 5.100 provider of this machine.
MODULE_MIN_VERSIONS: dict[str, str] = {"aws": ">= 5.0", "google": ">= 6.0", "azurerm": ">= 4.0"}
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


def required_providers_block(m: ServiceModel, module: bool = False) -> str:
    """required_providers, or nothing when the root uses no provider (cloud: none).
    A root pins the major; a module (``module=True``) states its minimum version."""
    if not providers(m):
        return ""
    lines = []
    for name, (source, version) in providers(m).items():
        version = MODULE_MIN_VERSIONS[name] if module else version
        lines.append(f"    {name} = {{\n      source  = {hcl(source)}\n      version = {hcl(version)}\n    }}\n")
    return "  required_providers {\n" + "".join(lines) + "  }\n"


# -- generated `terraform test` suites ------------------------------------------
# Each module and each environment root ships tests/<name>.tftest.hcl: a mock provider
# (no credentials, no network), overrides for the data sources the code reads, and runs
# whose assertions are the blueprint's promises. Expected values come from the model.
@dataclass(frozen=True)
class Assert:
    condition: str  # an HCL expression
    error_message: str


@dataclass(frozen=True)
class Run:
    name: str
    asserts: tuple[Assert, ...]
    variables: tuple[tuple[str, Any], ...] = ()
    command: str = "apply"  # mocked: apply computes every attribute without a cloud


@dataclass(frozen=True)
class Override:
    kind: str  # override_data | override_resource
    target: str
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Suite:
    provider: str | None
    overrides: tuple[Override, ...]
    variables: tuple[tuple[str, Any], ...]
    runs: tuple[Run, ...]


EXAMPLE_ACCOUNT = "123456789012"
EKS_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/example/"


def k8s_subject(namespace: str, service_account: str) -> str:
    """The token subject of a Kubernetes service account: what every cloud's trust binds to."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def gke_member(project_id: str, namespace: str, service_account: str) -> str:
    return f"serviceAccount:{project_id}.svc.id.goog[{namespace}/{service_account}]"


def _identity_overrides(m: ServiceModel, prefix: str = "") -> tuple[Override, ...]:
    if m.cloud == "aws":
        host = EKS_ISSUER.removeprefix("https://")
        arn = f"arn:aws:iam::{EXAMPLE_ACCOUNT}:oidc-provider/{host}"
        return (Override("override_data", f"{prefix}data.aws_eks_cluster.this",
                         (("identity", [{"oidc": [{"issuer": EKS_ISSUER}]}]),)),
                Override("override_data", f"{prefix}data.aws_iam_openid_connect_provider.this", (("arn", arn),)))
    if m.cloud == "azure":
        return (Override("override_data", f"{prefix}data.azurerm_kubernetes_cluster.this",
                         (("oidc_issuer_url", AKS_ISSUER),)),)
    return ()


def _trust_asserts(m: ServiceModel, env: Environment, ref: str) -> list[Assert]:
    """The identity is bound to exactly this environment's namespace and ServiceAccount.
    ``ref`` reaches the module's values: "" inside the module, "module.workload_identity." in a root."""
    who = f"{env.namespace}/{m.name}"
    if m.cloud == "aws":
        host = EKS_ISSUER.removeprefix("https://")
        policy = (f"jsondecode({ref}trust_policy)" if ref else "jsondecode(aws_iam_role.this.assume_role_policy)")
        cond = f"{policy}.Statement[0].Condition.StringEquals"
        out = [Assert(f"{cond}[{hcl(host + ':sub')}] == {hcl(k8s_subject(env.namespace, m.name))}",
                      f"the role must trust only the service account {who}"),
               Assert(f"{cond}[{hcl(host + ':aud')}] == \"sts.amazonaws.com\"",
                      "the role must trust only tokens meant for STS")]
        if not ref:
            out += [Assert(f"{policy}.Statement[0].Action == \"sts:AssumeRoleWithWebIdentity\"",
                           "the role must be assumable by web identity only"),
                    Assert("length(aws_iam_role_policy_attachment.this) == 0",
                           "no policy is attached by default (least privilege)")]
        return out
    if m.cloud == "gcp":
        project = cloud_values(m, env)["project_id"]
        member = f"{ref}workload_identity_member" if ref else "google_service_account_iam_member.workload_identity.member"
        out = [Assert(f"{member} == {hcl(gke_member(project, env.namespace, m.name))}",
                      f"the Google service account must be usable by {who} only")]
        if not ref:
            out.append(Assert("google_service_account_iam_member.workload_identity.role == "
                              "\"roles/iam.workloadIdentityUser\"", "the binding grants workload identity only"))
        return out
    if m.cloud == "azure":
        subject = f"{ref}federated_subject" if ref else "azurerm_federated_identity_credential.this.subject"
        out = [Assert(f"{subject} == {hcl(k8s_subject(env.namespace, m.name))}",
                      f"the federated credential must trust only {who}")]
        if not ref:
            out += [Assert(f"azurerm_federated_identity_credential.this.issuer == {hcl(AKS_ISSUER)}",
                           "the credential must trust the cluster's OIDC issuer"),
                    Assert("azurerm_federated_identity_credential.this.audience == tolist([\"api://AzureADTokenExchange\"])",
                           "the credential must accept Entra ID token exchange only")]
        return out
    return []


def _module_suite(m: ServiceModel, name: str) -> Suite:
    env = m.environments[0]
    provider = CLOUD_PROVIDER[m.cloud]
    if name == "ecr":
        return Suite(provider, (
            Override("override_data", "data.aws_caller_identity.current", (("account_id", EXAMPLE_ACCOUNT),)),
            Override("override_data", "data.aws_partition.current", (("partition", "aws"),))),
            (("name", registry_name(m)),), (
            Run("registry_is_immutable_scanned_and_encrypted", (
                Assert("aws_ecr_repository.this.image_tag_mutability == \"IMMUTABLE\"",
                       "tags must be immutable: CD promotes by digest"),
                Assert("one(aws_ecr_repository.this.image_scanning_configuration).scan_on_push == true",
                       "every pushed image must be scanned"),
                Assert("one(aws_ecr_repository.this.encryption_configuration).encryption_type == \"KMS\"",
                       "the repository must be encrypted with KMS"),
                Assert("one(aws_ecr_repository.this.encryption_configuration).kms_key == aws_kms_key.this.arn",
                       "the repository must use its own customer-managed key"),
                Assert("aws_kms_key.this.enable_key_rotation == true", "the key must rotate"))),
            Run("lifecycle_keeps_the_newest_images", (
                Assert("jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countType == "
                       "\"imageCountMoreThan\"", "the lifecycle rule must count images"),
                Assert("jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countNumber == 50",
                       "the lifecycle rule must keep max_image_count images"),
                Assert("jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].action.type == \"expire\"",
                       "older images must expire")), (("max_image_count", 50),))))
    if name == "artifact-registry":
        values = cloud_values(m, env)
        return Suite(provider, (
            Override("override_data", "data.google_project.this", (("number", EXAMPLE_ACCOUNT),)),),
            (("project_id", values["project_id"]), ("location", values["region"]), ("repository_id", m.name)), (
            Run("registry_is_immutable_and_encrypted", (
                Assert("one(google_artifact_registry_repository.this.docker_config).immutable_tags == true",
                       "tags must be immutable: CD promotes by digest"),
                Assert("google_artifact_registry_repository.this.kms_key_name == google_kms_crypto_key.this.id",
                       "the repository must use its own customer-managed key"),
                Assert("google_kms_crypto_key.this.rotation_period == \"7776000s\"", "the key must rotate every 90 days"))),
            Run("cleanup_keeps_the_newest_versions", (
                Assert("one([for p in google_artifact_registry_repository.this.cleanup_policies : "
                       "one(p.most_recent_versions).keep_count if p.action == \"KEEP\"]) == 50",
                       "the cleanup policy must keep keep_count versions"),), (("keep_count", 50),))))
    if name == "acr":
        values = cloud_values(m, env)
        return Suite(provider, (), (
            ("name", registry_name(m)), ("resource_group_name", values["resource_group_name"]),
            ("location", values["location"]), ("replica_location", tfvars(m, env)["replica_location"])), (
            Run("registry_is_private_quarantined_and_trusted", (
                Assert("azurerm_container_registry.this.admin_enabled == false", "no admin user"),
                Assert("azurerm_container_registry.this.anonymous_pull_enabled == false", "no anonymous pull"),
                Assert("azurerm_container_registry.this.public_network_access_enabled == false", "private access only"),
                Assert("azurerm_container_registry.this.quarantine_policy_enabled == true",
                       "images must be quarantined until scanned"),
                Assert("azurerm_container_registry.this.trust_policy_enabled == true", "content trust must be on"))),
            Run("retention_is_honoured", (
                Assert("azurerm_container_registry.this.retention_policy_in_days == 14",
                       "untagged manifests must expire after retention_days"),), (("retention_days", 14),))))
    identity_vars: dict[str, Any] = {"namespace": env.namespace, "service_account": m.name}
    if name == "irsa":
        identity_vars = {"name": identity_name(m, env), "cluster_name": cloud_values(m, env)["cluster_name"],
                         **identity_vars}
    elif name == "gke-workload-identity":
        identity_vars = {"project_id": cloud_values(m, env)["project_id"], "account_id": identity_name(m, env),
                         **identity_vars}
    elif name == "aks-workload-identity":
        values = cloud_values(m, env)
        identity_vars = {"name": identity_name(m, env), "resource_group_name": values["resource_group_name"],
                         "location": values["location"], "cluster_name": values["cluster_name"], **identity_vars}
    else:
        raise KeyError(f"no test suite for module {name}")
    return Suite(provider, _identity_overrides(m), tuple(identity_vars.items()), (
        Run("trust_is_bound_to_the_service_account", tuple(_trust_asserts(m, env, ""))),))


def backend_state_key(m: ServiceModel, env: Environment) -> tuple[str, str]:
    """(attribute, value) that keeps this environment's state apart from the others'."""
    kind, attrs = backend(m, env)
    attr = {"s3": "key", "gcs": "prefix", "azurerm": "key", "kubernetes": "secret_suffix"}[kind]
    return attr, attrs[attr]


def _root_suite(m: ServiceModel, env: Environment) -> Suite:
    attr, value = backend_state_key(m, env)
    # Backend blocks take no expressions, so the test reads versions.tf for the state key.
    pattern = "(?m)^\\s*" + attr + "\\s*=\\s*\"" + re.escape(value) + "\""
    asserts = [
        Assert(f"var.environment == {hcl(env.name)}" if m.cloud != "none" else f"var.namespace == {hcl(env.namespace)}",
               f"this root must manage {env.name}"),
        Assert(f"output.namespace == {hcl(env.namespace)}",
               f"{env.name} binds to the namespace its overlay deploys into"),
        Assert(f"can(regex({hcl(pattern)}, file(\"${{path.module}}/versions.tf\")))",
               f"the state of {env.name} must live under its own {attr} {value}"),
    ]
    if m.cloud != "none":
        owns = env.production and pushes_to_cloud_registry(m)
        asserts.append(Assert(f"length(module.registry) == {1 if owns else 0}",
                              "production creates the registry CI pushes to" if owns
                              else "only production creates a registry, and only the one CI pushes to"
                              if env.production or pushes_to_cloud_registry(m)
                              else "CI pushes to image_registry outside this cloud: no registry here"))
        asserts += _trust_asserts(m, env, "module.workload_identity.")
    return Suite(CLOUD_PROVIDER[m.cloud], _identity_overrides(m, "module.workload_identity."), (),
                     (Run(f"{env.name}_is_wired_to_its_namespace_state_and_identity", tuple(asserts)),))


def suite_for(m: ServiceModel, name: str, env: Environment | None = None) -> Suite:
    if name == "environment":
        assert env is not None, "the environment suite is per environment"
        return _root_suite(m, env)
    return _module_suite(m, name)


def tftest(m: ServiceModel, name: str, env: Environment | None = None) -> str:
    """One tests/*.tftest.hcl file, laid out as `terraform fmt` writes it."""
    suite = suite_for(m, name, env)
    parts = []
    if suite.provider:
        body = "\n".join(_block("  ", o.kind, None, [("target", o.target, True), ("values", dict(o.values), False)])
                         for o in suite.overrides)
        parts.append(f"mock_provider \"{suite.provider}\" {{\n{body}}}\n" if body
                     else f"mock_provider \"{suite.provider}\" {{}}\n")
    if suite.variables:
        parts.append("variables {\n" + _attrs("  ", [(k, v, False) for k, v in suite.variables]) + "}\n")
    for run in suite.runs:
        lines = [_attrs("  ", [("command", run.command, True)])]
        if run.variables:
            lines.append("  variables {\n" + _attrs("    ", [(k, v, False) for k, v in run.variables]) + "  }\n")
        for a in run.asserts:
            lines.append(_block("  ", "assert", None, [("condition", a.condition, True),
                                                       ("error_message", a.error_message, False)]))
        parts.append(f"run \"{run.name}\" {{\n" + "\n".join(lines) + "}\n")
    return "\n".join(parts)


def _attrs(pad: str, items: list[tuple[str, Any, bool]]) -> str:
    """Aligned ``name = value`` lines; raw=True writes the value as an expression."""
    width = max(len(k) for k, _, _ in items)
    out = []
    for k, v, raw in items:
        text = v if raw else hcl(v, len(pad) // 2)
        out.append(f"{pad}{k.ljust(width)} = {text}\n")
    return "".join(out)


def _block(pad: str, kind: str, label: str | None, items: list[tuple[str, Any, bool]]) -> str:
    head = f"{pad}{kind}" + (f" \"{label}\"" if label else "") + " {\n"
    return head + _attrs(pad + "  ", items) + f"{pad}}}\n"
