"""Kyverno ClusterPolicies that enforce what the blueprint promises, scoped to
this service's namespaces: Pod Security Standards (restricted), images by
digest, resources set, and the app.kubernetes.io labels.

Pod rules are written for ``Pod``; Kyverno auto-generates the Deployment,
CronJob, ... variants (``scaffold.policy_eval`` applies the same autogen).
"""

from __future__ import annotations

from typing import Any

from ..model.service import ServiceModel

Obj = dict[str, Any]

API_VERSION = "kyverno.io/v1"
LABELED_KINDS = ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Rollout")


def required_labels(m: ServiceModel) -> list[str]:
    """Every app.kubernetes.io label the blueprint sets on its objects."""
    return sorted(k for k in m.labels if k.startswith("app.kubernetes.io/"))


def _containers(pattern: Obj) -> Obj:
    """The same container pattern for containers and (when present) init/ephemeral containers."""
    return {"containers": [pattern], "=(initContainers)": [pattern], "=(ephemeralContainers)": [pattern]}


def _rule(m: ServiceModel, name: str, message: str, pattern: Obj, kinds: tuple[str, ...] = ("Pod",)) -> Obj:
    return {
        "name": name,
        "match": {"any": [{"resources": {"kinds": list(kinds),
                                         "namespaces": [e.namespace for e in m.environments]}}]},
        "validate": {"failureAction": "Enforce", "message": message, "pattern": pattern},
    }


def _policy(m: ServiceModel, suffix: str, title: str, description: str, rules: list[Obj]) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterPolicy",
        "metadata": {
            "name": f"{m.name}-{suffix}",
            "labels": {"app.kubernetes.io/name": m.name, "app.kubernetes.io/part-of": m.name,
                       "scaffold.dev/team": m.team},
            "annotations": {"policies.kyverno.io/title": title, "policies.kyverno.io/category": "scaffold",
                            "policies.kyverno.io/severity": "high", "policies.kyverno.io/description": description},
        },
        "spec": {"background": True, "admission": True, "rules": rules},
    }


def pss_restricted(m: ServiceModel) -> Obj:
    r = lambda *a: _rule(m, *a)  # noqa: E731
    return _policy(m, "pss-restricted", "Pod Security Standards: restricted",
                   "Pods run as non-root with no privilege, no host access, all capabilities dropped "
                   "and the RuntimeDefault seccomp profile.", [
        r("run-as-non-root", "Pods must set securityContext.runAsNonRoot: true and no container may unset it.",
          {"spec": {"securityContext": {"runAsNonRoot": True},
                    **_containers({"=(securityContext)": {"=(runAsNonRoot)": True, "=(runAsUser)": ">0"}})}}),
        r("seccomp-runtime-default", "Pods must use the RuntimeDefault or Localhost seccomp profile.",
          {"spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault | Localhost"}}}}),
        r("no-privilege", "Containers must set allowPrivilegeEscalation: false and must not be privileged.",
          {"spec": _containers({"securityContext": {"allowPrivilegeEscalation": False,
                                                    "=(privileged)": False}})}),
        r("drop-all-capabilities", "Containers must drop ALL capabilities.",
          {"spec": _containers({"securityContext": {"capabilities": {"drop": ["ALL"]}}})}),
        r("no-host-namespaces", "Pods must not share the host network, PID or IPC namespace.",
          {"spec": {"=(hostNetwork)": False, "=(hostPID)": False, "=(hostIPC)": False}}),
        r("no-host-path-or-ports", "Pods must not mount hostPath volumes or bind host ports.",
          {"spec": {"=(volumes)": [{"X(hostPath)": "null"}],
                    **_containers({"=(ports)": [{"=(hostPort)": 0}]})}}),
    ])


def signer_identity(m: ServiceModel) -> str:
    """The one workflow identity that signs this service's images: ci.yml on the
    default branch (what cd.yml's cosign verify also requires)."""
    from . import workflows

    return f"https://github.com/{m.github_repo}/.github/workflows/ci.yml@refs/heads/{workflows.DEFAULT_BRANCH}"


def _attestor(m: ServiceModel) -> Obj:
    from . import workflows

    return {"entries": [{"keyless": {"subject": signer_identity(m), "issuer": workflows.OIDC_ISSUER,
                                     "rekor": {"url": "https://rekor.sigstore.dev"}}}]}


def verify_images_rule(m: ServiceModel) -> Obj:
    """Admission checks the cosign signature and the passing-scan attestation
    (ci.yml signs and attests only a digest whose Trivy scan passed)."""
    from . import workflows

    return {
        "name": "verify-signature-and-scan",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": [e.namespace for e in m.environments]}}]},
        "verifyImages": [{
            "imageReferences": [f"{m.image_registry}/*"],
            "failureAction": "Enforce",
            "type": "Cosign",
            "mutateDigest": False,
            "verifyDigest": True,
            "required": True,
            "attestors": [_attestor(m)],
            "attestations": [{"type": workflows.VULN_PREDICATE_TYPE, "attestors": [_attestor(m)]}],
        }],
    }


def images_by_digest(m: ServiceModel) -> Obj:
    return _policy(m, "images-by-digest", "Images by digest, from the registry, signed by CI",
                   "Every container image is pinned by sha256 digest (CD promotes digests, never tags), comes "
                   f"from {m.image_registry}, and carries ci.yml's keyless signature and scan attestation.", [
        _rule(m, "image-digest", "Images must be referenced by digest (<image>@sha256:...).",
              {"spec": _containers({"image": "*@sha256:?*"})}),
        _rule(m, "image-registry", f"Images must come from {m.image_registry}/ (or be the pinned OpenTelemetry "
              "Collector image).", {"spec": _containers({"image": allowed_images(m)})}),
        verify_images_rule(m),
    ])


def allowed_images(m: ServiceModel) -> str:
    """The registry's images, and exactly the collector image scaffold.telemetry pins (by digest)."""
    from . import telemetry

    return f"{m.image_registry}/* | {telemetry.COLLECTOR_IMAGE}"


def resources_set(m: ServiceModel) -> Obj:
    return _policy(m, "resources-set", "Resources set",
                   "Every container requests CPU and memory and is limited in CPU and memory.", [
        _rule(m, "requests-and-limits", "Containers must set CPU and memory requests and limits.",
              {"spec": _containers({"resources": {"requests": {"cpu": "?*", "memory": "?*"},
                                                  "limits": {"cpu": "?*", "memory": "?*"}}})}),
    ])


def labels_required(m: ServiceModel) -> Obj:
    labels = {k: "?*" for k in required_labels(m)}
    return _policy(m, "required-labels", "Required labels",
                   "Workloads, their pods and their companions carry the app.kubernetes.io labels.", [
        _rule(m, "pod-labels", "Pods must carry the app.kubernetes.io labels: " + ", ".join(labels) + ".",
              {"metadata": {"labels": labels}}),
        _rule(m, "object-labels", "Objects must carry the app.kubernetes.io labels: " + ", ".join(labels) + ".",
              {"metadata": {"labels": labels}}, LABELED_KINDS),
    ])


def cluster_policies(m: ServiceModel) -> list[Obj]:
    return [pss_restricted(m), images_by_digest(m), resources_set(m), labels_required(m)]
