"""Overlays keep what the base says: a key in k8s/base is in every overlay build.

An overlay patch that replaces a whole map (``op: replace, path: /data``) silently
drops every key a team later adds to the base: the edit is in git, reviewed, and
never reaches the cluster. This checker builds the base and each overlay with
``kubectl kustomize`` and reports every base key (map entry, named list item,
object) missing from an overlay's build. Values may differ (that is what an
overlay is for); keys may not vanish. The only keys an overlay replaces by design
are listed by the generator (each dashboard's file name, per environment).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from ..artifacts import dashboards
from ..model.package import Package
from . import Finding, checker

BASE, OVERLAYS = "k8s/base", "k8s/overlays"
# List items are matched by their identity, the way strategic merge does (and rules by name).
IDENTITY_KEYS = ("name", "alert", "record", "type", "mountPath", "containerPort", "port")
# kustomize itself rewrites these (namespace, image digests): never a team's key.
IGNORED = {"/metadata/namespace"}


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _identity(items: list[Any]) -> str | None:
    for key in IDENTITY_KEYS:
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def dropped(base: Any, over: Any, path: str = "") -> Iterator[str]:
    """JSON-pointer-like paths of what ``base`` has and ``over`` lacks."""
    if isinstance(base, dict) and isinstance(over, dict):
        for key, value in base.items():
            sub = f"{path}/{_escape(key)}"
            if sub in IGNORED:
                continue
            if key not in over:
                yield sub
            else:
                yield from dropped(value, over[key], sub)
    elif isinstance(base, list) and isinstance(over, list):
        ident = _identity(base)
        if ident and _identity(over) == ident:
            theirs = {str(i[ident]): i for i in over}
            for item in base:
                sub = f"{path}[{ident}={item[ident]}]"
                if str(item[ident]) not in theirs:
                    yield sub
                else:
                    yield from dropped(item, theirs[str(item[ident])], sub)
        elif all(isinstance(i, dict) for i in base + over):
            if len(over) < len(base):
                yield f"{path}[{len(over)}:{len(base)}]"
            for i, (b, o) in enumerate(zip(base, over)):
                yield from dropped(b, o, f"{path}/{i}")
        # lists of scalars (hostnames, args) are values: an overlay may set its own


def _objects(text: str) -> dict[tuple[str, str], dict]:
    out = {}
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict):
            out[(str(doc.get("kind")), str((doc.get("metadata") or {}).get("name")))] = doc
    return out


def overlay_drops(base: dict[tuple[str, str], dict], over: dict[tuple[str, str], dict],
                  allowed: set[tuple[str, str, str]] | frozenset[tuple[str, str, str]] = frozenset()) -> list[str]:
    """One message per base key (or object) the overlay build lacks."""
    out = []
    for (kind, name), obj in base.items():
        theirs = over.get((kind, name))
        if theirs is None and kind == "Namespace":  # kustomize renames it to the overlay's namespace
            spaces = [o for (k, _), o in over.items() if k == "Namespace"]
            theirs = spaces[0] if len(spaces) == 1 else None
        if theirs is None:
            out.append(f"{kind}/{name}: the overlay build drops this base object")
            continue
        for path in dropped(obj, theirs):
            if path == "/metadata/name" and kind == "Namespace":
                continue
            if (kind, name, path) not in allowed:
                out.append(f"{kind}/{name}: drops {path} of the base (a patch replaces the whole map or list "
                           "holding it: set only the overlay's own keys, e.g. a strategic-merge patch)")
    return out


@checker
class OverlayKeepsBase:
    name = "overlay-keeps-base"
    tool = "kubectl"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / BASE / "kustomization.yaml").is_file() and (pkg.root / OVERLAYS).is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        res = pkg.overlay_build(pkg.root / BASE)
        if res.returncode != 0:
            return [Finding(BASE, f"kubectl kustomize failed: {res.output}")]
        base = _objects(res.stdout)
        envs = {env.name: env for env in pkg.model.environments}
        findings = []
        for overlay in sorted(p for p in (pkg.root / OVERLAYS).iterdir() if (p / "kustomization.yaml").is_file()):
            rel = f"{OVERLAYS}/{overlay.name}"
            built = pkg.overlay_build(overlay)
            if built.returncode != 0:
                continue  # the kustomize checker reports a build that fails
            env = envs.get(overlay.name)
            allowed = dashboards.env_renamed_keys(pkg.model, env) if env else set()
            findings += [Finding(rel, msg) for msg in overlay_drops(base, _objects(built.stdout), allowed)]
        return findings
