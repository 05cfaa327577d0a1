"""Kubernetes layout policy: which objects a package's base holds, and how
each core object looks. Objects are plain dicts; templates only emit them.

Which files k8s/base holds, and which builder makes each, is the table
``scaffold.artifacts.manifests.BASE``; :func:`base_resources` reads it.
"""

from __future__ import annotations

import math
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from .. import yamlio
from ..answers import quantities
from ..conventions import CONTAINER, METRICS_PORT_NAME, PORT_NAME, metrics_port_name  # noqa: F401 (k8s.* names)
from ..model.service import RUN_AS_GID, RUN_AS_UID, Environment, ServiceModel
from . import dashboards, manifests, prometheus
from .kube import DNS_NAMESPACE, MONITORING_NAMESPACE, PRIVATE_RANGES, configmap_name, env_hostname  # noqa: F401 (k8s.* names)
from .kube import from_namespace as _from_namespace
from .kube import patch as _patch
from .kube import quantity as _q

Obj = dict[str, Any]

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
# Where north-south traffic comes from, per `ingress` answer.
GATEWAY = {"name": "public", "namespace": "gateway-system"}
INGRESS_CLASS = "nginx"
INGRESS_NAMESPACE = "ingress-nginx"
TLS_ISSUER = "letsencrypt"
# One ClusterSecretStore per cloud, installed by the platform (external-secrets).
SECRET_STORES = {"aws": "aws-secrets-manager", "gcp": "gcp-secret-manager",
                 "azure": "azure-key-vault", "none": "vault"}
TMP_SIZE = "64Mi"
MAX_SURGE = "25%"
HPA_CPU_UTILIZATION = 70
HPA_MEMORY_UTILIZATION = 80
SCALE_DOWN_WINDOW_SECONDS = 300
# A PDB of maxUnavailable 1 allows one eviction even at one replica: drains never hang.
PDB_MAX_UNAVAILABLE = 1
CRON_STARTING_DEADLINE = 300
CRON_ACTIVE_DEADLINE = 1800
CRON_BACKOFF_LIMIT = 2
CRON_HISTORY = 3
CRON_PODS = 2  # Forbid: one running job pod, plus one finishing during a retry


# -- names -----------------------------------------------------------------
def secret_name(m: ServiceModel) -> str:
    return f"{m.name}-secrets"


def secret_store(m: ServiceModel) -> str:
    """The `secret_store` answer (defaults per cloud: SECRET_STORES)."""
    return m.secret_store or SECRET_STORES[m.cloud]


def secret_store_kind(m: ServiceModel) -> str:
    """A namespaced SecretStore per environment, authenticated as that namespace's own
    workload identity: another team's namespace holds another store and another identity,
    so the key path is not the only isolation. `cloud: none` has no workload identity:
    it keeps the platform's ClusterSecretStore (README says so)."""
    return "ClusterSecretStore" if m.cloud == "none" else "SecretStore"


def secret_store_ref(m: ServiceModel) -> Obj:
    return {"kind": secret_store_kind(m), "name": secret_store(m)}


def key_vault_url(m: ServiceModel, env: Environment) -> str:
    """Azure Key Vault per environment (3-24 characters); a starting value the owner edits."""
    return f"https://{f'kv-{m.team}-{env.name}'[:24].rstrip('-')}.vault.azure.net"


def secret_store_provider(m: ServiceModel, env: Environment) -> Obj:
    """The provider block: the environment's account/project/vault, and the pods' own
    ServiceAccount (the one carrying the identity annotation) as the credential."""
    sa = {"name": m.name}
    if m.cloud == "aws":
        return {"aws": {"service": "SecretsManager", "region": m.cloud_region,
                        "auth": {"jwt": {"serviceAccountRef": sa}}}}
    if m.cloud == "gcp":
        from . import terraform

        return {"gcpsm": {"projectID": terraform.cloud_values(m, env)["project_id"],
                          "auth": {"workloadIdentity": {"serviceAccountRef": sa}}}}
    if m.cloud == "azure":
        return {"azurekv": {"vaultUrl": key_vault_url(m, env), "authType": "WorkloadIdentity",
                            "serviceAccountRef": sa}}
    raise ValueError("cloud none uses the platform's ClusterSecretStore")


def secret_store_obj(m: ServiceModel, env: Environment | None = None) -> Obj:
    return {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": _meta(m, secret_store(m)),
            "spec": {"provider": secret_store_provider(m, env or m.production)}}


def secret_key(m: ServiceModel, env: Environment) -> str:
    """Name of the service's secret in the cloud secret manager, per environment, in
    that provider's own format: GCP secret IDs and Azure Key Vault names take no '/'
    (ESO's Key Vault provider reads 'a/b' as object type 'a')."""
    if m.cloud in ("gcp", "azure"):
        return f"{m.team}-{m.name}-{env.name}"
    return f"{m.team}/{m.name}/{env.name}"


def gateway_namespace(m: ServiceModel) -> str | None:
    if not m.has_route:
        return None
    return GATEWAY["namespace"] if m.ingress == "gateway" else INGRESS_NAMESPACE


def workload_ref(m: ServiceModel) -> Obj:
    """HPA scaleTargetRef / patch target for the pod owner."""
    if m.canary:
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": m.name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name}


def pod_spec_path(m: ServiceModel) -> str:
    """JSON-pointer to the pod spec inside the workload."""
    return "/spec/jobTemplate/spec/template/spec" if m.blueprint == "cronjob" else "/spec/template/spec"


def pss_labels(m: ServiceModel) -> dict[str, str]:
    """Enforce restricted at the version the package targets; audit and warn on latest."""
    out = {}
    for mode in ("enforce", "audit", "warn"):
        out[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        out[f"pod-security.kubernetes.io/{mode}-version"] = f"v{m.k8s_version}" if mode == "enforce" else "latest"
    return out


# -- which files -----------------------------------------------------------
def base_resources(m: ServiceModel) -> list[str]:
    """Files in k8s/base, in kustomization order: the entries of scaffold.manifests.BASE
    this package ships (add a base manifest there, next to its builder)."""
    return manifests.base_files(m)


def base_file(m: ServiceModel, name: str) -> str:
    """The file name when this package ships it, else '' (Copier skips empty names)."""
    return name if name in base_resources(m) else ""


# -- objects ---------------------------------------------------------------
def _meta(m: ServiceModel, name: str | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name or m.name, "namespace": m.name, "labels": dict(m.labels)}
    meta.update(extra)
    return meta


def namespace(m: ServiceModel) -> Obj:
    labels = {**m.labels, **pss_labels(m)}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": m.name, "labels": labels}}


def pod_budget(m: ServiceModel, replicas_max: int) -> int:
    """Pods a namespace may hold at once: max replicas plus rollout headroom."""
    if m.blueprint == "cronjob":
        return CRON_PODS
    if m.canary:
        return 2 * replicas_max  # stable and canary ReplicaSets both full at promotion
    return replicas_max + math.ceil(replicas_max * int(MAX_SURGE.rstrip("%")) / 100)


def quota_hard(m: ServiceModel, resources: Any, replicas_max: int) -> dict[str, str]:
    pods = pod_budget(m, replicas_max)
    spec = resources.as_k8s()
    hard: dict[str, str] = {"pods": str(pods)}
    for kind in ("requests", "limits"):
        for res, value in spec[kind].items():
            total = _q(value) * pods
            total += _q(telemetry_resources(m)[kind][res]) * telemetry_pods()  # the collector's pods
            hard[f"{kind}.{res}"] = quantities.format_cpu(total) if res == "cpu" else quantities.format_memory(total)
    hard["pods"] = str(pods + telemetry_pods())
    hard["services.loadbalancers"] = "0"
    hard["services.nodeports"] = "0"
    return hard


def telemetry_pods() -> int:
    from . import telemetry

    return telemetry.quota_extra_pods()


def telemetry_resources(m: ServiceModel) -> Obj:
    from . import telemetry

    return telemetry.collector_resources(m)


def resource_quota(m: ServiceModel, env: Environment | None = None) -> Obj:
    env = env or m.production
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(m),
            "spec": {"hard": quota_hard(m, env.resources, env.replicas_max)}}


def limit_range_spec(resources: Any) -> Obj:
    spec = resources.as_k8s()
    return {"limits": [{"type": "Container", "default": spec["limits"], "defaultRequest": spec["requests"],
                        "max": spec["limits"]}]}


def limit_range(m: ServiceModel) -> Obj:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(m),
            "spec": limit_range_spec(m.production.resources)}


def identity_binding(m: ServiceModel, env: Environment | None = None) -> dict[str, str]:
    """Workload identity: the annotation naming the identity Terraform creates."""
    from . import terraform

    return terraform.identity_binding(m, env or m.production)


AZURE_WI_LABEL = "azure.workload.identity/use"  # the webhook injects the federated token into these pods


def service_account(m: ServiceModel) -> Obj:
    meta = _meta(m)
    if binding := identity_binding(m):
        meta["annotations"] = binding
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta,
            "automountServiceAccountToken": False}


def role(m: ServiceModel) -> Obj:
    """Read its own ConfigMap, nothing else (only usable with an opted-in token)."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(m),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [configmap_name(m)],
                       "verbs": ["get"]}]}


def role_binding(m: ServiceModel) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(m),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": m.name},
            "subjects": [{"kind": "ServiceAccount", "name": m.name, "namespace": m.name}]}


def cd_reader_name(m: ServiceModel) -> str:
    """The Kubernetes user cd.yml's KUBECONFIG authenticates as (issue 16, defect 10)."""
    return f"{m.name}-cd-reader"


def cd_reader_subject(m: ServiceModel) -> Obj:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": cd_reader_name(m)}


def cd_reader_role(m: ServiceModel) -> Obj:
    """What cd.yml does in the namespace: deploys go through the GitOps deploy branch, so CD
    only reads the rollout's progress (and, canary, sets the Rollout's status.abort)."""
    read = ["get", "list", "watch"]
    rules = [{"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": read}]
    if m.workload_kind == "CronJob":
        rules.append({"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": read})
    if m.canary:
        rules += [{"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "resourceNames": [m.name],
                   "verbs": ["get", "list", "watch"]},
                  {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "resourceNames": [m.name],
                   "verbs": ["patch"]}]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": _meta(m, cd_reader_name(m)), "rules": rules}


def cd_reader_binding(m: ServiceModel) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": _meta(m, cd_reader_name(m)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": cd_reader_name(m)},
            "subjects": [cd_reader_subject(m)]}


def config_data(m: ServiceModel, env: Environment | None = None) -> dict[str, str]:
    """Exactly the variables the app reads (scaffold/model/stacks.py config_env), plus, for a
    traced skeleton, the ``OTEL_*`` variables its OpenTelemetry SDK reads (this
    environment's, production's in the base). Overlays merge their environment's
    ``OTEL_*`` values into the base ConfigMap, never replace its data: a key the team
    adds to the base ConfigMap reaches every overlay build (the ``overlay-keeps-base``
    checker)."""
    from ..model import stacks
    from . import tracing

    data = stacks.config_env(m)
    if tracing.traced(m):
        data.update(tracing.otel_env(m, env or m.production))
    return data


def config_map(m: ServiceModel) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(m, configmap_name(m)),
            "data": config_data(m)}


def external_secret(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": _meta(m),
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": secret_store_ref(m),
            "target": {"name": secret_name(m), "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "dataFrom": [{"extract": {"key": secret_key(m, m.production)}}],
        },
    }


def needs_pull_secret(m: ServiceModel) -> bool:
    """Nodes pull from their cloud's own registry with their own identity; any other
    registry (ghcr.io: packages of a private repository are private) needs a pull secret."""
    from . import terraform

    return not terraform.pushes_to_cloud_registry(m)


def pull_secret_name(m: ServiceModel) -> str:
    return f"{m.name}-registry"


def pull_secret_key(m: ServiceModel) -> str:
    """One registry for every environment: one dockerconfigjson in the store."""
    sep = "-" if m.cloud in ("gcp", "azure") else "/"
    return sep.join((m.team, m.name, "registry"))


def pull_secret(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": _meta(m, pull_secret_name(m)),
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": secret_store_ref(m),
            "target": {"name": pull_secret_name(m), "creationPolicy": "Owner", "deletionPolicy": "Retain",
                       "template": {"type": "kubernetes.io/dockerconfigjson"}},
            "data": [{"secretKey": ".dockerconfigjson", "remoteRef": {"key": pull_secret_key(m)}}],
        },
    }


def _probe(path: str, **timing: int) -> Obj:
    return {"httpGet": {"path": path, "port": PORT_NAME}, **timing}


def container(m: ServiceModel) -> Obj:
    c: Obj = {
        "name": CONTAINER,
        "image": m.image,
        "imagePullPolicy": "Always",
        # Only what the app reads (the app-config checker): the ConfigMap is stacks.config_env.
        "envFrom": [{"configMapRef": {"name": configmap_name(m)}}],
        "resources": m.resources.as_k8s(),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_GID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "secrets", "mountPath": "/var/run/secrets/app", "readOnly": True},
        ],
    }
    if m.blueprint != "cronjob":
        c["ports"] = [{"name": PORT_NAME, "containerPort": m.port, "protocol": "TCP"}]
        if m.metrics_port != m.port:
            c["ports"].append({"name": METRICS_PORT_NAME, "containerPort": m.metrics_port, "protocol": "TCP"})
        c["startupProbe"] = _probe("/healthz", periodSeconds=2, failureThreshold=30, timeoutSeconds=2)
        c["livenessProbe"] = _probe("/healthz", periodSeconds=10, failureThreshold=3, timeoutSeconds=2)
        c["readinessProbe"] = _probe("/readyz", periodSeconds=5, failureThreshold=2, timeoutSeconds=2)
        # The endpoint removal reaches the gateway/kube-proxy after SIGTERM would: hold
        # SIGTERM back (the kubelet's own sleep, no shell needed: Go's image is scratch),
        # then the app drains in-flight requests within terminationGracePeriodSeconds.
        c["lifecycle"] = {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}}
    return c


PRESTOP_SLEEP_SECONDS = 5


def pod_spec(m: ServiceModel) -> Obj:
    spec: Obj = {
        "serviceAccountName": m.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_GID,
            "fsGroup": RUN_AS_GID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container(m)],
        **({"imagePullSecrets": [{"name": pull_secret_name(m)}]} if needs_pull_secret(m) else {}),
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}},
            # optional: pods start before the first secret sync; the app decides what it needs.
            {"name": "secrets", "secret": {"secretName": secret_name(m), "defaultMode": 0o440, "optional": True}},
        ],
        "terminationGracePeriodSeconds": 30,
    }
    if m.blueprint == "cronjob":
        spec["restartPolicy"] = "Never"
    else:
        selector = {"matchLabels": dict(m.selector_labels)}
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                              "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}]
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": selector}}]}}
    return spec


def pod_template(m: ServiceModel) -> Obj:
    """The pod template every workload (Deployment, CronJob, Rollout) embeds."""
    labels = dict(m.labels)
    if m.cloud == "azure":
        labels[AZURE_WI_LABEL] = "true"
    return {"metadata": {"labels": labels}, "spec": pod_spec(m)}


def deployment(m: ServiceModel) -> Obj:
    """No `replicas`: the HPA owns the count (see .checkov.yaml for the kube-score/Polaris call)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(m),
        "spec": {
            "selector": {"matchLabels": dict(m.selector_labels)},
            "revisionHistoryLimit": 5,
            "minReadySeconds": 5,
            "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": 0}},
            "template": pod_template(m),
        },
    }


def cron_job(m: ServiceModel) -> Obj:
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(m),
        "spec": {
            "schedule": m.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": CRON_STARTING_DEADLINE,
            "successfulJobsHistoryLimit": CRON_HISTORY,
            "failedJobsHistoryLimit": CRON_HISTORY,
            "jobTemplate": {"metadata": {"labels": dict(m.labels)}, "spec": {
                "backoffLimit": CRON_BACKOFF_LIMIT,
                "activeDeadlineSeconds": CRON_ACTIVE_DEADLINE,
                "template": pod_template(m),
            }},
        },
    }


def _traffic_routed(m: ServiceModel) -> bool:
    from . import canary

    return canary.traffic_routed(m)


def services(m: ServiceModel) -> list[Obj]:
    """The Service; with Gateway API canary routing also the canary Service Argo Rollouts
    points at the new ReplicaSet (it adds the pod-template-hash selector to both)."""
    out = [service(m)]
    if _traffic_routed(m):
        from . import canary

        canary_svc = service(m)
        canary_svc["metadata"] = _meta(m, canary.canary_service_name(m))
        out.append(canary_svc)
    return out


def service(m: ServiceModel) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(m),
            "spec": {"type": "ClusterIP", "selector": dict(m.selector_labels),
                     "ports": [{"name": PORT_NAME, "port": m.port, "targetPort": PORT_NAME, "protocol": "TCP",
                                "appProtocol": "http"}]
                     + ([{"name": METRICS_PORT_NAME, "port": m.metrics_port, "targetPort": METRICS_PORT_NAME,
                          "protocol": "TCP", "appProtocol": "http"}] if m.metrics_port != m.port else [])}}


def hpa_bounds(env: Environment) -> tuple[int, int]:
    return env.replicas_min, env.replicas_max


def hpa(m: ServiceModel) -> Obj:
    lo, hi = hpa_bounds(m.production)

    def util(name: str, pct: int) -> Obj:
        return {"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization",
                                                                          "averageUtilization": pct}}}

    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(m),
        "spec": {
            "scaleTargetRef": workload_ref(m),
            "minReplicas": lo,
            "maxReplicas": hi,
            "metrics": [util("cpu", HPA_CPU_UTILIZATION), util("memory", HPA_MEMORY_UTILIZATION)],
            "behavior": {
                "scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS, "selectPolicy": "Min",
                              "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30},
                                         {"type": "Pods", "value": 4, "periodSeconds": 30}]},
            },
        },
    }


def pdb(m: ServiceModel) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(m),
            "spec": {"maxUnavailable": PDB_MAX_UNAVAILABLE, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                     "selector": {"matchLabels": dict(m.selector_labels)}}}


def network_policies(m: ServiceModel) -> list[Obj]:
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(m, "default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    port = [{"protocol": "TCP", "port": m.port}]
    ingress = []
    if gw := gateway_namespace(m):
        ingress.append({"from": [_from_namespace(gw)], "ports": port})
    if m.blueprint != "cronjob":
        ingress.append({"from": [_from_namespace(MONITORING_NAMESPACE)],
                        "ports": [{"protocol": "TCP", "port": m.metrics_port}]})
    dns = {"to": [{**_from_namespace(DNS_NAMESPACE), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    allow_spec: Obj = {"podSelector": {"matchLabels": dict(m.selector_labels)},
                       "policyTypes": ["Ingress", "Egress"] if ingress else ["Egress"]}
    if ingress:
        allow_spec["ingress"] = ingress
    from . import telemetry, verify

    ingress += verify.probe_ingress(m)  # the blackbox exporter probes a Service with no route in-cluster
    if ingress:
        allow_spec["policyTypes"] = ["Ingress", "Egress"]
        allow_spec["ingress"] = ingress
    allow_spec["egress"] = [dns, *identity_egress(m), *telemetry.app_egress(m)]
    allow = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(m),
             "spec": allow_spec}
    out = [deny, allow]
    if m.has_route and m.ingress == "ingress":
        # cert-manager's HTTP-01 solver pod runs in this namespace: default-deny would
        # keep the ingress controller from reaching it, and the certificate never issues.
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": _meta(m, f"{m.name}-acme-solver"),
                    "spec": {"podSelector": {"matchLabels": dict(CERT_MANAGER_SOLVER)}, "policyTypes": ["Ingress"],
                             "ingress": [{"from": [_from_namespace(INGRESS_NAMESPACE)],
                                          "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}]}]}})
    return out


ACME_SOLVER_PORT = 8089


# Workload identity needs the cloud's token endpoints: STS (AWS), the GKE metadata
# server (169.254.169.254:80, 988 on Dataplane V2 nodes) and Entra ID (AAD) over 443.
# NetworkPolicy cannot name hosts, so 443 is open to public addresses only.
METADATA_IP = "169.254.169.254/32"


def identity_egress(m: ServiceModel) -> list[Obj]:
    if m.cloud == "none":
        return []
    rules = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
              "ports": [{"protocol": "TCP", "port": 443}]}]
    if m.cloud == "gcp":
        rules.append({"to": [{"ipBlock": {"cidr": METADATA_IP}}],
                      "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 988}]})
    return rules


CERT_MANAGER_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}


# Flux re-applies what it owns on every reconcile and would reset the canary weights
# Argo Rollouts sets: it creates the HTTPRoute and then leaves it alone (Argo CD instead
# ignores the weights, scaffold.gitops). A hostname change then needs a manual apply.
FLUX_CREATE_ONLY = {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}


def http_route(m: ServiceModel) -> Obj:
    meta = _meta(m)
    if _traffic_routed(m) and m.gitops == "flux":
        meta["annotations"] = dict(FLUX_CREATE_ONLY)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta,
        "spec": {
            "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", **GATEWAY}],
            "hostnames": [m.hostname],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "backendRefs": route_backends(m)}],
        },
    }


def route_backends(m: ServiceModel) -> list[Obj]:
    """Stable takes everything; during a canary Argo Rollouts moves the weights."""
    if not _traffic_routed(m):
        return [{"name": m.name, "port": m.port}]
    from . import canary

    return [{"name": m.name, "port": m.port, "weight": 100},
            {"name": canary.canary_service_name(m), "port": m.port, "weight": 0}]


def ingress(m: ServiceModel) -> Obj:
    meta = _meta(m, annotations={"cert-manager.io/cluster-issuer": TLS_ISSUER})
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
        "spec": {
            "ingressClassName": INGRESS_CLASS,
            "tls": [{"hosts": [m.hostname], "secretName": f"{m.name}-tls"}],
            "rules": [{"host": m.hostname, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": m.name, "port": {"name": PORT_NAME}}}}]}}],
        },
    }


def namespace_objects(m: ServiceModel) -> list[Obj]:
    return [namespace(m), resource_quota(m), limit_range(m)]


def rbac_objects(m: ServiceModel) -> list[Obj]:
    return [role(m), role_binding(m), cd_reader_role(m), cd_reader_binding(m)]


def external_secret_objects(m: ServiceModel) -> list[Obj]:
    return [*([secret_store_obj(m)] if secret_store_kind(m) == "SecretStore" else []),
            external_secret(m), *([pull_secret(m)] if needs_pull_secret(m) else [])]


def kustomization(m: ServiceModel) -> Obj:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": base_resources(m)}


# -- overlays --------------------------------------------------------------
def _merge_patch(target: Obj, head: Obj, body: Obj) -> Obj:
    """A strategic-merge patch (a JSON merge patch for custom resources): ``body``'s values
    are merged into the target, everything else in the base is kept."""
    return {"target": target, "patch": LiteralScalarString(yamlio.dump({**head, **body}))}


def _nest(path: str, value: Obj) -> Obj:
    """``/spec/template/spec`` and a value -> {"spec": {"template": {"spec": value}}}."""
    for part in reversed([p for p in path.split("/") if p]):
        value = {part: value}
    return value


def overlay_patches(m: ServiceModel, env: Environment) -> list[Obj]:
    files = set(base_resources(m))
    pods = pod_spec_path(m)
    # The pod template lives in the Deployment even when a Rollout (workloadRef) runs the pods.
    target = {"kind": m.workload_kind, "name": m.name}
    # Every patch sets the environment's own values and merges them into the base
    # (strategic merge, or JSON patch ops on single leaves): never a whole map replaced,
    # so a key the team adds in k8s/base stays in every overlay (issue 22).
    workload = {"apiVersion": "batch/v1" if m.workload_kind == "CronJob" else "apps/v1", "kind": m.workload_kind,
                "metadata": {"name": m.name}}
    patches = [
        _merge_patch(target, workload, _nest(pods, {"containers": [{"name": CONTAINER,
                                                                     "resources": env.resources.as_k8s()}]})),
        _merge_patch({"kind": "ResourceQuota", "name": m.name},
                     {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": m.name}},
                     {"spec": {"hard": quota_hard(m, env.resources, env.replicas_max)}}),
        # limits is a list (no merge key): set each value of its one item, leaf by leaf.
        _patch({"kind": "LimitRange", "name": m.name},
               [{"op": "add", "path": f"/spec/limits/0/{section}/{key}", "value": value}
                for section, values in limit_range_spec(env.resources)["limits"][0].items() if section != "type"
                for key, value in values.items()]),
        _patch({"kind": "ExternalSecret", "name": m.name},
               [{"op": "replace", "path": "/spec/dataFrom/0/extract/key", "value": secret_key(m, env)}]),
    ]
    from . import tracing

    if tracing.traced(m):  # this environment's sampler ratio and resource attributes, merged into the base
        patches.append(_merge_patch({"kind": "ConfigMap", "name": configmap_name(m)},
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": configmap_name(m)}},
                                    {"data": tracing.otel_env(m, env)}))
    if secret_store_kind(m) == "SecretStore":  # this environment's account/project/vault
        patches.append(_merge_patch({"kind": "SecretStore", "name": secret_store(m)},
                                    {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                                     "metadata": {"name": secret_store(m)}},
                                    {"spec": {"provider": secret_store_provider(m, env)}}))
    if _traffic_routed(m):
        from . import canary

        plugin = canary.GATEWAY_PLUGIN.replace("~", "~0").replace("/", "~1")
        patches.append(_patch({"kind": "Rollout", "name": m.name}, [
            {"op": "replace", "path": f"/spec/strategy/canary/trafficRouting/plugins/{plugin}/namespace",
             "value": env.namespace}]))
    if binding := identity_binding(m, env):
        patches.append(_merge_patch({"kind": "ServiceAccount", "name": m.name},
                                    {"apiVersion": "v1", "kind": "ServiceAccount",
                                     "metadata": {"name": m.name, "annotations": dict(binding)}}, {}))
    if "hpa.yaml" in files:
        lo, hi = hpa_bounds(env)
        patches.append(_patch({"kind": "HorizontalPodAutoscaler", "name": m.name},
                              [{"op": "replace", "path": "/spec/minReplicas", "value": lo},
                               {"op": "replace", "path": "/spec/maxReplicas", "value": hi}]))
    host = env_hostname(m, env)
    if "httproute.yaml" in files:
        patches.append(_patch({"kind": "HTTPRoute", "name": m.name},
                              [{"op": "replace", "path": "/spec/hostnames", "value": [host]}]))
    if "ingress.yaml" in files:
        patches.append(_patch({"kind": "Ingress", "name": m.name},
                              [{"op": "replace", "path": "/spec/tls/0/hosts", "value": [host]},
                               {"op": "replace", "path": "/spec/rules/0/host", "value": host}]))
    return patches


def env_only_labels(m: ServiceModel, env: Environment) -> dict[str, str]:
    return {k: v for k, v in env.labels.items() if m.labels.get(k) != v}


def overlay_kustomization(m: ServiceModel, env: Environment) -> Obj:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": ["../../base"],
        "labels": [{"pairs": env_only_labels(m, env), "includeSelectors": False, "includeTemplates": True}],
        # CD replaces the placeholder with `kustomize edit set image <image>@sha256:...`.
        "images": [{"name": m.image, "digest": PLACEHOLDER_DIGEST}],
        "patches": overlay_patches(m, env) + _observability_patches(m, env),
    }


def _observability_patches(m: ServiceModel, env: Environment) -> list[Obj]:
    """Patch files in the overlay: the environment's PrometheusRule and dashboards (prometheus.py, dashboards.py)."""
    from . import verify

    return [prometheus.overlay_patch(m, env), *dashboards.overlay_patches(m, env), *verify.overlay_patches(m, env)]


def env_by_name(m: ServiceModel, name: str) -> Environment:
    for env in m.environments:
        if env.name == name:
            return env
    raise KeyError(name)


def dumps(objs: list[Obj]) -> str:
    """Several objects as one multi-document YAML text."""
    return "---\n".join(yamlio.dump(o) for o in objs)

