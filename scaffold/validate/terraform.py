"""Terraform checks without terraform: python-hcl2 parses every file, then the
structure `terraform validate` would catch (and some it would not) is checked.

- every .tf/.tfvars and generated tests/*.tftest.hcl parses;
- modules follow the standard structure (main/variables/outputs/versions.tf + README);
- every variable and output has a description; number variables carry validation;
- every declared variable is used, every ``var.x`` used is declared;
- every call of a local module passes its required inputs and no unknown ones;
- providers are pinned in required_providers and required_version is set;
- environment roots have a remote backend (S3 with use_lockfile) and tfvars
  that set every required root variable and nothing undeclared;
- module READMEs list exactly the module's inputs and outputs;
- no Terraform resource creates a Namespace, ResourceQuota or LimitRange: GitOps
  owns them (k8s/base/namespace.yaml), and two owners fight.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..artifacts import terraform as tfpolicy
from ..model.package import Package
from . import Finding, checker

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
ROOT_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars")
META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}
REMOTE_BACKENDS = {"s3", "gcs", "azurerm", "kubernetes", "remote", "http", "consul", "pg", "oss", "cos"}
_VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
_TABLE_ROW = re.compile(r"^\|\s*`?([A-Za-z_][A-Za-z0-9_-]*)`?\s*\|", re.M)
# In-cluster objects GitOps owns; a Terraform resource of these types is a second owner.
GITOPS_OWNED = {
    "kubernetes_namespace": "Namespace", "kubernetes_namespace_v1": "Namespace",
    "kubernetes_resource_quota": "ResourceQuota", "kubernetes_resource_quota_v1": "ResourceQuota",
    "kubernetes_limit_range": "LimitRange", "kubernetes_limit_range_v1": "LimitRange",
}


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes; strip them (keys and values)."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalize(data: Any) -> Any:
    if isinstance(data, dict):
        return {unquote(k): normalize(v) for k, v in data.items() if not str(k).startswith("__")}
    if isinstance(data, list):
        return [normalize(v) for v in data]
    return unquote(data)


def parse(path: Path) -> dict[str, Any]:
    import hcl2

    with path.open(encoding="utf-8") as fh:
        return normalize(hcl2.load(fh))


def blocks(doc: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Labelled blocks (variable "x" {...}) as (label, body)."""
    for entry in doc.get(kind, []):
        yield from entry.items()


def strings(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(data, list):
        for v in data:
            yield from strings(v)
    elif isinstance(data, str):
        yield data


@dataclass
class TfDir:
    """One Terraform module directory, parsed."""

    path: Path
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {n: b for d in self.docs.values() for n, b in blocks(d, "variable")}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {n: b for d in self.docs.values() for n, b in blocks(d, "output")}

    @property
    def module_calls(self) -> dict[str, dict[str, Any]]:
        return {n: b for d in self.docs.values() for n, b in blocks(d, "module")}

    def references(self) -> set[str]:
        """var.x used anywhere but inside the variable blocks themselves."""
        used: set[str] = set()
        for doc in self.docs.values():
            for kind, entries in doc.items():
                if kind == "variable":
                    continue
                for s in strings(entries):
                    used.update(_VAR_REF.findall(s))
        return used

    def terraform_blocks(self) -> list[dict[str, Any]]:
        return [t for d in self.docs.values() for t in d.get("terraform", [])]

    def resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(type, name, body) of every resource block."""
        for doc in self.docs.values():
            for entry in doc.get("resource", []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        yield str(rtype), str(name), body

    def providers_used(self) -> set[str]:
        used = set()
        for doc in self.docs.values():
            for kind in ("resource", "data"):
                for entry in doc.get(kind, []):
                    for rtype in entry:
                        used.add(str(rtype).split("_", 1)[0])
            for entry in doc.get("provider", []):
                used.update(entry)
        return used - {"terraform"}  # terraform_data is built in


def load_dir(path: Path, pkg: Package, findings: list[Finding]) -> TfDir:
    d = TfDir(path)
    for f in sorted(path.glob("*.tf")):
        try:
            d.docs[f.name] = parse(f)
        except Exception as exc:  # the parser raises lark errors of several types
            findings.append(Finding(pkg.rel(f), f"python-hcl2 cannot parse: {str(exc).splitlines()[0]}"))
    return d


def check_dir(d: TfDir, pkg: Package, kind: str) -> list[Finding]:
    out: list[Finding] = []
    rel = pkg.rel(d.path)
    for name in MODULE_FILES if kind == "module" else ROOT_FILES:
        if not (d.path / name).is_file():
            out.append(Finding(rel, f"missing {name} (standard module structure)"))
    variables = d.variables
    for name, body in variables.items():
        if not str(body.get("description", "")).strip():
            out.append(Finding(rel, f"variable {name} has no description"))
        if kind == "module" and body.get("type") == "number" and not body.get("validation"):
            out.append(Finding(rel, f"number variable {name} has no validation block"))
    for name, body in d.outputs.items():
        if not str(body.get("description", "")).strip():
            out.append(Finding(rel, f"output {name} has no description"))
    used = d.references()
    for name in sorted(set(variables) - used):
        out.append(Finding(rel, f"variable {name} is declared but never used"))
    for name in sorted(used - set(variables)):
        out.append(Finding(rel, f"var.{name} is used but not declared"))
    out += check_versions(d, pkg, kind)
    out += check_ownership(d, pkg)
    return out


def check_ownership(d: TfDir, pkg: Package) -> list[Finding]:
    """Namespace, ResourceQuota and LimitRange have one owner: GitOps."""
    out = []
    for rtype, name, body in d.resources():
        kind = GITOPS_OWNED.get(rtype)
        if rtype == "kubernetes_manifest":
            manifest = body.get("manifest")
            kind = manifest.get("kind") if isinstance(manifest, dict) else None
            kind = kind if kind in GITOPS_OWNED.values() else None
        if kind:
            out.append(Finding(pkg.rel(d.path), f"{rtype}.{name} creates a {kind}, which GitOps owns "
                                                f"(k8s/base/namespace.yaml); pass the namespace name instead"))
    return out


def check_versions(d: TfDir, pkg: Package, kind: str) -> list[Finding]:
    out: list[Finding] = []
    rel = pkg.rel(d.path / "versions.tf")
    tblocks = d.terraform_blocks()
    if not any(t.get("required_version") for t in tblocks):
        out.append(Finding(rel, "terraform.required_version is not set"))
    pinned: dict[str, Any] = {}
    for t in tblocks:
        for rp in t.get("required_providers", []):
            pinned.update(rp)
    for provider in sorted(d.providers_used()):
        spec = pinned.get(provider)
        if not isinstance(spec, dict) or not spec.get("version") or not spec.get("source"):
            out.append(Finding(rel, f"provider {provider} is not pinned (source and version in required_providers)"))
    if kind == "root":
        backends = [b for t in tblocks for b in t.get("backend", [])]
        if not backends:
            out.append(Finding(rel, "no backend block: state must be remote"))
        for backend in backends:
            for btype, attrs in backend.items():
                if btype not in REMOTE_BACKENDS:
                    out.append(Finding(rel, f"backend {btype} is not a remote backend"))
                if btype == "s3" and attrs.get("use_lockfile") is not True:
                    out.append(Finding(rel, "s3 backend must set use_lockfile = true (native state locking)"))
    return out


def check_calls(d: TfDir, modules: dict[Path, TfDir], pkg: Package) -> list[Finding]:
    out: list[Finding] = []
    rel = pkg.rel(d.path / "main.tf")
    for name, body in d.module_calls.items():
        source = str(body.get("source", ""))
        if not source.startswith(("./", "../")):
            continue
        target = (d.path / source).resolve()
        callee = modules.get(target)
        if callee is None:
            out.append(Finding(rel, f"module {name}: source {source} is not a module of this package"))
            continue
        declared = callee.variables
        required = {v for v, b in declared.items() if "default" not in b}
        given = set(body) - META_ARGS
        for missing in sorted(required - given):
            out.append(Finding(rel, f"module {name} does not pass required input {missing}"))
        for unknown in sorted(given - set(declared)):
            out.append(Finding(rel, f"module {name} passes {unknown}, which {source} does not declare"))
    return out


def check_tfvars(d: TfDir, pkg: Package) -> list[Finding]:
    path = d.path / "terraform.tfvars"
    if not path.is_file():
        return []
    try:
        values = parse(path)
    except Exception as exc:
        return [Finding(pkg.rel(path), f"python-hcl2 cannot parse: {str(exc).splitlines()[0]}")]
    variables = d.variables
    out = [Finding(pkg.rel(path), f"sets {k}, which is not a declared variable")
           for k in sorted(set(values) - set(variables))]
    required = {v for v, b in variables.items() if "default" not in b}
    out += [Finding(pkg.rel(path), f"does not set required variable {k}") for k in sorted(required - set(values))]
    return out


def check_readme(d: TfDir, pkg: Package) -> list[Finding]:
    path = d.path / "README.md"
    if not path.is_file():
        return []
    listed = set(_TABLE_ROW.findall(path.read_text(encoding="utf-8"))) - {"Name"}
    expected = set(d.variables) | set(d.outputs)
    out = [Finding(pkg.rel(path), f"inputs/outputs table lacks {n}") for n in sorted(expected - listed)]
    out += [Finding(pkg.rel(path), f"inputs/outputs table lists {n}, which the module does not declare")
            for n in sorted(listed - expected)]
    return out


def readme_tables(d: TfDir) -> str:
    """The inputs/outputs tables a module README carries (used to write them)."""
    lines = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|---|---|---|---|---|"]
    for name, b in d.variables.items():
        default = b.get("default")
        shown = "n/a" if "default" not in b else f"`{_show(default)}`"
        typ = re.sub(r"^\$\{(.*)\}$", r"\1", str(b.get("type", "any")))
        lines.append(f"| `{name}` | {b.get('description', '')} | `{typ}` | {shown} | "
                     f"{'no' if 'default' in b else 'yes'} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, b in d.outputs.items():
        lines.append(f"| `{name}` | {b.get('description', '')} |")
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def check_tree(pkg: Package) -> list[Finding]:
    root = pkg.root / "terraform"
    findings: list[Finding] = []
    for f in sorted(root.rglob("*.tfvars")) + sorted(root.rglob("tests/*.tftest.hcl")):
        try:
            parse(f)
        except Exception as exc:
            findings.append(Finding(pkg.rel(f), f"python-hcl2 cannot parse: {str(exc).splitlines()[0]}"))
    modules = {p.resolve(): load_dir(p, pkg, findings)
               for p in sorted((root / "modules").iterdir()) if p.is_dir()} if (root / "modules").is_dir() else {}
    roots = [load_dir(p, pkg, findings) for p in sorted((root / "environments").iterdir())
             if p.is_dir()] if (root / "environments").is_dir() else []
    if not modules and tfpolicy.modules(pkg.model):
        findings.append(Finding("terraform/modules", "no modules"))
    if len(roots) != len(pkg.model.environments):
        findings.append(Finding("terraform/environments",
                                f"expected one root module per environment ({len(pkg.model.environments)}), "
                                f"found {len(roots)}"))
    for d in modules.values():
        findings += check_dir(d, pkg, "module") + check_calls(d, modules, pkg) + check_readme(d, pkg)
    for d in roots:
        findings += check_dir(d, pkg, "root") + check_calls(d, modules, pkg) + check_tfvars(d, pkg)
    return findings


@checker
class TerraformStructure:
    name = "terraform"
    tool = "python-hcl2"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / "terraform").is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        return check_tree(pkg)
