"""GitOps policy: one Argo CD Application or Flux Kustomization per environment,
each syncing k8s/overlays/<env> into the environment's namespace.

k8s/base declares the Namespace itself (PSS labels, quota, limits), so the
controllers never create one implicitly (CreateNamespace=false) and the Argo CD
project allows exactly that one cluster-scoped kind, by name. Flux applies each
overlay as a per-environment ServiceAccount bound to a namespaced Role.
"""

from __future__ import annotations

from typing import Any

from ..model.service import Environment, ServiceModel

Obj = dict[str, Any]

ARGOCD_NAMESPACE = "argocd"
FLUX_NAMESPACE = "flux-system"
IN_CLUSTER = "https://kubernetes.default.svc"
BRANCH = "main"
# Argo CD retry: 5 attempts, 10s doubling up to 3m.
RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
SYNC_OPTIONS = ("CreateNamespace=false", "ServerSideApply=true", "PruneLast=true",
                "PrunePropagationPolicy=foreground", "ApplyOutOfSyncOnly=true")
# Flux: reconcile every 5m, give a Deployment rollout 10m; a canary gets its whole
# plan (scaffold.canary.plan_seconds) and a health check on the Rollout's phase.
FLUX_INTERVAL = "5m"
FLUX_RETRY_INTERVAL = "1m"
FLUX_TIMEOUT = "10m"
SOURCE_INTERVAL = "1m"
ROLLOUT_HEALTH = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                  "current": "status.phase == 'Healthy'",
                  "inProgress": "status.phase in ['Progressing', 'Paused']",
                  "failed": "status.phase == 'Degraded'"}


def repo_url(m: ServiceModel) -> str:
    return f"https://github.com/{m.github_repo}.git"


def overlay_path(env: Environment) -> str:
    return f"k8s/overlays/{env.name}"


def controller_namespace(m: ServiceModel) -> str:
    """Where the GitOps controller's objects (Applications or Kustomizations) live."""
    return ARGOCD_NAMESPACE if m.gitops == "argocd" else FLUX_NAMESPACE


def app_name(m: ServiceModel, env: Environment) -> str:
    return f"{m.name}-{env.name}"


DEPLOY_BRANCH_PREFIX = "deploy/"


def deploy_branch(env: Environment) -> str:
    """The branch an environment's controller follows. CD alone writes it: the commit
    CI built plus the digest pin; main stays protected and is never pushed by CD."""
    return f"{DEPLOY_BRANCH_PREFIX}{env.name}"


def deploy_branch_pattern() -> str:
    return DEPLOY_BRANCH_PREFIX + "*"


def source_name(m: ServiceModel, env: Environment) -> str:
    """Flux: one GitRepository per environment, as each follows its own deploy branch."""
    return app_name(m, env)


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


def ignore_differences(m: ServiceModel) -> list[Obj]:
    """Argo Rollouts' Gateway API plugin owns the HTTPRoute's backend weights during a canary."""
    from . import canary

    if not canary.traffic_routed(m):
        return []
    return [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": m.name,
             "jsonPointers": ["/spec/rules/0/backendRefs"]}]


def application(m: ServiceModel, env: Environment) -> Obj:
    app = _application(m, env)
    if ignored := ignore_differences(m):
        app["spec"]["ignoreDifferences"] = ignored
        app["spec"]["syncPolicy"]["syncOptions"].append("RespectIgnoreDifferences=true")
    return app


def _application(m: ServiceModel, env: Environment) -> Obj:
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
            "source": {"repoURL": repo_url(m), "targetRevision": deploy_branch(env), "path": overlay_path(env)},
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
def git_repository(m: ServiceModel, env: Environment | None = None) -> Obj:
    env = env or m.production
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": source_name(m, env), "namespace": FLUX_NAMESPACE, "labels": _labels(m, env)},
        "spec": {
            "interval": SOURCE_INTERVAL,
            "url": repo_url(m),
            "ref": {"branch": deploy_branch(env)},
            # Only what the Kustomizations read: smaller artifacts, fewer spurious revisions.
            "ignore": "/*\n!/k8s/\n",
        },
    }


def flux_kustomization(m: ServiceModel, env: Environment) -> Obj:
    spec: Obj = {
        "interval": FLUX_INTERVAL,
        "retryInterval": FLUX_RETRY_INTERVAL,
        "timeout": FLUX_TIMEOUT,
        "sourceRef": {"kind": "GitRepository", "name": source_name(m, env)},
        "path": f"./{overlay_path(env)}",
        "prune": True,
        "wait": True,
        "targetNamespace": env.namespace,
        # Impersonated: a namespaced Role, not kustomize-controller's cluster-wide identity.
        "serviceAccountName": deployer_name(m, env),
    }
    if m.canary:
        from . import canary

        # Flux's health follows the Rollout through the whole canary plan (CEL on its phase)
        # instead of calling it failed after FLUX_TIMEOUT while the plan is still running.
        spec["healthCheckExprs"] = [ROLLOUT_HEALTH]
        spec["timeout"] = f"{-(-canary.plan_seconds(m) // 60)}m"
    # No dependsOn on the previous environment: CD orders promotion (deploy jobs `needs`),
    # and a broken dev must never freeze prod's reconciles, a revert during an incident included.
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
    "external-secrets.io": ("externalsecrets", "secretstores"),
    "gateway.networking.k8s.io": ("httproutes",),
    "monitoring.coreos.com": ("podmonitors", "probes", "prometheusrules", "servicemonitors"),
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


# -- resilience/ (Velero schedules, Chaos Mesh experiments, Kyverno policies) ---------
RESILIENCE_PATH = "resilience"
VELERO_NAMESPACE = "velero"


def resilience_name(m: ServiceModel) -> str:
    return f"{m.name}-resilience"


def resilience_application(m: ServiceModel) -> Obj:
    """resilience/ follows main (reviewed like code): no image, nothing to promote."""
    app = _application(m, m.production)
    app["metadata"]["name"] = resilience_name(m)
    app["metadata"]["labels"] = _labels(m)
    app["spec"]["project"] = resilience_name(m)
    app["spec"]["source"] = {"repoURL": repo_url(m), "targetRevision": BRANCH, "path": RESILIENCE_PATH,
                             "directory": {"include": "*.yaml"}}
    app["spec"]["destination"] = {"server": IN_CLUSTER}
    return app


def resilience_project(m: ServiceModel) -> Obj:
    """Its own project: Kyverno ClusterPolicies are cluster-scoped, the service's project stays fenced."""
    namespaces = [VELERO_NAMESPACE, *(env.namespace for env in m.environments)]
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": resilience_name(m), "namespace": ARGOCD_NAMESPACE, "labels": _labels(m)},
        "spec": {"description": f"{m.name}: backups, chaos experiments and admission policies",
                 "sourceRepos": [repo_url(m)],
                 "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in namespaces],
                 "clusterResourceWhitelist": [{"group": "kyverno.io", "kind": "ClusterPolicy"}],
                 "orphanedResources": {"warn": True}},
    }


def resilience_flux(m: ServiceModel) -> list[Obj]:
    src = git_repository(m, m.production)
    src["metadata"]["name"] = resilience_name(m)
    src["metadata"]["labels"] = _labels(m)
    src["spec"]["ref"] = {"branch": BRANCH}
    src["spec"]["ignore"] = f"/*\n!/{RESILIENCE_PATH}/\n{RESILIENCE_PATH}/*.md\n"
    ks = flux_kustomization(m, m.production)
    ks["metadata"]["name"] = resilience_name(m)
    ks["metadata"]["labels"] = _labels(m)
    ks["spec"]["sourceRef"] = {"kind": "GitRepository", "name": resilience_name(m)}
    ks["spec"]["path"] = f"./{RESILIENCE_PATH}"
    ks["spec"].pop("targetNamespace", None)
    # Not the production deployer: its Role is fenced to the service's namespace, and
    # resilience/ holds Velero Schedules (velero) and Kyverno ClusterPolicies. It applies
    # with the controller's identity, from main only (reviewed like code).
    ks["spec"].pop("serviceAccountName", None)
    return [src, ks]


# -- files ----------------------------------------------------------------------
def files(m: ServiceModel) -> dict[str, list[Obj]]:
    """gitops/<file> -> objects. A kustomization.yaml lists them (app-of-apps)."""
    out: dict[str, list[Obj]] = {}
    if m.gitops == "argocd":
        out["appproject.yaml"] = [app_project(m)]
        for env in m.environments:
            out[f"application-{env.name}.yaml"] = [application(m, env)]
        out["resilience.yaml"] = [resilience_project(m), resilience_application(m)]
    else:
        out["gitrepository.yaml"] = [git_repository(m, env) for env in m.environments]
        for env in m.environments:
            out[f"rbac-{env.name}.yaml"] = flux_rbac(m, env)
            out[f"kustomization-{env.name}.yaml"] = [flux_kustomization(m, env)]
        out["resilience.yaml"] = resilience_flux(m)
    out["cd-reader.yaml"] = cd_reader(m)
    return out


def cd_reader(m: ServiceModel) -> list[Obj]:
    """cd.yml's KUBECONFIG user may read (get/watch) only this service's Applications or
    Kustomizations in the controller's namespace; k8s/base/rbac.yaml grants it the
    environment namespace's rollout reads. Nothing cluster-wide, no writes beyond that."""
    from . import k8s

    ns = controller_namespace(m)
    apps = [app_name(m, e) for e in m.environments]
    # read, plus patch for the refresh/reconcile annotation cd.yml sets
    verbs = ["get", "list", "watch", "patch"]
    if m.gitops == "argocd":
        rules = [{"apiGroups": ["argoproj.io"], "resources": ["applications"], "resourceNames": apps, "verbs": verbs}]
    else:
        rules = [{"apiGroups": ["kustomize.toolkit.fluxcd.io"], "resources": ["kustomizations"],
                  "resourceNames": apps, "verbs": verbs},
                 {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["gitrepositories"],
                  "resourceNames": sorted({source_name(m, e) for e in m.environments}), "verbs": ["get", "patch"]}]
    name, rbac = k8s.cd_reader_name(m), "rbac.authorization.k8s.io/v1"
    meta = {"name": name, "namespace": ns, "labels": dict(m.labels)}
    return [
        {"apiVersion": rbac, "kind": "Role", "metadata": meta, "rules": rules},
        {"apiVersion": rbac, "kind": "RoleBinding", "metadata": dict(meta),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [k8s.cd_reader_subject(m)]},
    ]


def kustomization(m: ServiceModel) -> Obj:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": list(files(m))}
