"""Backstage: catalog-info.yaml through @backstage/catalog-model's own validators, and the
TechDocs site it points at built by MkDocs in strict mode.

``backstage-catalog``: every entity of catalog-info.yaml is run through the policies and
kind validators the catalog backend applies on ingestion (tools/catalog-validate.mjs), and
the annotations scaffold relies on are checked: ``backstage.io/techdocs-ref`` names a
directory with an mkdocs.yml, and ``pagerduty.com/service-id`` is there when Alertmanager
pages through PagerDuty. (Whether a referenced System or Group exists is the catalog's to say:
the package creates neither, so ``spec.system`` is set only when the answers name one.)

``techdocs``: ``mkdocs build --strict`` of that directory: a nav entry naming a missing page,
or a page linking to a file outside the site, fails.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from .. import tools, yamlio
from ..model.package import Package
from . import Finding, checker, error_line
from .crd_schemas import TOOLS_DIR

CATALOG = "catalog-info.yaml"
NPM_PACKAGE = "@backstage/catalog-model"
NODE_SCRIPT = TOOLS_DIR / "catalog-validate.mjs"
TECHDOCS_REF = "backstage.io/techdocs-ref"
PAGERDUTY = ("pagerduty.com/service-id", "pagerduty.com/integration-key")


def validate_entities(entities: list[dict[str, Any]]) -> list[list[str]]:
    """@backstage/catalog-model's verdict per entity (an empty list: valid)."""
    if not (TOOLS_DIR / "node_modules" / NPM_PACKAGE / "package.json").is_file():
        raise tools.ToolMissing(NPM_PACKAGE, "npm install --prefix tools (`make setup`)")
    res = tools.run("node", str(NODE_SCRIPT), stdin=json.dumps(entities, default=str), cwd=TOOLS_DIR, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"{NODE_SCRIPT.name} failed: {res.output}")
    return json.loads(res.stdout)


def _pages_through_pagerduty(pkg: Package) -> bool:
    path = pkg.root / "observability/alertmanager/alertmanager.yaml"
    if not path.is_file():
        return False
    try:
        config = yamlio.load_file(path) or {}
    except Exception:  # the alertmanager checker reports a broken file
        return False
    return any(r.get("pagerduty_configs") for r in config.get("receivers") or [])


def _techdocs_dir(pkg: Package, ref: str) -> Path | None:
    hit = re.fullmatch(r"dir:(.+)", ref)
    if not hit:
        return None
    target = (pkg.root / hit.group(1)).resolve()
    return target if target.is_relative_to(pkg.root.resolve()) else None


def annotation_problems(pkg: Package, entity: dict[str, Any]) -> list[str]:
    ann = (entity.get("metadata") or {}).get("annotations") or {}
    problems: list[str] = []
    if entity.get("kind") != "Component":
        return problems
    ref = ann.get(TECHDOCS_REF)
    if not ref:
        problems.append(f"no {TECHDOCS_REF} annotation: TechDocs has nothing to build")
    else:
        where = _techdocs_dir(pkg, str(ref))
        if where is None:
            problems.append(f"{TECHDOCS_REF}: {ref!r} is not dir:<path inside the package>")
        elif not (where / "mkdocs.yml").is_file():
            problems.append(f"{TECHDOCS_REF}: {ref!r} has no mkdocs.yml")
    if _pages_through_pagerduty(pkg) and not any(ann.get(k) for k in PAGERDUTY):
        problems.append(f"Alertmanager pages through PagerDuty, but there is no {PAGERDUTY[0]} annotation")
    return problems


def load_entities(path: Path) -> list[dict[str, Any]]:
    return [d for d in yamlio.load_all(path.read_text(encoding="utf-8")) if d is not None]


@checker
class BackstageCatalog:
    name = "backstage-catalog"
    tool = "node"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / CATALOG).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        try:
            entities = load_entities(pkg.root / CATALOG)
        except Exception as exc:
            return [Finding(CATALOG, f"not YAML: {str(exc).splitlines()[0]}", error_line(exc))]
        if not entities or not all(isinstance(e, dict) for e in entities):
            return [Finding(CATALOG, "no entity (a mapping with apiVersion, kind, metadata, spec)")]
        findings = []
        for entity, errors in zip(entities, validate_entities(entities)):
            label = f"{entity.get('kind')} {(entity.get('metadata') or {}).get('name')!r}"
            findings += [Finding(CATALOG, f"{label}: {e}") for e in errors]
            findings += [Finding(CATALOG, f"{label}: {p}") for p in annotation_problems(pkg, entity)]
        return findings


@checker
class TechDocs:
    name = "techdocs"
    tool = "mkdocs"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / "mkdocs.yml").is_file()

    def run(self, pkg: Package) -> list[Finding]:
        with tempfile.TemporaryDirectory(prefix="scaffold-techdocs-") as site:
            res = tools.run("mkdocs", "build", "--strict", "--config-file", str(pkg.root / "mkdocs.yml"),
                            "--site-dir", site, cwd=pkg.root, timeout=300)
        if res.returncode == 0:
            return []
        lines = [ln.strip() for ln in res.output.splitlines() if ln.strip().startswith(("WARNING", "ERROR"))]
        lines = [re.sub(r"^(WARNING|ERROR)\s*-\s*", "", ln) for ln in lines if "Aborted with" not in ln]
        return [Finding("mkdocs.yml", ln) for ln in lines] or [Finding("mkdocs.yml", f"mkdocs build --strict: {res.output}")]
