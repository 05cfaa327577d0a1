"""ci.yml: lint, test and build; the test stages before anything is pushed (policy:
scaffold.artifacts.teststages); Terraform checks; publish, sign and attest; then cd.yml.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from ...conventions import CONTAINER
from ...model import stacks
from ...model.service import ServiceModel
from .. import terraform, teststages
from .cd import cd_permissions, cd_secrets
from .gates import APP_DEFAULTS, stack
from .pins import (
    DEFAULT_BRANCH,
    ON_DEFAULT_BRANCH,
    PROVENANCE_IF,
    SARIF_SEVERITY,
    TERRAFORM_VERSION,
    VULN_ATTESTATION_TYPE,
    VULN_REPORT,
)
from .selfcheck import gate_on_validate, validate_job
from .steps import (
    PR_CANCELS_GROUP,
    READ_ENVIRONMENT,
    checkout,
    documented,
    header,
    job,
    registry_creds,
    registry_login,
    soft,
    step,
    upload_sarif,
    uses_ghcr,
    verify_digest_script,
)


# -- ci.yml -------------------------------------------------------------------
def ci(m: ServiceModel, source: str | None = None) -> dict[str, Any]:
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
def _test_stage_env(m: ServiceModel) -> dict[str, str]:
    env = {"IMAGE": f"{m.image}:test", "CONTAINER": CONTAINER, "NETWORK": teststages.NETWORK}
    if stacks.serves_http(m):
        env["PORT"] = str(m.port)
        if m.metrics_port != m.port:
            env["METRICS_PORT"] = str(m.metrics_port)
    return env


def _start_container_script(m: ServiceModel) -> str:
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
    return (f'python3 {teststages.INTEGRATION_SCRIPT} wait --url "http://127.0.0.1:$PORT/readyz" '
            '--tries "$READY_TRIES" --interval "$READY_INTERVAL" || { docker logs "$CONTAINER"; exit 1; }')


def _test_container_steps(m: ServiceModel) -> list[CommentedMap]:
    """Check out (the test scripts), load the tested image, start it, wait until ready."""
    env = _test_stage_env(m)
    steps = [checkout(),
             step("Fetch the image the test-image job built", uses_="actions/download-artifact",
                  with_={"name": teststages.IMAGE_ARTIFACT, "path": "${{ runner.temp }}"})]
    if stacks.serves_http(m):
        steps += [step("Start the container (not pushed)", env=env, run=_start_container_script(m)),
                  step("Wait until it is ready (bounded)", run=_wait_ready_script(),
                       env={**env, "READY_TRIES": str(teststages.READY_TRIES), "READY_INTERVAL": str(teststages.READY_INTERVAL_S)})]
    else:
        steps.append(step("Run the job container to completion (not pushed)", run=_start_container_script(m),
                          env={**env, "RUN_TIMEOUT": f"{teststages.JOB_RUN_TIMEOUT_S}s"}))
    return steps


def test_stage_jobs(m: ServiceModel) -> dict[str, Any]:
    """test-image, integration, and for a service dast and load: see scaffold.teststages."""
    env = _test_stage_env(m)
    image_tar = "${{ runner.temp }}/" + teststages.IMAGE_TAR
    jobs: dict[str, Any] = {"test-image": job(
        "Build the image for the test stages (no push)", {"contents": "read"},
        [checkout(),
         step("Set up Buildx", uses_="docker/setup-buildx-action"),
         step("Build (a docker tarball, nothing pushed)", uses_="docker/build-push-action",
              with_={"context": ".", "file": "Dockerfile", "push": False, "provenance": False,
                     "tags": env["IMAGE"], "outputs": f"type=docker,dest={image_tar}", "cache-from": "type=gha"}),
         step("Keep it for the test jobs", uses_="actions/upload-artifact",
              with_={"name": teststages.IMAGE_ARTIFACT, "path": image_tar, "retention-days": 1,
                     "if-no-files-found": "error"})],
        needs=["checks"])}

    script = f"python3 {teststages.INTEGRATION_SCRIPT}"
    steps = _test_container_steps(m)
    if stacks.serves_http(m):
        if m.has_http:
            http = (f'{script} http --blueprint service --base-url "http://127.0.0.1:$PORT" '
                    f'--metrics-url "http://127.0.0.1:$METRICS_PORT" --route "$ROUTE"')
        else:
            http = f'{script} http --blueprint {m.blueprint} --base-url "http://127.0.0.1:$PORT"'
        steps += [
            step("Integration and end-to-end checks", env={**env, "ROUTE": stacks.SAMPLE_ROUTE}, run=http),
            step("Stops cleanly on SIGTERM", env={**env, "STOP_GRACE": str(teststages.STOP_GRACE_S)}, run="""
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
    if not teststages.has_http_route(m):
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
            "NETWORK": teststages.NETWORK, "ZAP_IMAGE": teststages.ZAP_IMAGE, "RULES": teststages.DAST_RULES,
            "TARGET": f"http://{CONTAINER}:{m.port}{stacks.SAMPLE_ROUTE}",
            "ZAP_MINUTES": str(teststages.ZAP_MINUTES), "ZAP_TIMEOUT": str(teststages.ZAP_TIMEOUT_MINUTES)}),
        step("Keep the ZAP report", uses_="actions/upload-artifact",
             with_={"name": "zap-report", "path": "${{ runner.temp }}/zap/", "if-no-files-found": "error"}),
        step(f"Gate: fail on {teststages.RISK_NAMES[teststages.DAST_FAIL_RISK].lower()}-risk alerts",
             env={"FAIL_RISK": str(teststages.DAST_FAIL_RISK), "RULES": teststages.DAST_RULES},
             run=f'python3 {teststages.DAST_GATE} "$RUNNER_TEMP/zap/zap-report.json" --rules "$RULES" '
                 '--fail-risk "$FAIL_RISK"'),
    ], needs=["test-image"])
    jobs["load"] = job(f"Load test against the SLO ({teststages.latency_threshold(m)} ms, {teststages.error_threshold(m)})",
                       {"contents": "read"}, [
        *_test_container_steps(m),
        step("Load test: the SLO's latency and error budget are the thresholds",
             env={"PORT": str(m.port), "CONFIG": teststages.LOAD_CONFIG},
             run=f'python3 {teststages.LOAD_SCRIPT} --base-url "http://127.0.0.1:$PORT" --config "$CONFIG"'),
    ], needs=["test-image"])
    return jobs


def with_test_stages(m: ServiceModel, jobs: dict[str, Any]) -> dict[str, Any]:
    """ci.yml's jobs with the test stages inserted before ``publish``, which needs them all:
    nothing is pushed, signed or promoted unless they pass. ``test-image`` replaces the
    PR-only ``image`` build (one build per run, on pull requests and pushes alike)."""
    if not teststages.applies(m):
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


def terraform_dirs(m: ServiceModel) -> list[str]:
    return ([f"terraform/modules/{name}" for name in terraform.modules(m)]
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


def terraform_job(m: ServiceModel) -> dict[str, Any]:
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
