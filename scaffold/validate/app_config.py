"""The configuration the manifests give the app is configuration the app reads.

Every key of the base ConfigMap (the container's ``envFrom``) and every ``env``
name of the workload's containers must be read by the app's own source, in that
stack's idiom (``os.environ.get("PORT")``, ``process.env.PORT``,
``os.Getenv("PORT")``, ``Environment.GetEnvironmentVariable("PORT")``). A key
nothing reads is configuration that silently does nothing (issue 22: the
ConfigMap set APP_PORT and LOG_FORMAT; the skeletons read PORT). The app's own
tests start the python and node skeletons from the ConfigMap's values.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..model import stacks
from ..model.package import Package
from . import Finding, checker
from .app import SKIP_DIRS

SOURCES = {"python": (".py",), "node": (".js", ".mjs", ".cjs", ".ts"), "go": (".go",), "dotnet": (".cs",)}
# How each stack reads one variable; {key} is the variable's name, regex-escaped.
READS = {
    "python": (r"""(?:environ\.get|getenv|environ\.setdefault)\(\s*["']{key}["']""", r"""environ\[\s*["']{key}["']\s*\]"""),
    "node": (r"""\benv\.{key}\b""", r"""\benv\[\s*["'`]{key}["'`]\s*\]"""),
    "go": (r"""(?:Getenv|LookupEnv|envOr|getenv)\(\s*"{key}\"""",),
    "dotnet": (r"""GetEnvironmentVariable\(\s*"{key}\"""", r"""Configuration\[\s*"{key}"\s*\]"""),
}
WORKLOADS = ("Deployment", "CronJob", "Rollout", "StatefulSet", "DaemonSet", "Job")


def reads(stack: str, key: str, text: str) -> bool:
    return any(re.search(p.format(key=re.escape(key)), text) for p in READS[stack])


def configured_keys(pkg: Package) -> list[tuple[str, str]]:
    """(file, key) for every ConfigMap key the workload's envFrom names and every container env name."""
    docs = [(path, doc) for path, doc in pkg.yaml_documents("k8s/base/*.yaml") if isinstance(doc, dict)]
    containers = []
    for path, doc in docs:
        # the app's own workload (the collector gateway beside it is not the app)
        if doc.get("kind") in WORKLOADS and (doc.get("metadata") or {}).get("name") == pkg.model.name:
            spec = doc.get("spec") or {}
            pod = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template") or {}
            containers += [(path, c) for c in ((pod.get("spec") or {}).get("containers") or [])]
    maps = {((doc.get("metadata") or {}).get("name")): (path, doc) for path, doc in docs if doc.get("kind") == "ConfigMap"}
    out: list[tuple[str, str]] = []
    for path, c in containers:
        for src in c.get("envFrom") or []:
            name = (src.get("configMapRef") or {}).get("name")
            if name in maps:
                cm_path, cm = maps[name]
                out += [(pkg.rel(cm_path), str(k)) for k in (cm.get("data") or {})]
        out += [(pkg.rel(path), str(e.get("name"))) for e in c.get("env") or [] if e.get("name")]
    return sorted(set(out))


def app_text(pkg: Package, stack: str) -> str:
    parts = []
    for path in pkg.files(f"{stacks.APP_DIR}/**/*"):
        rel = path.relative_to(pkg.root).parts
        if path.suffix in SOURCES[stack] and not SKIP_DIRS & set(rel) and "test" not in Path(*rel).stem.lower():
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


@checker
class AppReadsItsConfig:
    name = "app-config"
    tool = "scaffold"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / stacks.APP_DIR).is_dir() and pkg.model.stack in READS

    def run(self, pkg: Package) -> list[Finding]:
        stack = pkg.model.stack
        text = app_text(pkg, stack)
        return [Finding(rel, f"{key} is set for the container, but nothing under {stacks.APP_DIR}/ reads it "
                             f"({stack}); read it in the app, or drop it from the manifest")
                for rel, key in configured_keys(pkg) if not reads(stack, key, text) and key not in sdk_reads(pkg)]


def sdk_reads(pkg: Package) -> set[str]:
    """Variables the skeleton's OpenTelemetry SDK reads itself (its spec's environment
    variables), for a stack whose skeleton traces with it."""
    from ..artifacts import tracing

    return set(stacks.OTEL_SDK_ENV) if tracing.traced(pkg.model) else set()
