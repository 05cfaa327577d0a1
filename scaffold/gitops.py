"""GitOps policy: one Argo CD Application or Flux Kustomization per environment,
each syncing k8s/overlays/<env> into the environment's namespace.

k8s/base declares the Namespace itself (PSS labels, quota, limits), so the
controllers never create one implicitly (CreateNamespace=false) and the Argo CD
project allows exactly that one cluster-scoped kind, by name. Flux applies each
overlay as a per-environment ServiceAccount bound to a namespaced Role.
"""

from __future__ import annotations

from typing import Any

from .model import Environment, ServiceModel

Obj = dict[str, Any]

ARGOCD_NAMESPACE = "argocd"
FLUX_NAMESPACE = "flux-system"
IN_CLUSTER = "https://kubernetes.default.svc"
BRANCH = "main"
# Argo CD retry: 5 attempts, 10s doubling up to 3m.
RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
SYNC_OPTIONS = ("CreateNamespace=false", "ServerSideApply=true", "PruneLast=true",
                "PrunePropagationPolicy=foreground", "ApplyOutOfSyncOnly=true")
# Flux: reconcile every 5m, give a rollout 10m (the canary's pauses are longer,
# so health is judged on the Deployment/Rollout objects being accepted, not promoted).
FLUX_INTERVAL = "5m"
FLUX_RETRY_INTERVAL = "1m"
FLUX_TIMEOUT = "10m"
SOURCE_INTERVAL = "1m"


def repo_url(m: ServiceModel) -> str:
    return f"https://github.com/{m.github_repo}.git"


def overlay_path(env: Environment) -> str:
    return f"k8s/overlays/{env.name}"


def app_name(m: ServiceModel, env: Environment) -> str:
    return f"{m.name}-{env.name}"


def _labels(m: ServiceModel, env: Environment | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": m.name, "app.kubernetes.io/part-of": m.name,
              "scaffold.dev/team": m.team}
    if env is not None:
        labels["scaffold.dev/environment"] = env.name
    return labels


# -- Argo CD --------------------------------------------------------------------
def app_project(m: ServiceModel) -> Obj:
    """The project fences the apps: this repo only, this service's namespaces only."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": m.name, "namespace": ARGOCD_NAMESPACE, "labels": _labels(m)},
        "spec": {
            "description": m.description,
            "sourceRepos": [repo_url(m)],
            "destinations": [{"server": IN_CLUSTER, "namespace": env.namespace} for env in m.environments],
            # The base's Namespace is the only cluster-scoped object synced, and only by
            # name: a repository writer cannot adopt or relabel any other namespace.
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace", "name": env.namespace}
                                         for env in m.environments],
            "orphanedResources": {"warn": True},
        },
    }


def application(m: ServiceModel, env: Environment) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app_name(m, env),
            "namespace": ARGOCD_NAMESPACE,
            "labels": _labels(m, env),
            # Delete the workload with the Application, in dependency order.
            "finalizers": ["resources-finalizer.argocd.argoproj.io/foreground"],
        },
        "spec": {
            "project": m.name,
            "source": {"repoURL": repo_url(m), "targetRevision": BRANCH, "path": overlay_path(env)},
            "destination": {"server": IN_CLUSTER, "namespace": env.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
                "syncOptions": list(SYNC_OPTIONS),
                "retry": RETRY,
            },
            "revisionHistoryLimit": 10,
        },
    }


# -- Flux -----------------------------------------------------------------------
def git_repository(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": m.name, "namespace": FLUX_NAMESPACE, "labels": _labels(m)},
        "spec": {
            "interval": SOURCE_INTERVAL,
            "url": repo_url(m),
            "ref": {"branch": BRANCH},
            # Only what the Kustomizations read: smaller artifacts, fewer spurious revisions.
            "ignore": "/*\n!/k8s/\n",
        },
    }


def flux_kustomization(m: ServiceModel, env: Environment) -> Obj:
    spec: Obj = {
        "interval": FLUX_INTERVAL,
        "retryInterval": FLUX_RETRY_INTERVAL,
        "timeout": FLUX_TIMEOUT,
        "sourceRef": {"kind": "GitRepository", "name": m.name},
        "path": f"./{overlay_path(env)}",
        "prune": True,
        "wait": True,
        "targetNamespace": env.namespace,
        # Impersonated: a namespaced Role, not kustomize-controller's cluster-wide identity.
        "serviceAccountName": deployer_name(m, env),
    }
    if env.previous:
        # Promotion order: an environment reconciles only after the previous one is Ready.
        spec["dependsOn"] = [{"name": f"{m.name}-{env.previous}"}]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(m, env), "namespace": FLUX_NAMESPACE, "labels": _labels(m, env)},
        "spec": spec,
    }


# -- Flux tenancy: each Kustomization applies as its own ServiceAccount ------------
# What k8s/overlays/<env> holds, per API group (every blueprint, delivery and ingress
# choice); the deployer may manage exactly these in its own namespace, nothing else.
DEPLOYER_RESOURCES: dict[str, tuple[str, ...]] = {
    "": ("configmaps", "limitranges", "resourcequotas", "serviceaccounts", "services"),
    "apps": ("deployments",),
    "argoproj.io": ("analysistemplates", "rollouts"),
    "autoscaling": ("horizontalpodautoscalers",),
    "batch": ("cronjobs",),
    "external-secrets.io": ("externalsecrets",),
    "gateway.networking.k8s.io": ("httproutes",),
    "monitoring.coreos.com": ("podmonitors", "prometheusrules", "servicemonitors"),
    "networking.k8s.io": ("ingresses", "networkpolicies"),
    "policy": ("poddisruptionbudgets",),
    "rbac.authorization.k8s.io": ("rolebindings", "roles"),
}
DEPLOYER_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
# The base's own Role grants `get` on its ConfigMap; RBAC lets the deployer create
# that Role only because it holds the permission itself.


def deployer_name(m: ServiceModel, env: Environment) -> str:
    return f"{app_name(m, env)}-deployer"


def flux_rbac(m: ServiceModel, env: Environment) -> list[Obj]:
    """ServiceAccount (in flux-system, beside its Kustomization), a namespaced Role
    over what the overlay holds, and get/patch on its own Namespace only
    (resourceNames): pushing k8s/ can no longer apply anything cluster-wide."""
    name, rbac = deployer_name(m, env), "rbac.authorization.k8s.io/v1"
    labels = _labels(m, env)
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": FLUX_NAMESPACE}]
    return [
        # Bootstrap order: the Role and RoleBinding need the namespace; k8s/base owns its labels.
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": env.namespace, "labels": labels}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
         "metadata": {"name": name, "namespace": FLUX_NAMESPACE, "labels": labels}},
        {"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": env.namespace, "labels": labels},
         "rules": [{"apiGroups": [group], "resources": list(res), "verbs": list(DEPLOYER_VERBS)}
                   for group, res in DEPLOYER_RESOURCES.items()]},
        {"apiVersion": rbac, "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": env.namespace, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}, "subjects": subject},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels},
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [env.namespace],
                    "verbs": ["get", "patch", "update"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": subject},
    ]


# -- files ----------------------------------------------------------------------
def files(m: ServiceModel) -> dict[str, list[Obj]]:
    """gitops/<file> -> objects. A kustomization.yaml lists them (app-of-apps)."""
    out: dict[str, list[Obj]] = {}
    if m.gitops == "argocd":
        out["appproject.yaml"] = [app_project(m)]
        for env in m.environments:
            out[f"application-{env.name}.yaml"] = [application(m, env)]
    else:
        out["gitrepository.yaml"] = [git_repository(m)]
        for env in m.environments:
            out[f"rbac-{env.name}.yaml"] = flux_rbac(m, env)
            out[f"kustomization-{env.name}.yaml"] = [flux_kustomization(m, env)]
    return out


def kustomization(m: ServiceModel) -> Obj:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": list(files(m))}
