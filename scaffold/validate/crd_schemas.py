"""Upstream schemas for every custom resource kind a package ships, and a batch validator.

No schema here is hand-written. Each (apiVersion, kind) maps to a maintained registry
package that ships the upstream API schema:

| kind | apiVersion | source | route |
|---|---|---|---|
| PrometheusRule, ServiceMonitor | monitoring.coreos.com/v1 | npm @kubernetes-models/prometheus-operator 6.0.0 | ajv validator compiled from the operator's Go API types |
| Rollout, AnalysisTemplate | argoproj.io/v1alpha1 | npm @kubernetes-models/argo-rollouts 2.0.0 | same |
| Application, AppProject | argoproj.io/v1alpha1 | npm @kubernetes-models/argo-cd 4.0.0 | same |
| GitRepository | source.toolkit.fluxcd.io/v1 | PyPI cloudcoil-models-fluxcd | pydantic models generated from the CRD |
| Kustomization | kustomize.toolkit.fluxcd.io/v1 | PyPI cloudcoil-models-fluxcd | same |
| ExternalSecret, SecretStore, ClusterSecretStore | external-secrets.io/v1 | npm @kubernetes-models/external-secrets 2.0.0 | same |
| HTTPRoute | gateway.networking.k8s.io/v1 | npm @kubernetes-models/gateway-api 2.0.0 | same |
| Schedule | velero.io/v1 | PyPI cloudcoil-models-velero | pydantic models generated from the CRD |
| ClusterPolicy | kyverno.io/v1 | npm @kubernetes-models/kyverno 2.0.0 | ajv validator (the same accept/reject as Kyverno's CRD models on every field of the generated policies: tests/test_crds.py) |
| PodChaos, NetworkChaos, Schedule | chaos-mesh.org/v1alpha1 | none: no PyPI/npm package ships Chaos Mesh CRDs | not validated, unless `--crd-dir` gives the CRD manifests |
| any kind | any | CustomResourceDefinition manifests in `--crd-dir` folders (SCAFFOLD_CRD_DIRS) | jsonschema over the served version's openAPIV3Schema, closed like the API server's strict field validation |

Flux comes from cloudcoil, not @kubernetes-models/flux-cd: that one is compiled from the Go
types and lacks the CRDs' kubebuilder patterns (an `interval: every minute` passed it).

Strictness matches `kubectl --validate=strict`: unknown fields are rejected except where
the upstream schema keeps them (maps, free-form/preserve-unknown objects), required
fields, enums, types and patterns are enforced. ajv's compiled validators alone accept
unknown keys, so tools/crd-validate.mjs flags keys the validator never reads; the
pydantic models are switched to ``extra="forbid"``, strict types, aliases only.
"""

from __future__ import annotations

import inspect
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from .. import tools

TOOLS_DIR = Path(__file__).resolve().parent.parent.parent / "tools"
NODE_SCRIPT = TOOLS_DIR / "crd-validate.mjs"


@dataclass(frozen=True)
class Source:
    engine: str  # "npm" (tools/crd-validate.mjs) or "pypi" (cloudcoil pydantic models)
    package: str
    ref: str  # npm: "<package>/_schemas/<Module>"; pypi: "<module>:<Class>"


def _npm(package: str, module: str) -> Source:
    return Source("npm", package, f"{package}/_schemas/{module}")


_PROM = "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1"
_ROLLOUTS = "ComGithubArgoprojArgoRolloutsPkgApisRolloutsV1alpha1"
_ARGOCD = "ComGithubArgoprojArgoCdV3PkgApisApplicationV1alpha1"
_ESO = "ComGithubExternalSecretsExternalSecretsApisExternalsecretsV1"

SOURCES: dict[tuple[str, str], Source] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): _npm("@kubernetes-models/prometheus-operator", f"{_PROM}PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _npm("@kubernetes-models/prometheus-operator", f"{_PROM}ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"): _npm("@kubernetes-models/prometheus-operator", f"{_PROM}PodMonitor"),
    ("monitoring.coreos.com/v1", "Probe"): _npm("@kubernetes-models/prometheus-operator", f"{_PROM}Probe"),
    ("argoproj.io/v1alpha1", "Rollout"): _npm("@kubernetes-models/argo-rollouts", f"{_ROLLOUTS}Rollout"),
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): _npm("@kubernetes-models/argo-rollouts", f"{_ROLLOUTS}AnalysisTemplate"),
    ("argoproj.io/v1alpha1", "Application"): _npm("@kubernetes-models/argo-cd", f"{_ARGOCD}Application"),
    ("argoproj.io/v1alpha1", "AppProject"): _npm("@kubernetes-models/argo-cd", f"{_ARGOCD}AppProject"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): Source("pypi", "cloudcoil-models-fluxcd", "cloudcoil.models.fluxcd.source.v1:GitRepository"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): Source("pypi", "cloudcoil-models-fluxcd", "cloudcoil.models.fluxcd.kustomize.v1:Kustomization"),
    ("external-secrets.io/v1", "ExternalSecret"): _npm("@kubernetes-models/external-secrets", f"{_ESO}ExternalSecret"),
    ("external-secrets.io/v1", "ClusterSecretStore"): _npm("@kubernetes-models/external-secrets", f"{_ESO}ClusterSecretStore"),
    ("external-secrets.io/v1", "SecretStore"): _npm("@kubernetes-models/external-secrets", f"{_ESO}SecretStore"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): _npm("@kubernetes-models/gateway-api", "IoK8sSigsGatewayApiApisV1HTTPRoute"),
    ("velero.io/v1", "Schedule"): Source("pypi", "cloudcoil-models-velero", "cloudcoil.models.velero.v1:Schedule"),
    ("kyverno.io/v1", "ClusterPolicy"): _npm("@kubernetes-models/kyverno", "ComGithubKyvernoKyvernoApiKyvernoV1ClusterPolicy"),
}

# Kinds we know and cannot validate: said out loud, never passed silently.
UNAVAILABLE: dict[str, str] = {
    "chaos-mesh.org": "no PyPI or npm package ships the Chaos Mesh CRD schemas (checked: chaos-mesh, "
                      "client-library-for-chaos-mesh, @kubernetes-models/*); not schema-validated: "
                      "pass their CRD manifests with --crd-dir",
}

# Build inputs for kustomize, not API objects.
KUSTOMIZE_CONFIG = re.compile(r"^kustomize\.config\.k8s\.io/")


@dataclass(frozen=True)
class SchemaError:
    path: str  # JSON pointer into the object, "" for the object itself
    message: str


def group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def source_for(api_version: str | None, kind: str | None) -> Source | None:
    return SOURCES.get((str(api_version), str(kind))) if api_version and kind else None


def unavailable_reason(api_version: str, kind: str) -> str | None:
    return UNAVAILABLE.get(group(api_version))


@cache
def _builtin_schema_dirs() -> tuple[Path, ...]:
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return tuple(sorted(p for p in root.glob("v*-local-strict") if p.is_dir()))


def is_builtin(api_version: str, kind: str) -> bool:
    """True if kubernetes-validate ships a schema for it (the Kubernetes checker's job)."""
    if (api_version, kind) in SOURCES:
        return False
    mangled = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    name = f"{kind.lower()}-{mangled}.json"
    return any((d / name).is_file() for d in _builtin_schema_dirs())


def validate(objects: list[dict[str, Any]]) -> list[list[SchemaError]]:
    """Validate objects (each with a known source) in one batch: one node process, one import each."""
    results: list[list[SchemaError]] = [[] for _ in objects]
    found = [source_for(o.get("apiVersion"), o.get("kind")) for o in objects]
    sources: list[Source] = []
    for obj, src in zip(objects, found):
        if src is None:
            raise KeyError(f"no schema source for {obj.get('apiVersion')} {obj.get('kind')}")
        sources.append(src)
    npm_idx = [i for i, src in enumerate(sources) if src.engine == "npm"]
    # node runs while the pydantic models import.
    with ThreadPoolExecutor(max_workers=1) as pool:
        node = pool.submit(_validate_npm, [objects[i] for i in npm_idx]) if npm_idx else None
        for i, src in enumerate(sources):
            if src.engine == "pypi":
                results[i] = _validate_pydantic(src, objects[i])
        if node is not None:
            for i, errs in zip(npm_idx, node.result()):
                results[i] = errs
    return results


# -- npm: compiled ajv validators, run in one node process -----------------
def _source(obj: dict[str, Any]) -> Source:
    """The source of an object :func:`validate` already found one for."""
    src = source_for(obj["apiVersion"], obj["kind"])
    if src is None:
        raise KeyError(f"no schema source for {obj['apiVersion']} {obj['kind']}")
    return src


def _validate_npm(objects: list[dict[str, Any]]) -> list[list[SchemaError]]:
    packages = {_source(o).package for o in objects}
    missing = sorted(p for p in packages if not (TOOLS_DIR / "node_modules" / p / "package.json").is_file())
    if missing:
        raise tools.ToolMissing(", ".join(missing), "npm install --prefix tools")
    payload = [{"schema": _source(o).ref, "object": o} for o in objects]
    res = tools.run("node", str(NODE_SCRIPT), stdin=json.dumps(payload, default=str), cwd=TOOLS_DIR)
    if res.returncode != 0:
        raise RuntimeError(f"{NODE_SCRIPT.name} failed: {res.output}")
    out = json.loads(res.stdout)
    return [[SchemaError(e["path"], e["message"]) for e in errs] for errs in out]


# -- PyPI: cloudcoil pydantic models, made strict ---------------------------
def _validate_pydantic(src: Source, obj: dict[str, Any]) -> list[SchemaError]:
    import pydantic

    model = _strict_model(src)
    try:
        model.model_validate(json.loads(json.dumps(obj, default=str)), strict=True)
    except pydantic.ValidationError as exc:
        return [SchemaError("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    return []


@cache
def _strict_model(src: Source):
    module_name, _, cls_name = src.ref.partition(":")
    try:
        module = _import_models(module_name)
    except ImportError as exc:
        raise tools.ToolMissing(src.package, "pip install 'scaffold-blueprints[validators]'") from exc
    _make_strict(module, import_module("cloudcoil.apimachinery"))
    return getattr(module, cls_name)


def _import_models(module_name: str):
    """One cloudcoil models module, without its packages' ``__init__``: those import every
    sibling version (cloudcoil.models.kyverno pulled v1, v2, v2beta1, reports...), 3 of the
    crds checker's 4 seconds then. The module only imports cloudcoil's own helpers, never a
    sibling, so it is loaded from its file under its own name (a later full import of the
    package finds it in sys.modules and reuses it)."""
    import importlib.util
    import sys

    if module_name in sys.modules:
        return sys.modules[module_name]
    head, _, rest = module_name.partition(".models.")
    if head != "cloudcoil" or not rest:
        return import_module(module_name)
    base = importlib.util.find_spec(f"{head}.models")  # a namespace package: no code runs
    if base is None or not base.submodule_search_locations:
        return import_module(module_name)
    for folder in base.submodule_search_locations:
        path = Path(folder, *rest.split(".")).with_suffix(".py")
        if path.is_file():
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:  # a .py file always has a source loader
                return import_module(module_name)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
            return module
    return import_module(module_name)


def _make_strict(*modules) -> None:
    """Reject unknown keys and snake_case names, like the API server with strict field validation.

    cloudcoil's models ignore extras and accept Python names too; they are rebuilt with
    ``extra="forbid"`` and aliases only. Twice, so nested schemas pick up their children's config.
    """
    import pydantic

    classes = [c for m in modules for c in vars(m).values()
               if inspect.isclass(c) and issubclass(c, pydantic.BaseModel) and c.__module__ == m.__name__]
    for c in classes:
        c.model_config.update(extra="forbid", populate_by_name=False, validate_by_name=False,  # type: ignore[call-arg]
                              validate_by_alias=True)  # (pydantic's ConfigDict stubs omit update's keywords)
    for _ in range(2):
        for c in classes:
            c.model_rebuild(force=True)



# -- CustomResourceDefinition manifests given by the user (--crd-dir) --------
CRD_DIRS_ENV = "SCAFFOLD_CRD_DIRS"  # os.pathsep-separated, like PATH
_CRD_SUFFIXES = (".yaml", ".yml", ".json")


class CrdDirError(ValueError):
    """A --crd-dir that does not exist or holds a broken manifest."""


def crd_dirs_from_env(environ: dict | None = None) -> list[Path]:
    import os

    raw = (environ if environ is not None else os.environ).get(CRD_DIRS_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p]


@dataclass(frozen=True)
class CrdSchema:
    api_version: str
    kind: str
    schema: dict  # openAPIV3Schema of the served version, made strict (JSON Schema draft 4)
    origin: str  # the manifest it came from


def load_crd_dirs(dirs) -> dict[tuple[str, str], CrdSchema]:
    """(apiVersion, kind) -> strict schema for every served version of every CRD
    manifest under ``dirs`` (recursively; other documents are ignored)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[tuple[str, str], CrdSchema] = {}
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise CrdDirError(f"--crd-dir {d}: not a directory")
        for path in sorted(p for p in d.rglob("*") if p.suffix in _CRD_SUFFIXES and p.is_file()):
            try:
                docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
            except yaml.YAMLError as exc:
                raise CrdDirError(f"--crd-dir {d}: {path.name} does not parse: {str(exc).splitlines()[0]}") from exc
            for doc in docs:
                for key, schema in _served_schemas(doc):
                    strict = strict_schema(schema)
                    strict.setdefault("properties", {})["metadata"] = object_meta_schema()
                    out.setdefault(key, CrdSchema(key[0], key[1], strict, str(path)))
    return out


@cache
def object_meta_schema() -> dict:
    """ObjectMeta as the API server checks it (CRD schemas only say `type: object`):
    kubernetes-validate's strict schema of the newest shipped minor, references left open."""
    path = _builtin_schema_dirs()[-1] / "objectmeta-meta-v1.json"
    raw = json.loads(path.read_text(encoding="utf-8"))

    def clean(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return {}
            return {k: clean(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return {"type": "object", "properties": clean(raw["properties"]), "additionalProperties": False}


def _served_schemas(doc: Any):
    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
        return
    if not str(doc.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
        return
    spec = doc.get("spec") or {}
    group_name, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    for version in spec.get("versions") or []:
        schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
        if version.get("served") and isinstance(schema, dict) and group_name and kind:
            yield (f"{group_name}/{version['name']}", kind), schema


def strict_schema(node: Any, *, junctor: bool = False) -> Any:
    """A structural CRD schema as the API server applies it with strict field validation:
    unknown fields are errors except under x-kubernetes-preserve-unknown-fields or a map
    (additionalProperties); nullable admits null; int-or-string admits both."""
    if isinstance(node, list):
        return [strict_schema(n, junctor=junctor) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: strict_schema(v, junctor=junctor) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = strict_schema(value, junctor=junctor) if not isinstance(value, bool) else value
        elif key in ("allOf", "anyOf", "oneOf", "not"):
            # Structural schemas only restate outer fields under junctors: closing them would
            # reject the object's other fields.
            out[key] = strict_schema(value, junctor=True)
        elif key.startswith("x-kubernetes-") or key in ("description", "example", "externalDocs", "nullable"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props["metadata"] = object_meta_schema()
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    closable = (node.get("type") == "object" or "properties" in out) and not junctor
    if closable and not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def validate_with_crds(objects: list[dict[str, Any]], schemas: dict[tuple[str, str], CrdSchema]
                       ) -> list[list[SchemaError]]:
    """Validate each object against the strict schema of its (apiVersion, kind)."""
    import jsonschema

    validators: dict[tuple[str, str], Any] = {}
    results = []
    for obj in objects:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if key not in validators:
            validators[key] = jsonschema.Draft4Validator(schemas[key].schema)
        plain = json.loads(json.dumps(obj, default=str))
        errors = []
        for err in sorted(validators[key].iter_errors(plain), key=lambda e: list(map(str, e.absolute_path))):
            path = "".join(f"/{p}" for p in err.absolute_path)
            if err.validator == "additionalProperties" and err.validator_value is False:
                allowed = set(err.schema.get("properties") or {})
                for extra in sorted(k for k in err.instance if k not in allowed):
                    errors.append(SchemaError(f"{path}/{extra}", "unknown field (not in the CRD's schema)"))
                continue
            errors.append(SchemaError(path, err.message))
        results.append(errors)
    return results
