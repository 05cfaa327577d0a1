"""What must exist outside the repository before the first deploy: the README's
"Before the first deploy" section. Every secret and variable that a generated
workflow reads is listed (derived from the workflows themselves, so a new
``secrets.X`` cannot go undocumented), each with the command that creates it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model.service import ServiceModel

SECRET_REF = re.compile(r"\$\{\{[^}]*\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
VAR_REF = re.compile(r"\$\{\{[^}]*\bvars\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Item:
    name: str
    kind: str  # secret | variable | environment | external
    how: str


def workflow_references(m: ServiceModel) -> tuple[set[str], set[str]]:
    """(secrets, variables) every generated workflow reads."""
    from . import workflows

    text = "".join(workflows.render(m, name) for name in workflows.WORKFLOWS)
    return set(SECRET_REF.findall(text)) - {"GITHUB_TOKEN"}, set(VAR_REF.findall(text))


def _secret_how(m: ServiceModel, name: str) -> str:
    envs = " ".join(e.name for e in m.environments)
    return {
        "KUBECONFIG": ("kubeconfig of each environment's cluster for the Kubernetes user "
                       f"`{m.name}-cd-reader` and no other, as an environment secret: "
                       f"`for env in {envs}; do gh secret set KUBECONFIG --env $env < kubeconfig-$env; done`. "
                       "CD never applies manifests (deploys go through the GitOps deploy branches): that user is "
                       "bound only to the read-only Roles `k8s/base/rbac.yaml` (the rollout, per namespace) and "
                       "`gitops/cd-reader.yaml` (this service's Applications/Kustomizations) grant; never an admin "
                       "or cluster-wide kubeconfig, and prefer a short-lived token"),
        "REGISTRY_USERNAME": "`gh secret set REGISTRY_USERNAME --env registry`: the push user",
        "REGISTRY_PASSWORD": "`gh secret set REGISTRY_PASSWORD --env registry`: the push credential, only the "
                             "publish and sign jobs (environment `registry`) read it",
        "REGISTRY_READ_USERNAME": "`gh secret set REGISTRY_READ_USERNAME --env registry-read` (and per deploy "
                                  "environment): a pull-only registry user for the scan job and cd.yml's deploys",
        "REGISTRY_READ_PASSWORD": "`gh secret set REGISTRY_READ_PASSWORD --env registry-read` (and per deploy "
                                  "environment): that pull-only user's token; never the push credential",
        "BLUEPRINT_UPDATE_TOKEN": ("a GitHub App installation token or fine-grained token with contents, "
                                   "pull-requests and workflows write: `GITHUB_TOKEN` cannot push changes under "
                                   "`.github/workflows`, and pull requests it opens start no CI. "
                                   "`gh secret set BLUEPRINT_UPDATE_TOKEN --env blueprint-update`"),
        "BLUEPRINT_TEMPLATE_TOKEN": ("only for a private template repository: a fine-grained token with contents "
                                     "read on it, `gh secret set BLUEPRINT_TEMPLATE_TOKEN --env blueprint-update` "
                                     "(a public template needs none)"),
    }.get(name, f"`gh secret set {name}`")


def _var_how(name: str) -> str:
    from . import workflows

    if name == workflows.PROVENANCE_VAR:
        return ("GitHub artifact attestations need a public repository or GitHub Enterprise Cloud; on any other "
                f"plan run `gh variable set {name} --body false` (cosign signature and attestations still gate "
                "the deploy)")
    return f"`gh variable set {name} --body <value>`"


def items(m: ServiceModel) -> list[Item]:
    from . import gitops, k8s, terraform, workflows

    repo = m.github_repo
    out: list[Item] = []
    secrets, variables = workflow_references(m)
    for name in sorted(secrets):
        out.append(Item(name, "secret", _secret_how(m, name)))
    for name in sorted(variables):
        out.append(Item(name, "variable", _var_how(name)))
    for env in m.environments:
        if env.production:
            how = (f"`gh api -X PUT repos/{repo}/environments/{env.name} --input reviewers.json` with "
                   '`{"reviewers": [{"type": "Team", "id": <team id>}], "prevent_self_review": true}`: '
                   "CD's verify job refuses to run without required reviewers")
        else:
            how = f"`gh api -X PUT repos/{repo}/environments/{env.name}`"
        out.append(Item(env.name, "environment", how))
    if not workflows.uses_ghcr(m):
        out.append(Item("registry", "environment", f"`gh api -X PUT repos/{repo}/environments/registry`"))
        out.append(Item(workflows.READ_ENVIRONMENT, "environment",
                        f"`gh api -X PUT repos/{repo}/environments/{workflows.READ_ENVIRONMENT}`: the scan job's "
                        "pull-only registry credential"))
    out.append(Item("blueprint-update", "environment", f"`gh api -X PUT repos/{repo}/environments/blueprint-update`"))
    branches = ", ".join(gitops.deploy_branch(e) for e in m.environments)
    out.append(Item(gitops.deploy_branch_pattern(), "external",
                    f"deploy branches ({branches}): CD creates them on the first deploy and alone pushes them; "
                    f"protect `main` with required reviews, and give `{gitops.deploy_branch_pattern()}` a ruleset "
                    "that blocks deletion (CD force-pushes them to roll back)"))
    controller = "Argo CD and Argo Rollouts" if m.gitops == "argocd" else "Flux"
    if m.canary and m.gitops == "flux":
        controller += " and Argo Rollouts"
    from . import canary

    if canary.traffic_routed(m):
        out.append(Item(canary.GATEWAY_PLUGIN, "external",
                        "the Argo Rollouts Gateway API plugin registered in the `argo-rollouts-config` ConfigMap "
                        "(`trafficRouterPlugins`) and allowed to patch HTTPRoutes "
                        "(https://rollouts-plugin-trafficrouter-gatewayapi.readthedocs.io/); canary weights are then "
                        "shares of requests, not of pods"))
    out.append(Item("cluster", "external",
                    f"a cluster per environment with {controller}, external-secrets, the Prometheus operator and "
                    "cert-manager installed; then `kubectl apply -k gitops/` (each environment syncs once CD has "
                    "created its deploy branch)"))
    store = k8s.secret_store(m)
    keys = ", ".join(f"`{k8s.secret_key(m, e)}`" for e in m.environments)
    if k8s.needs_pull_secret(m):
        keys += (f" and `{k8s.pull_secret_key(m)}` (a dockerconfigjson that can pull {m.image}: the pods' "
                 f"imagePullSecret `{k8s.pull_secret_name(m)}`)")
    if k8s.secret_store_kind(m) == "SecretStore":
        out.append(Item(store, "external",
                        f"the secrets {keys} in {m.cloud}'s secret manager ({STORE_DOCS[m.cloud]}); each "
                        f"environment's namespace gets its own SecretStore `{store}` (k8s/base/externalsecret.yaml, "
                        "account/project/vault patched per overlay) that authenticates as that namespace's "
                        f"ServiceAccount `{m.name}`, so grant each environment's identity read access to its own "
                        "secrets only: another team's namespace cannot use this store or identity"))
    else:
        out.append(Item(store, "external",
                        f"ClusterSecretStore `{store}` ({STORE_DOCS[m.cloud]}), and the secrets {keys} in it "
                        "(cloud `none` has no workload identity: this store is shared, so restrict it to this "
                        "namespace with its `spec.conditions` and scope its Vault policy to these keys)"))
    if m.cloud != "none":
        kind, attrs = terraform.backend(m, m.production)
        bucket = attrs.get("bucket") or attrs.get("storage_account_name")
        out.append(Item(str(bucket), "external", f"the Terraform state ({kind} backend): {STATE_HOW[m.cloud]}"))
        out.append(Item("identity", "external", IDENTITY_HOW[m.cloud]))
    out.append(Item(f"{m.name}-alertmanager", "external",
                    f"Secret `{m.name}-alertmanager` with keys `pagerduty-routing-key` and `slack-webhook-url` for "
                    "the Alertmanager receivers (observability/alertmanager/alertmanager.yaml)"))
    if m.pagerduty_service_id == "PXXXXXX":  # model.DEFAULTS: the placeholder
        out.append(Item("pagerduty_service_id", "external",
                        "the ID of the PagerDuty service that routing key belongs to, for Backstage's PagerDuty card "
                        "(catalog-info.yaml `pagerduty.com/service-id`; PXXXXXX is a placeholder): "
                        "`scaffold update . -d pagerduty_service_id=P...`"))
    return out


STORE_DOCS = {
    "aws": "https://external-secrets.io/latest/provider/aws-secrets-manager/",
    "gcp": "https://external-secrets.io/latest/provider/google-secrets-manager/",
    "azure": "https://external-secrets.io/latest/provider/azure-key-vault/",
    "none": "https://external-secrets.io/latest/provider/hashicorp-vault/",
}
STATE_HOW = {
    "aws": "`aws s3api create-bucket --bucket <bucket> --create-bucket-configuration LocationConstraint=<region>` "
           "with versioning on",
    "gcp": "`gcloud storage buckets create gs://<bucket> --uniform-bucket-level-access` with versioning on",
    "azure": "`az storage account create -n <account>` and `az storage container create -n tfstate`; the "
             "`azure_subscription_id` answer sets azurerm 4's `subscription_id` (the zero GUID is a placeholder)",
    "none": "",
}
IDENTITY_HOW = {
    "aws": "`terraform apply` in each `terraform/environments/<env>`: the ServiceAccount's "
           "`eks.amazonaws.com/role-arn` names the same role in the `aws_account_id` answer's account "
           "(111122223333 is a placeholder: `copier update --data aws_account_id=...`)",
    "gcp": "`terraform apply` in each `terraform/environments/<env>`: the ServiceAccount's "
           "`iam.gke.io/gcp-service-account` names the same account and project",
    "azure": "`terraform apply` in each `terraform/environments/<env>`, then put `terraform output client_id` into the "
             "ServiceAccount's `azure.workload.identity/client-id` (k8s/overlays/<env>)",
}


def markdown(m: ServiceModel) -> str:
    lines = ["| what | kind | how to create it |", "|---|---|---|"]
    for it in items(m):
        how = it.how.replace("|", "\\|")
        lines.append(f"| `{it.name}` | {it.kind} | {how} |")
    return "\n".join(lines)
