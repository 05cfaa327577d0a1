"""Wiring: the cross-references between a package's files, which no per-file
validator sees. Every finding names both ends of the broken reference.

- a secret or input a reusable workflow reads that its caller neither passes
  nor the workflow declares;
- a name a workflow script hands to kubectl that resolves to no generated object,
  and a deploy branch no GitOps object follows;
- a wait or job timeout shorter than the Rollout's own plan;
- an ExternalSecret key invalid for the cloud's secret manager;
- a ServiceAccount without the workload-identity binding Terraform expects;
- a registry CI pushes to that Terraform does not create (or the reverse);
- a manifest directory no GitOps path deploys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import yamlio
from ..model.package import Package
from . import Finding, checker

WF = ".github/workflows"
SECRET_REF = re.compile(r"\$\{\{[^}]*\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
INPUT_REF = re.compile(r"\$\{\{[^}]*\binputs\.([A-Za-z_][A-Za-z0-9_-]*)")
# kubectl calls on a named object: (verb, kind, variable)
KUBECTL = re.compile(
    r'kubectl\s+-n\s+("?\$?[A-Za-z0-9_-]+"?)\s+'
    r'(annotate|wait|get|patch|rollout status)\s+([a-z]+)(?:/|\s+)"\$([A-Z_]+)"')
SECRET_KEY_RULES = {
    # AWS Secrets Manager names: 1-512 of alphanumerics and /_+=.@-
    "aws": (re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$"), "AWS Secrets Manager: 1-512 of A-Za-z0-9/_+=.@-"),
    # Secret Manager secret IDs: letters, digits, - and _ only (no slashes)
    "gcp": (re.compile(r"^[A-Za-z0-9_-]{1,255}$"), "GCP Secret Manager: 1-255 of A-Za-z0-9_- (no '/')"),
    # Key Vault object names: alphanumerics and -, and a '/' would be read as the object type
    "azure": (re.compile(r"^[0-9A-Za-z-]{1,127}$"), "Azure Key Vault: 1-127 of 0-9A-Za-z- (no '/')"),
    "none": (re.compile(r"^[A-Za-z0-9/_.-]{1,512}$"), "Vault KV path"),
}
IDENTITY_ANNOTATION = {
    "aws": "eks.amazonaws.com/role-arn",
    "gcp": "iam.gke.io/gcp-service-account",
    "azure": "azure.workload.identity/client-id",
}
AZURE_POD_LABEL = "azure.workload.identity/use"
CLOUD_REGISTRY = {
    "aws": (re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$"), "ecr"),
    "gcp": (re.compile(r"^[a-z0-9-]+-docker\.pkg\.dev$"), "artifact-registry"),
    "azure": (re.compile(r"^[a-z0-9]+\.azurecr\.io$"), "acr"),
}


def _docs(path: Path) -> list[dict]:
    try:
        return [d for d in yamlio.load_all_file(path) if isinstance(d, dict)]
    except Exception:  # noqa: BLE001 - unparsable files are other checkers' findings
        return []


def _walk_strings(node: Any):
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk_strings(v)
    elif isinstance(node, str):
        yield node


def _workflow(pkg: Package, name: str) -> dict | None:
    path = pkg.root / WF / name
    return yamlio.load_file(path) if path.is_file() else None


# -- workflows: reusable-workflow secrets and inputs ---------------------------------
def reusable_calls(pkg: Package) -> list[Finding]:
    out = []
    for path in sorted((pkg.root / WF).glob("*.yml")):
        caller = yamlio.load_file(path) or {}
        for job_id, job in (caller.get("jobs") or {}).items():
            uses = job.get("uses") if isinstance(job, dict) else None
            if not isinstance(uses, str) or not uses.startswith("./"):
                continue
            callee_rel = uses[2:].split("@")[0]
            callee = yamlio.load_file(pkg.root / callee_rel) if (pkg.root / callee_rel).is_file() else None
            here = f"{WF}/{path.name} jobs.{job_id}"
            if callee is None:
                out.append(Finding(f"{WF}/{path.name}", f"{here} calls {callee_rel}, which does not exist"))
                continue
            on = callee.get("on") or callee.get(True) or {}
            call = (on.get("workflow_call") or {}) if isinstance(on, dict) else {}
            declared_secrets = set(call.get("secrets") or {})
            declared_inputs = call.get("inputs") or {}
            passed = job.get("secrets")
            passed_secrets = set(passed) if isinstance(passed, dict) else set()
            inherit = passed == "inherit"
            used_secrets = {s for text in _walk_strings(callee.get("jobs")) for s in SECRET_REF.findall(text)}
            for secret in sorted(used_secrets - {"GITHUB_TOKEN"}):
                if secret not in declared_secrets:
                    out.append(Finding(callee_rel, f"{callee_rel} reads secrets.{secret} but its on.workflow_call "
                                                   f"declares no such secret (caller: {here})"))
                elif not inherit and secret not in passed_secrets:
                    out.append(Finding(f"{WF}/{path.name}", f"{here} does not pass secret {secret}, which "
                                                            f"{callee_rel} reads"))
            for secret in sorted(passed_secrets - declared_secrets):
                out.append(Finding(f"{WF}/{path.name}", f"{here} passes secret {secret}, which {callee_rel}'s "
                                                        "on.workflow_call does not declare"))
            used_inputs = {i for text in _walk_strings(callee.get("jobs")) for i in INPUT_REF.findall(text)}
            for name in sorted(used_inputs - set(declared_inputs)):
                out.append(Finding(callee_rel, f"{callee_rel} reads inputs.{name}, not declared on workflow_call "
                                               f"(caller: {here})"))
            given = set(job.get("with") or {})
            for name, spec in sorted(declared_inputs.items()):
                if isinstance(spec, dict) and spec.get("required") and name not in given:
                    out.append(Finding(f"{WF}/{path.name}", f"{here} does not pass required input {name} of "
                                                            f"{callee_rel}"))
    return out


# -- the objects a package deploys -------------------------------------------------
def gitops_objects(pkg: Package) -> dict[tuple[str, str, str], tuple[str, dict]]:
    out = {}
    for path in sorted((pkg.root / "gitops").glob("*.yaml")):
        for doc in _docs(path):
            meta = doc.get("metadata") or {}
            if "name" in meta:
                out[(doc["kind"].lower(), meta.get("namespace", ""), meta["name"])] = (pkg.rel(path), doc)
    return out


def base_objects(pkg: Package) -> dict[tuple[str, str], tuple[str, dict]]:
    out = {}
    for path in sorted((pkg.root / "k8s" / "base").glob("*.yaml")):
        for doc in _docs(path):
            meta = doc.get("metadata") or {}
            if "kind" in doc and "name" in meta:
                out[(doc["kind"].lower(), meta["name"])] = (pkg.rel(path), doc)
    return out


def _deploy_jobs(cd: dict) -> list[tuple[str, dict]]:
    return [(jid, j) for jid, j in (cd.get("jobs") or {}).items()
            if isinstance(j, dict) and isinstance(j.get("environment"), dict)]


def script_names(pkg: Package) -> list[Finding]:
    cd = _workflow(pkg, "cd.yml")
    if not cd:
        return []
    out = []
    gitops = gitops_objects(pkg)
    base = base_objects(pkg)
    for job_id, job in _deploy_jobs(cd):
        for i, st in enumerate(job.get("steps") or []):
            run, env = st.get("run"), st.get("env") or {}
            if not isinstance(run, str):
                continue
            where = f"{WF}/cd.yml jobs.{job_id}.steps[{i}] ({st.get('name')})"
            for ns_tok, verb, kind, var in KUBECTL.findall(run):
                ns_tok = ns_tok.strip('"')
                ns = env.get(ns_tok[1:], "") if ns_tok.startswith("$") else ns_tok
                name = env.get(var)
                if name is None:
                    out.append(Finding(f"{WF}/cd.yml", f"{where}: kubectl {verb} {kind} \"${var}\": ${var} is not "
                                                       "set in the step's env"))
                    continue
                if (kind, ns, name) in gitops:
                    continue
                if (kind, name) in base and env.get("NAMESPACE") == ns:
                    continue
                out.append(Finding(f"{WF}/cd.yml", f"{where}: kubectl {verb} {kind}/{name} in namespace {ns}: no "
                                                   f"such object in gitops/ or k8s/base/"))
            branch = env.get("DEPLOY_BRANCH")
            app = env.get("APP")
            if branch and app:
                out += _branch_followed(pkg, gitops, where, app, branch, env.get("ENVIRONMENT", ""))
    return out


def _branch_followed(pkg, gitops, where, app, branch, environment) -> list[Finding]:
    for (kind, _, name), (rel, doc) in gitops.items():
        if name != app:
            continue
        spec = doc.get("spec") or {}
        if kind == "application":
            src = spec.get("source") or {}
            if src.get("targetRevision") != branch:
                return [Finding(rel, f"Application {app} follows {src.get('targetRevision')!r}; {where} pushes "
                                     f"{branch}")]
            if environment and src.get("path") != f"k8s/overlays/{environment}":
                return [Finding(rel, f"Application {app} syncs {src.get('path')!r}; {where} edits "
                                     f"k8s/overlays/{environment}")]
            return []
        if kind == "kustomization":
            ref = (spec.get("sourceRef") or {}).get("name")
            for (k2, _, n2), (rel2, d2) in gitops.items():
                if k2 == "gitrepository" and n2 == ref:
                    got = ((d2.get("spec") or {}).get("ref") or {}).get("branch")
                    if got != branch:
                        return [Finding(rel2, f"GitRepository {ref} (source of Kustomization {app}) follows "
                                              f"{got!r}; {where} pushes {branch}")]
                    return []
            return [Finding(rel, f"Kustomization {app} reads GitRepository {ref}, which gitops/ does not define")]
    return [Finding(f"{WF}/cd.yml", f"{where} deploys through {app}, which gitops/ does not define")]


# -- timeouts against the Rollout's plan ----------------------------------------------
def _seconds(text: Any) -> int:
    text = str(text)
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)


def rollout_plan_seconds(rollout: dict) -> int:
    """Pauses plus inline analysis durations of the Rollout's steps (pod start time excluded)."""
    from ..artifacts import canary

    total = 0
    steps = rollout["spec"]["strategy"]["canary"].get("steps") or []
    for st in steps:
        if "pause" in st:
            total += _seconds(st["pause"].get("duration", "0s"))
        elif "analysis" in st:
            total += canary.GATE_COUNT * _seconds(canary.INTERVAL)
    return total


def timeouts(pkg: Package) -> list[Finding]:
    cd = _workflow(pkg, "cd.yml")
    rollout_path = pkg.root / "k8s" / "base" / "rollout.yaml"
    if not cd or not rollout_path.is_file():
        return []
    rollout = _docs(rollout_path)[0]
    plan = rollout_plan_seconds(rollout)
    out = []
    for job_id, job in _deploy_jobs(cd):
        budget = 0
        for st in job.get("steps") or []:
            env = st.get("env") or {}
            if "PLAN_POLLS" in env:
                poll = int(env.get("POLL", 0))
                budget = int(env["PLAN_POLLS"]) * poll
                total = budget + int(env.get("SYNC_POLLS", 0)) * poll + _seconds(env.get("HEALTH_TIMEOUT", "0s"))
                if budget < plan:
                    out.append(Finding(f"{WF}/cd.yml", f"jobs.{job_id} waits {budget}s for the Rollout; "
                                                       f"k8s/base/rollout.yaml's steps take {plan}s"))
                if int(job.get("timeout-minutes", 360)) * 60 < total:
                    out.append(Finding(f"{WF}/cd.yml", f"jobs.{job_id} timeout-minutes "
                                                       f"{job.get('timeout-minutes')} is shorter than its wait "
                                                       f"({total}s) for k8s/base/rollout.yaml's plan"))
            run = st.get("run") if isinstance(st.get("run"), str) else ""
            for m in re.finditer(r"kubectl -n \S+ wait application/\S+ --for=jsonpath='\{\.status\.health\.status\}'"
                                 r"=Healthy --timeout=(\d+[smh])", run):
                if budget == 0 and _seconds(m.group(1)) < plan:
                    out.append(Finding(f"{WF}/cd.yml", f"jobs.{job_id} waits {m.group(1)} for Healthy; Argo CD "
                                                       f"reports the Rollout Suspended during its {plan}s plan "
                                                       "(k8s/base/rollout.yaml)"))
        if budget == 0 and not any("PLAN_POLLS" in (s.get("env") or {}) for s in job.get("steps") or []):
            if int(job.get("timeout-minutes", 360)) * 60 < plan:
                out.append(Finding(f"{WF}/cd.yml", f"jobs.{job_id} timeout-minutes {job.get('timeout-minutes')} "
                                                   f"< k8s/base/rollout.yaml's plan ({plan}s)"))
    return out


# -- secrets, identity, registry ----------------------------------------------------
def _overlay_patch_values(pkg: Package, env: str, kind: str, path: str) -> list[Any]:
    kust = pkg.root / "k8s" / "overlays" / env / "kustomization.yaml"
    if not kust.is_file():
        return []
    values = []
    for patch in (yamlio.load_file(kust) or {}).get("patches") or []:
        if (patch.get("target") or {}).get("kind") != kind:
            continue
        body = yamlio.load(patch.get("patch") or "[]") or []
        if isinstance(body, dict):  # a strategic-merge patch: the value at that path, if it sets one
            node: Any = body
            for part in path.strip("/").split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                values.append(node)
            continue
        for op in body:
            if isinstance(op, dict) and op.get("path") == path:
                values.append(op.get("value"))
    return values


def external_secret_keys(pkg: Package) -> list[Finding]:
    m = pkg.model
    rule, allowed = SECRET_KEY_RULES[m.cloud]
    out = []
    base = base_objects(pkg)
    for (kind, name), (rel, doc) in base.items():
        if kind != "externalsecret":
            continue
        keys = [("k8s/base", d.get("extract", {}).get("key")) for d in doc["spec"].get("dataFrom") or []]
        keys += [("k8s/base", d.get("remoteRef", {}).get("key")) for d in doc["spec"].get("data") or []]
        for env in m.environments if name == m.name else ():
            keys += [(f"k8s/overlays/{env.name}", v)
                     for v in _overlay_patch_values(pkg, env.name, "ExternalSecret", "/spec/dataFrom/0/extract/key")]
        for where, key in keys:
            if not isinstance(key, str) or not rule.match(key):
                out.append(Finding(rel, f"ExternalSecret {name} key {key!r} ({where}) is invalid for cloud "
                                        f"{m.cloud}'s store ({allowed})"))
        store = (doc["spec"].get("secretStoreRef") or {}).get("name")
        store_kind = (doc["spec"].get("secretStoreRef") or {}).get("kind", "SecretStore")
        generated = (store_kind.lower(), store) in base
        readme = pkg.root / "README.md"
        if store_kind == "SecretStore" and not generated:  # namespaced: only k8s/ can provide it
            out.append(Finding(rel, f"ExternalSecret {name} reads SecretStore {store}, which k8s/base does not "
                                    "generate"))
        elif not generated and not (readme.is_file() and isinstance(store, str) and store in readme.read_text()):
            out.append(Finding(rel, f"ExternalSecret {name} reads {store_kind} {store}, which neither k8s/ "
                                    "generates nor README.md documents"))
        if m.cloud != "none" and store_kind != "SecretStore":
            out.append(Finding(rel, f"ExternalSecret {name} reads {store_kind} {store}: with cloud {m.cloud} it "
                                    "must read its namespace's own SecretStore (a shared store leaves the key path "
                                    "as the only isolation between teams)"))
    out += _secret_store_identity(pkg, base)
    return out


def _store_service_accounts(spec: Any) -> list[Any]:
    """Every serviceAccountRef in a store's provider block (aws jwt, gcpsm workloadIdentity, azurekv)."""
    found: list[Any] = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == "serviceAccountRef":
                found.append((v or {}).get("name") if isinstance(v, dict) else v)
            else:
                found += _store_service_accounts(v)
    elif isinstance(spec, list):
        for v in spec:
            found += _store_service_accounts(v)
    return found


def _secret_store_identity(pkg: Package, base: dict[Any, Any]) -> list[Finding]:
    """A generated SecretStore authenticates as a ServiceAccount k8s/base generates, one that carries
    the cloud identity annotation, and never with a static credential."""
    m = pkg.model
    out = []
    for (kind, name), (rel, doc) in base.items():
        if kind != "secretstore":
            continue
        accounts = _store_service_accounts((doc.get("spec") or {}).get("provider"))
        if len(accounts) != 1:
            out.append(Finding(rel, f"SecretStore {name} must authenticate with exactly one serviceAccountRef "
                                    f"(its namespace's workload identity), found {len(accounts)}"))
            continue
        sa = base.get(("serviceaccount", accounts[0]))
        if sa is None:
            out.append(Finding(rel, f"SecretStore {name} authenticates as ServiceAccount {accounts[0]!r}, which "
                                    "k8s/base does not generate"))
        elif m.cloud != "none" and not ((sa[1].get("metadata") or {}).get("annotations")):
            out.append(Finding(rel, f"SecretStore {name} authenticates as ServiceAccount {accounts[0]}, which "
                                    "carries no workload identity annotation"))
    return out


def _tfvars(pkg: Package, env: str) -> dict[str, str]:
    path = pkg.root / "terraform" / "environments" / env / "terraform.tfvars"
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            mm = re.match(r'^\s*([a-z_]+)\s*=\s*"([^"]*)"', line)
            if mm:
                out[mm.group(1)] = mm.group(2)
    return out


def identity(pkg: Package) -> list[Finding]:
    m = pkg.model
    if m.cloud not in IDENTITY_ANNOTATION:
        return []
    key = IDENTITY_ANNOTATION[m.cloud]
    out = []
    base = base_objects(pkg)
    sa = base.get(("serviceaccount", m.name))
    if sa is None:
        return [Finding("k8s/base/serviceaccount.yaml", f"no ServiceAccount {m.name}")]
    rel, doc = sa
    escaped = "~1".join(key.split("/"))
    for env in m.environments:
        tf = _tfvars(pkg, env.name)
        ident = tf.get("identity_name")
        values = _overlay_patch_values(pkg, env.name, "ServiceAccount", f"/metadata/annotations/{escaped}")
        value = values[-1] if values else ((doc.get("metadata") or {}).get("annotations") or {}).get(key)
        tf_rel = f"terraform/environments/{env.name}/terraform.tfvars"
        if not value:
            out.append(Finding(rel, f"ServiceAccount {m.name} ({env.name}) has no {key} annotation; {tf_rel} "
                                    f"binds identity {ident!r} to it"))
        elif m.cloud != "azure" and ident and ident not in str(value):
            out.append(Finding(rel, f"ServiceAccount {m.name} ({env.name}) {key}={value!r} does not name "
                                    f"{tf_rel}'s identity_name {ident!r}"))
    if m.cloud == "azure":
        pods = [d for (k, _), (_, d) in base.items() if k in ("deployment", "cronjob")]
        for d in pods:
            tmpl = d["spec"].get("template") or d["spec"].get("jobTemplate", {}).get("spec", {}).get("template", {})
            if (tmpl.get("spec") or {}).get("serviceAccountName", m.name) != m.name:
                continue  # another ServiceAccount (the OTel Collector's): no cloud identity to inject
            if (tmpl.get("metadata") or {}).get("labels", {}).get(AZURE_POD_LABEL) != "true":
                out.append(Finding(rel, f"{d['kind']} {d['metadata']['name']}'s pods lack label {AZURE_POD_LABEL}="
                                        f"\"true\", so ServiceAccount {m.name}'s Azure identity is never injected"))
    return out


def registry(pkg: Package) -> list[Finding]:
    m = pkg.model
    host = m.image_registry.split("/", 1)[0]
    modules = pkg.root / "terraform" / "modules"
    if m.cloud not in CLOUD_REGISTRY:
        return []
    pattern, module = CLOUD_REGISTRY[m.cloud]
    created = _tfvars_bool(pkg, "create_registry")
    has_module = (modules / module).is_dir() and created
    if pattern.match(host) and not has_module:
        return [Finding("terraform/", f"CI pushes to {m.image_registry} (.github/workflows/ci.yml), a {module} "
                                      "registry that no terraform/ root creates")]
    if not pattern.match(host) and has_module:
        return [Finding(f"terraform/modules/{module}", f"terraform creates a {module} registry, but CI pushes to "
                                                       f"{m.image_registry} (.github/workflows/ci.yml)")]
    return []


def _tfvars_bool(pkg: Package, name: str) -> bool:
    for env in pkg.model.environments:
        path = pkg.root / "terraform" / "environments" / env.name / "terraform.tfvars"
        if path.is_file() and re.search(rf"^\s*{name}\s*=\s*true\b", path.read_text(), re.M):
            return True
    return False


# -- every manifest directory is deployed ---------------------------------------------
def gitops_paths(pkg: Package) -> list[Finding]:
    paths = set()
    for (kind, _, _), (_, doc) in gitops_objects(pkg).items():
        spec = doc.get("spec") or {}
        if kind == "application":
            paths.add(str((spec.get("source") or {}).get("path", "")).strip("./"))
        elif kind == "kustomization":
            paths.add(str(spec.get("path", "")).lstrip("./").rstrip("/"))
    out = []
    dirs = [f"k8s/overlays/{e.name}" for e in pkg.model.environments]
    if (pkg.root / "resilience").is_dir() and any((pkg.root / "resilience").glob("*.yaml")):
        dirs.append("resilience")
    for d in dirs:
        if d not in paths:
            out.append(Finding(d, f"{d} is deployed by no GitOps path (gitops/ syncs {', '.join(sorted(paths))})"))
    return out


CHECKS = (reusable_calls, script_names, timeouts, external_secret_keys, identity, registry, gitops_paths)


@checker
class Wiring:
    name = "wiring"
    tool = "scaffold"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / WF).is_dir() or (pkg.root / "k8s").is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        findings: list[Finding] = []
        for check in CHECKS:
            findings += check(pkg)
        return findings
