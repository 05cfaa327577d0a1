"""Kubernetes layout policy: which objects a package's base holds."""

from __future__ import annotations

from scaffold.model import ServiceModel


def base_resources(m: ServiceModel) -> list[str]:
    """Files in k8s/base, in kustomization order. Each area adds its own entries here."""
    resources: list[str] = []
    return resources
