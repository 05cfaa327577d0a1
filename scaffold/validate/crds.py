"""Checker "crds": every custom resource in the package against its upstream schema.

Objects come from k8s/base, every `kubectl kustomize k8s/overlays/<env>` build,
gitops/ and resilience/. Built-in kinds are the Kubernetes checker's; any other kind
without a schema source in :mod:`scaffold.crd_schemas` is a finding, so nothing
slips through. Kinds no package ships schemas for (Chaos Mesh) are named in the
checker's detail, never counted as validated, unless their CustomResourceDefinition
manifests are given (``--crd-dir``, or SCAFFOLD_CRD_DIRS): then every object of their
kinds is validated, strictly, against the served version's openAPIV3Schema.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker, crd_schemas, error_line

FILE_GLOBS = ("k8s/base/*.yaml", "k8s/base/*.yml", "gitops/**/*.yaml", "gitops/**/*.yml",
              "resilience/**/*.yaml", "resilience/**/*.yml")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    validated: Counter = field(default_factory=Counter)  # kind -> objects validated
    unvalidated: Counter = field(default_factory=Counter)  # kind -> objects with no schema package
    reasons: set[str] = field(default_factory=set)


def collect(pkg: Package) -> tuple[list[tuple[str, Any]], list[Finding]]:
    """(origin, document) for every YAML document in scope, plus build/parse failures."""
    docs: list[tuple[str, Any]] = []
    problems: list[Finding] = []
    seen: set = set()
    for pattern in FILE_GLOBS:
        for path in pkg.files(pattern):
            if path in seen:
                continue
            seen.add(path)
            try:
                docs += [(pkg.rel(path), d) for d in yamlio.load_all(path.read_text(encoding="utf-8"))]
            except Exception as exc:  # a parse error is a finding, not a crash
                problems.append(Finding(pkg.rel(path), f"YAML does not parse: {exc}", error_line(exc)))
    overlays = pkg.root / "k8s" / "overlays"
    env_dirs = sorted(p for p in overlays.glob("*") if (p / "kustomization.yaml").is_file())
    if env_dirs:
        tools.require("kubectl")
    with ThreadPoolExecutor(max_workers=4) as pool:  # builds are subprocesses: overlap them
        builds = list(pool.map(pkg.overlay_build, env_dirs))
    for env_dir, res in zip(env_dirs, builds):
        rel = pkg.rel(env_dir)
        if res.returncode != 0:
            problems.append(Finding(rel, f"kubectl kustomize failed, its CRDs are unchecked: {res.output}"))
            continue
        docs += [(f"{rel} (kubectl kustomize)", d) for d in yamlio.load_all(res.stdout)]
    return docs, problems


def check(pkg: Package, crd_dirs=()) -> Report:
    """``crd_dirs``: folders of CustomResourceDefinition manifests (--crd-dir); their kinds
    are validated against the served version's openAPIV3Schema, ahead of packaged sources."""
    given = crd_schemas.load_crd_dirs(crd_dirs) if crd_dirs else {}
    docs, problems = collect(pkg)
    report = Report(findings=problems)
    todo: list[tuple[str, dict]] = []
    from_crds: list[tuple[str, dict]] = []
    unique: set[str] = set()
    for origin, doc in docs:
        if not isinstance(doc, dict) or "apiVersion" not in doc:
            continue  # not a Kubernetes object (e.g. a plain config file)
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            report.findings.append(Finding(origin, f"object without a string apiVersion and kind: {api_version!r}/{kind!r}"))
            continue
        if crd_schemas.KUSTOMIZE_CONFIG.match(api_version):
            continue
        if (api_version, kind) in given:
            key = json.dumps(doc, sort_keys=True, default=str)
            if key not in unique:
                unique.add(key)
                from_crds.append((origin, doc))
            continue
        if crd_schemas.source_for(api_version, kind):
            # An object that overlays leave unchanged is checked once, under its first origin (base).
            key = json.dumps(doc, sort_keys=True, default=str)
            if key not in unique:
                unique.add(key)
                todo.append((origin, doc))
            continue
        reason = crd_schemas.unavailable_reason(api_version, kind)
        if reason:
            report.unvalidated[kind] += 1
            report.reasons.add(reason)
            continue
        if crd_schemas.is_builtin(api_version, kind):
            continue
        report.findings.append(Finding(origin, f"{kind} ({api_version}) {_name(doc)}: no upstream schema "
                                               "source for this kind: add one to scaffold/crd_schemas.py"))
    results = crd_schemas.validate([doc for _, doc in todo])
    results += crd_schemas.validate_with_crds([doc for _, doc in from_crds], given)
    # One finding per distinct error; the overlay builds that repeat it are named in it.
    where: dict[str, list[str]] = {}
    for i, ((origin, doc), errors) in enumerate(zip(todo + from_crds, results)):
        # Kinds from CRD manifests are counted with their group: Schedule is Velero's and Chaos Mesh's.
        counted = doc["kind"] if i < len(todo) else f"{doc['kind']} ({crd_schemas.group(doc['apiVersion'])})"
        report.validated[counted] += 1
        for err in errors:
            where.setdefault(f"{doc['kind']} {_name(doc)}: {err.path or '/'}: {err.message}", []).append(origin)
    for message, origins in where.items():
        also = f" (also in {', '.join(origins[1:])})" if len(origins) > 1 else ""
        report.findings.append(Finding(origins[0], message + also))
    return report


def _name(doc: dict) -> str:
    meta = doc.get("metadata")
    return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else "<unnamed>"


@checker
class CrdChecker:
    name = "crds"
    tool = "upstream CRD schemas (@kubernetes-models/*, cloudcoil-models-*)"
    slow = False
    weight = 8  # node and the pydantic models: started early in the pool

    def __init__(self) -> None:
        self.detail = ""
        self.crd_dirs: list = crd_schemas.crd_dirs_from_env()

    def configure(self, options: dict) -> None:
        if options.get("crd_dirs"):
            self.crd_dirs = list(options["crd_dirs"])

    def applies(self, pkg: Package) -> bool:
        return any(pkg.files(p) for p in FILE_GLOBS) or (pkg.root / "k8s" / "overlays").is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        try:
            report = check(pkg, self.crd_dirs)
        except crd_schemas.CrdDirError as exc:
            return [Finding("-", str(exc))]
        parts = [f"validated {sum(report.validated.values())} objects: "
                 + ", ".join(f"{k}×{n}" for k, n in sorted(report.validated.items()))]
        if self.crd_dirs:
            parts.append("CRD manifests from " + ", ".join(str(d) for d in self.crd_dirs))
        if report.unvalidated:
            kinds = ", ".join(f"{k}×{n}" for k, n in sorted(report.unvalidated.items()))
            parts.append(f"NOT validated: {kinds} ({'; '.join(sorted(report.reasons))})")
        self.detail = "; ".join(parts)
        return report.findings
