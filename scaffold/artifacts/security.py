"""Facts for the generated SECURITY.md: what is pinned, who can change what,
and how to rotate each credential. Derived from the same modules that build
the workflows, policies and GitOps objects, so the document cannot drift."""

from __future__ import annotations

from typing import Any

from ..model.service import ServiceModel


def pinned_actions(m: ServiceModel) -> list[tuple[str, str, str]]:
    """(action, version, sha) for every action the generated workflows use."""
    from . import workflows

    used: set[str] = set()
    for name in ("ci.yml", "cd.yml", "security.yml", "blueprint-update.yml"):
        text = workflows.render(m, name)
        for line in text.splitlines():
            if "uses:" in line and "@" in line and "./" not in line:
                used.add(line.split("uses:", 1)[1].strip().split("@", 1)[0])
    pins = workflows.pins()
    return [(a, pins[a]["version"], pins[a]["sha"]) for a in sorted(used, key=str.lower) if a in pins]


def tools(m: ServiceModel) -> list[tuple[str, str]]:
    from . import workflows

    return sorted(workflows.TOOLS.items())


def secrets(m: ServiceModel) -> list[dict[str, Any]]:
    """Every long-lived credential the package's workflows read, where it lives,
    and how to rotate it. Signing has none: cosign is keyless (GitHub OIDC)."""
    from . import workflows

    out = []
    if not workflows.uses_ghcr(m):
        out.append({"name": "REGISTRY_USERNAME / REGISTRY_PASSWORD", "where": "the `registry` environment",
                    "used_by": "ci.yml (publish and sign: push only)",
                    "rotate": "create a new push credential for the registry, replace both secrets, run CI once, "
                              "then revoke the old credential"})
        out.append({"name": "REGISTRY_READ_USERNAME / REGISTRY_READ_PASSWORD", "where": "the `registry-read` environment and each deployment environment",
                    "used_by": "ci.yml (scan) and cd.yml (deploy jobs verify the image): pull only",
                    "rotate": "create a new pull-only credential for the registry, replace both secrets, run CI "
                              "once, then revoke the old credential"})
    out.append({"name": "KUBECONFIG", "where": "each deployment environment (" +
                ", ".join(f"`{e.name}`" for e in m.environments) + ")",
                "used_by": "cd.yml (waits for GitOps sync and health; reads only)",
                "rotate": "issue a new short-lived kubeconfig for the user `" + m.name + "-cd-reader` (bound "
                          "only to k8s/base/rbac.yaml's and gitops/cd-reader.yaml's namespaced read-only Roles), "
                          "replace the secret, then revoke the old token or certificate"})
    out.append({"name": "BLUEPRINT_UPDATE_TOKEN", "where": "the `blueprint-update` environment",
                "used_by": "blueprint-update.yml (opens the template update pull request)",
                "rotate": "create a fine-grained token (this repository only: contents, pull-requests and "
                          "workflows write), replace the secret, then delete the old token"})
    out.append({"name": "BLUEPRINT_TEMPLATE_TOKEN", "where": "the `blueprint-update` environment (optional)",
                "used_by": "blueprint-update.yml (mirrors a private template repository; read only, never in "
                           "the environment of pip or copier)",
                "rotate": "create a fine-grained token with contents read on the template repository only, "
                          "replace the secret, then delete the old token"})
    return out


def namespaces(m: ServiceModel) -> list[str]:
    return [e.namespace for e in m.environments]
