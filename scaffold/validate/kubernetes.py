"""Kubernetes: strict schemas (kubernetes-validate) for the target and the newest
shipped minor, Pod Security ``restricted`` on every pod template, the base
kustomization's file list, and every ``kubectl kustomize`` overlay build.

Manifests are read with PyYAML (YAML 1.1), as the API server's decoder reads
them, so an unquoted ``on``/``yes`` shows up as the bool it would become.
CRD kinds are left to the crds checker.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..model.package import Package
from . import Finding, checker, pss

BASE = "k8s/base"
OVERLAYS = "k8s/overlays"
# API groups served by kube-apiserver itself: a missing schema there is a mistake, not a CRD.
BUILTIN_GROUP_SUFFIX = ".k8s.io"
CRD_GROUPS_UNDER_K8S_IO = ("gateway.networking.k8s.io", "snapshot.storage.k8s.io", "metrics.k8s.io")
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                            "CustomResourceDefinition", "StorageClass", "IngressClass",
                            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                            "ClusterSecretStore", "ClusterPolicy"})


def is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    if "." not in group:
        return True  # core (v1), apps, batch, autoscaling, policy
    return group.endswith(BUILTIN_GROUP_SUFFIX) and group not in CRD_GROUPS_UNDER_K8S_IO


def load_documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def describe(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "(not a mapping)"
    name = (obj.get("metadata") or {}).get("name", "?")
    return f"{obj.get('kind', '?')}/{name}"


@functools.cache
def _kubernetes_validate() -> Any:
    """kubernetes_validate, with its schema loader memoised: it re-reads the 1.5 MB
    _definitions.json on every call (5x the validation time). The loader is a pure
    function of (file, version) and its result is only read."""
    import kubernetes_validate
    from kubernetes_validate import utils

    if not hasattr(utils.schema_contents, "cache_info"):
        utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
    return kubernetes_validate


def validate_object(obj: Any, versions: Iterable[str]) -> list[str]:
    """Schema and PSS problems of one object; empty when fine or a CRD kind."""
    return [message for _, message in validate_object_at(obj, versions)]


def validate_object_at(obj: Any, versions: Iterable[str]) -> list[tuple[tuple, str]]:
    """Like :func:`validate_object`, each problem with the path (keys and indexes) it
    is about, so a caller holding the YAML nodes can give its line. One schema error
    that every version reports is one problem naming those versions."""
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    kubernetes_validate = _kubernetes_validate()

    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        return [((), f"{describe(obj)}: not a Kubernetes object (apiVersion and kind are required)")]
    by_error: dict[tuple, list[str]] = {}
    problems: list[tuple[tuple, str]] = []
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except ValidationError as err:
            by_error.setdefault((tuple(err.path), err.message), []).append(version)
        except SchemaNotFoundError:
            if is_builtin(obj["apiVersion"]):
                problems.append(((), f"{describe(obj)}: Kubernetes {version} has no {obj['kind']} "
                                     f"in {obj['apiVersion']}"))
    for (path, message), found_in in by_error.items():
        dotted = ".".join(str(p) for p in path) or "(root)"
        problems.append((path, f"{describe(obj)} invalid for Kubernetes {' and '.join(found_in)} "
                                 f"(strict): {dotted}: {message}"))
    problems += [((), f"{describe(obj)}: {v}") for v in pss.check_object(obj, "restricted")]
    return problems


def documents_with_nodes(text: str) -> list[tuple[Any, Any]]:
    """Each non-empty document with its PyYAML node (which knows its lines)."""
    loader = yaml.SafeLoader(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append((doc, node))
        return docs
    finally:
        loader.dispose()


def line_of(node: Any, path: Iterable[Any], message: str = "") -> int:
    """The 1-based line of ``path`` inside a document node (as deep as it exists);
    for an unexpected property named in ``message``, the line of that key."""
    line = node.start_mark.line + 1
    unexpected = re.search(r"\('([^']+)'(?:, '[^']+')* (?:was|were) unexpected\)", message)
    for key in [*path, *([unexpected.group(1)] if unexpected else [])]:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(key)]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def yaml_error_line(err: yaml.YAMLError) -> int | None:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def versions_for(pkg: Package) -> list[str]:
    m = pkg.model
    return sorted({m.k8s_version, m.newest_k8s_version}, key=lambda v: int(v.split(".")[1]))


@checker
class KubernetesBase:
    """Every object in k8s/base, and the base kustomization's resource list."""

    name = "kubernetes"
    tool = "kubernetes-validate"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / BASE).is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        base = pkg.root / BASE
        versions = versions_for(pkg)
        findings: list[Finding] = []
        for path in sorted(base.glob("*.y*ml")):
            rel = pkg.rel(path)
            try:
                docs = documents_with_nodes(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as err:
                findings.append(Finding(rel, f"YAML does not parse: {err}", yaml_error_line(err)))
                continue
            if path.name == "kustomization.yaml":
                findings += self._listing(pkg, base, [doc for doc, _ in docs])
                continue
            for doc, node in docs:
                findings += [Finding(rel, p, line_of(node, where, p)) for where, p in validate_object_at(doc, versions)]
        if not (base / "kustomization.yaml").is_file():
            findings.append(Finding(BASE, "kustomization.yaml is missing"))
        return findings

    def _listing(self, pkg: Package, base: Path, docs: list[Any]) -> list[Finding]:
        rel = f"{BASE}/kustomization.yaml"
        listed = list((docs[0] or {}).get("resources") or []) if docs else []
        present = sorted(p.name for p in base.glob("*.y*ml") if p.name != "kustomization.yaml")
        out = [Finding(f"{BASE}/{name}", "not listed in kustomization.yaml resources "
                       "(add it to scaffold.k8s.base_resources)") for name in present if name not in listed]
        out += [Finding(rel, f"lists {name}, which does not exist") for name in listed
                if not (base / name).exists()]
        if len(set(listed)) != len(listed):
            out.append(Finding(rel, "lists a resource twice"))
        return out


@checker
class KustomizeOverlays:
    """``kubectl kustomize`` of every overlay, then strict schemas, PSS and env invariants on the build."""

    name = "kustomize"
    tool = "kubectl"
    slow = False
    weight = 4  # the overlay builds the crds checker also reads

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / OVERLAYS).is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        m = pkg.model
        versions = versions_for(pkg)
        root = pkg.root / OVERLAYS
        findings: list[Finding] = []
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        wanted = [env.name for env in m.environments]
        for name in sorted(set(wanted) ^ set(present)):
            what = "has no overlay" if name in wanted else "is not one of the environments"
            findings.append(Finding(f"{OVERLAYS}/{name}", f"environment {name!r} {what}"))
        for env in m.environments:
            rel = f"{OVERLAYS}/{env.name}"
            if env.name not in present:
                continue
            res = pkg.overlay_build(root / env.name)
            if res.returncode != 0:
                findings.append(Finding(rel, f"kubectl kustomize failed: {res.output}"))
                continue
            try:
                docs = load_documents(res.stdout)
            except yaml.YAMLError as err:
                findings.append(Finding(rel, f"build output does not parse: {err}"))
                continue
            for doc in docs:
                findings += [Finding(rel, p) for p in validate_object(doc, versions)]
                findings += [Finding(rel, p) for p in env_invariants(doc, env, m.image)]
            findings += [Finding(rel, p) for p in hpa_fits_quota(docs)]
        return merge_repeats(findings)


def merge_repeats(findings: list[Finding]) -> list[Finding]:
    """One base typo breaks every overlay build the same way: report such a problem
    once, naming the overlays, instead of once per overlay."""
    envs: dict[str, list[str]] = {}
    for f in findings:
        if f.file.startswith(f"{OVERLAYS}/"):
            envs.setdefault(f.message, []).append(f.file.removeprefix(f"{OVERLAYS}/"))
    out, done = [], set()
    for f in findings:
        names = envs.get(f.message, [])
        if len(names) < 2 or not f.file.startswith(f"{OVERLAYS}/"):
            out.append(f)
        elif f.message not in done:
            done.add(f.message)
            out.append(Finding(OVERLAYS, f"{f.message} (in the {', '.join(names)} builds)"))
    return out


def hpa_fits_quota(docs: list[Any]) -> list[str]:
    """An HPA ceiling the namespace's ResourceQuota cannot hold never scales out."""
    quotas = [d for d in docs if isinstance(d, dict) and d.get("kind") == "ResourceQuota"]
    pods = [((q.get("spec") or {}).get("hard") or {}).get("pods") for q in quotas]
    limit = min((int(str(p)) for p in pods if str(p).isdigit()), default=None)
    out = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "HorizontalPodAutoscaler" and limit is not None:
            hi = (d.get("spec") or {}).get("maxReplicas", 0)
            if isinstance(hi, int) and hi > limit:
                out.append(f"{describe(d)}: maxReplicas {hi} exceeds the ResourceQuota's {limit} pods; raise both "
                           "(environment_replicas sizes the quota for you)")
    return out


def image_name(ref: str) -> str:
    """An image reference without its tag and digest."""
    name = ref.split("@")[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def env_invariants(obj: Any, env: Any, image: str) -> list[str]:
    """What an overlay promises: its own namespace, a digest-pinned image, production HA."""
    if not isinstance(obj, dict):
        return []
    out = []
    meta = obj.get("metadata") or {}
    kind = obj.get("kind")
    if kind == "Namespace":
        if meta.get("name") != env.namespace:
            out.append(f"{describe(obj)}: expected the namespace to be {env.namespace!r}")
    elif kind not in CLUSTER_SCOPED and meta.get("namespace") != env.namespace:
        out.append(f"{describe(obj)}: namespace {meta.get('namespace')!r}, expected {env.namespace!r}")
    for _, _, spec in pss.pod_templates(obj):
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            ref = str(c.get("image", ""))
            if image_name(ref) == image and "@sha256:" not in ref:
                out.append(f"{describe(obj)}: container {c.get('name')!r} image {ref!r} is not pinned by digest")
    if kind == "HorizontalPodAutoscaler":
        # Bounds other than the answers' are a team's per-environment override, not an
        # error (environment_replicas expresses it without an edit); what must hold is
        # that they make sense, production keeps two, and the quota lets the HPA reach
        # its ceiling (hpa_fits_quota).
        spec = obj.get("spec") or {}
        lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            out.append(f"{describe(obj)}: replicas {lo}..{hi}: need 1 <= minReplicas <= maxReplicas")
        elif env.production and lo < 2:
            out.append(f"{describe(obj)}: production minReplicas {lo} < 2")
    return out
