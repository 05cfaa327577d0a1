"""Small builders every workflow uses: steps, jobs, documented permissions, the registry
login, the GitOps names, concurrency and the workflow header.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from ...model.service import Environment, ServiceModel
from .. import gitops
from .pins import RUNNER, uses


# -- small builders -----------------------------------------------------------
def sh(text: str) -> LiteralScalarString:
    """A ``run:`` block: strict bash, emitted as a literal block."""
    body = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    return LiteralScalarString(body + "\n")


def step(name: str, *, uses_: str | None = None, with_: dict | None = None, run: str | None = None,
         env: dict | None = None, if_: str | None = None, id_: str | None = None) -> CommentedMap:
    s = CommentedMap()
    s["name"] = name
    if id_:
        s["id"] = id_
    if if_:
        s["if"] = if_
    if uses_:
        action, _, version = uses(uses_).partition(" # ")
        s["uses"] = action
        s.yaml_add_eol_comment(version, "uses")
    if with_:
        s["with"] = dict(with_)
    if env:
        s["env"] = dict(env)
    if run is not None:
        s["run"] = sh(run)
    return s


def checkout(*, fetch_depth: int | None = None, ref: str | None = None) -> CommentedMap:
    w: dict[str, Any] = {"persist-credentials": False}
    if fetch_depth is not None:
        w["fetch-depth"] = fetch_depth
    if ref:
        w["ref"] = ref
    return step("Check out", uses_="actions/checkout", with_=w)


def upload_sarif(path: str, category: str) -> CommentedMap:
    """Runs even when the scan failed the job, so findings reach code scanning."""
    return step(f"Upload {category} SARIF", uses_="github/codeql-action/upload-sarif",
                if_="${{ !cancelled() && hashFiles('" + path + "') != '' }}",
                with_={"sarif_file": path, "category": category})


def soft(s: CommentedMap) -> CommentedMap:
    """A step whose failure does not fail its job."""
    s["continue-on-error"] = True
    return s


def job(name: str, permissions: dict[str, str], steps: list, **extra: Any) -> dict[str, Any]:
    j: dict[str, Any] = {"name": name}
    for key in ("if", "needs", "environment", "concurrency", "outputs"):
        if key in extra:
            j[key] = extra.pop(key)
    j["runs-on"] = RUNNER
    j["timeout-minutes"] = extra.pop("timeout", 30)
    j["permissions"] = documented(permissions)
    for key, value in extra.items():
        j[key.replace("_", "-")] = value
    j["steps"] = steps
    return j


# Why a job holds each permission; rendered as a comment on the grant.
PERMISSION_WHY = {
    ("contents", "read"): "check out the repository",
    ("contents", "write"): "commit the digest to the overlay, or revert it",
    ("packages", "read"): "pull the image to verify or scan it",
    ("packages", "write"): "push the image, its signature and attestations",
    ("id-token", "write"): "OIDC token for keyless cosign signing and attestations",
    ("attestations", "read"): "gh attestation verify",
    ("attestations", "write"): "store the SLSA build provenance",
    ("security-events", "write"): "upload SARIF to code scanning",
    ("actions", "read"): "read workflow runs (CodeQL) and environment protection rules (CD)",
    ("pull-requests", "write"): "open the update pull request",
}


def documented(permissions: dict[str, str]) -> CommentedMap:
    out = CommentedMap(permissions)
    for scope, level in permissions.items():
        out.yaml_add_eol_comment(PERMISSION_WHY[(scope, level)], scope)
    return out


# -- shared values ------------------------------------------------------------
def registry_host(m: ServiceModel) -> str:
    return m.image_registry.split("/", 1)[0]


def uses_ghcr(m: ServiceModel) -> bool:
    return registry_host(m) == "ghcr.io"


# Jobs that only pull or verify (scan, cd.yml's deploys) log in with a read-only pair,
# never the push credential (issue 16, defect 10). ghcr.io: the job token with packages: read.
PUSH_SECRETS = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD")
READ_SECRETS = ("REGISTRY_READ_USERNAME", "REGISTRY_READ_PASSWORD")
READ_ENVIRONMENT = "registry-read"


def registry_creds(m: ServiceModel, read_only: bool = False) -> dict[str, str]:
    if uses_ghcr(m):
        return {"username": "${{ github.actor }}", "password": "${{ github.token }}"}
    user, password = READ_SECRETS if read_only else PUSH_SECRETS
    return {"username": f"${{{{ secrets.{user} }}}}", "password": f"${{{{ secrets.{password} }}}}"}


def registry_login(m: ServiceModel, read_only: bool = False) -> CommentedMap:
    """ghcr.io takes the job token; other registries take secrets (the push pair in the
    `registry` environment, or the read-only pair for jobs that only pull)."""
    creds = registry_creds(m, read_only)
    return step("Log in to the registry", uses_="docker/login-action", with_={"registry": registry_host(m), **creds})


def gitops_app(m: ServiceModel, env: Environment) -> str:
    """The Argo CD Application / Flux Kustomization that syncs k8s/overlays/<env>."""
    return gitops.app_name(m, env)


def gitops_namespace(m: ServiceModel) -> str:
    return gitops.controller_namespace(m)


def verify_digest_script() -> str:
    return """
if [[ ! "$DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "::error::not an image digest: $DIGEST"; exit 1
fi
"""


# A new push to a PR cancels its older run; runs on the default branch get a group of
# their own (the commit), so a deploy in flight is never cancelled. A literal
# cancel-in-progress also keeps checkov's workflow schema from dropping the file.
PR_CANCELS_GROUP = "{name}-${{{{ github.event_name == 'pull_request' && github.ref || github.sha }}}}"


def concurrency(group: str, cancel: Any = False) -> dict[str, Any]:
    return {"group": group, "cancel-in-progress": cancel}


def header(name: str, on: dict, group: str, cancel: Any, jobs: dict) -> dict[str, Any]:
    return {"name": name, "on": on, "permissions": {}, "concurrency": concurrency(group, cancel), "jobs": jobs}



def _spread(m: ServiceModel, modulo: int) -> int:
    """A stable per-service offset, so a fleet's scheduled runs do not all start at once."""
    import zlib

    return zlib.crc32(m.name.encode()) % modulo
