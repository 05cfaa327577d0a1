"""cd.yml: promote one digest through the environments: verify its signature and
attestations, push the deploy branch, wait for GitOps, verify, roll back.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from ...model.service import Environment, ServiceModel
from .. import canary, gitops, k8s, verify
from .pins import (
    ATTESTATION_TYPES,
    BOT_EMAIL,
    BOT_NAME,
    DEFAULT_BRANCH,
    OIDC_ISSUER,
    PROVENANCE_IF,
)
from .steps import (
    checkout,
    concurrency,
    gitops_app,
    gitops_namespace,
    header,
    job,
    registry_login,
    step,
    uses_ghcr,
    verify_digest_script,
)


# -- cd.yml -------------------------------------------------------------------
def deploy_permissions(m: ServiceModel) -> dict[str, str]:
    """What a deploy job needs: push its deploy branch, pull and verify the image."""
    return {"contents": "write", "packages": "read", "attestations": "read"}


def cd_permissions(m: ServiceModel) -> dict[str, str]:
    """Every grant a job of cd.yml holds; ci.yml's caller job grants this union."""
    return {**deploy_permissions(m), "actions": "read"}


def _refresh_script(m: ServiceModel) -> str:
    """Ask the controller to look at the deploy branch now rather than at its next interval."""
    ns = gitops_namespace(m)
    if m.gitops == "argocd":
        return f'kubectl -n {ns} annotate application "$APP" argocd.argoproj.io/refresh=normal --overwrite\n'
    return (f'now=$(date +%s)\n'
            f'kubectl -n {ns} annotate gitrepository "$SOURCE" reconcile.fluxcd.io/requestedAt="$now" --overwrite\n'
            f'kubectl -n {ns} annotate kustomization "$APP" reconcile.fluxcd.io/requestedAt="$now" --overwrite\n')


def _template_image(m: ServiceModel) -> str:
    """The image of the workload's pod template: what the controller applied."""
    kind = "cronjob" if m.workload_kind == "CronJob" else "deployment"
    path = k8s.pod_spec_path(m).strip("/").replace("/", ".")
    return f"kubectl -n \"$NAMESPACE\" get {kind} \"$NAME\" -o jsonpath='{{.{path}.containers[0].image}}'"


def wait_env(m: ServiceModel) -> dict[str, str]:
    """The wait's budget, computed from the Rollout's own plan (scaffold.canary)."""
    out = {"POLL": str(canary.POLL_SECONDS), "SYNC_POLLS": str(canary.polls(canary.SYNC_SECONDS))}
    if m.canary:
        out["PLAN_POLLS"] = str(canary.polls(canary.plan_seconds(m)))
    else:
        out["ROLLOUT_TIMEOUT"] = f"{canary.ROLLING_SECONDS}s"
    out["HEALTH_TIMEOUT"] = f"{canary.HEALTH_SECONDS}s"
    return out


def job_timeout_minutes(m: ServiceModel) -> int:
    """The deploy job outlives its wait: verification and the push before, the rollback after."""
    smoke = verify.smoke_seconds() if verify.smoke_tested(m) else 0
    return -(-(canary.wait_seconds(m) + PRE_WAIT_SECONDS + smoke + ROLLBACK_SECONDS) // 60)


PRE_WAIT_SECONDS = 600  # verify signatures and attestations, check out, push the deploy branch
ROLLBACK_SECONDS = 300


def _wait_script(m: ServiceModel) -> str:
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


def _rollback_script(m: ServiceModel) -> str:
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



def cluster_credentials_script() -> str:
    return """
if [ -z "$KUBECONFIG_DATA" ]; then
  echo "::error::secret KUBECONFIG is empty for environment $ENVIRONMENT: nothing was pushed"; exit 1
fi
mkdir -p "$HOME/.kube"
printf '%s' "$KUBECONFIG_DATA" > "$HOME/.kube/config"
chmod 600 "$HOME/.kube/config"
"""


def deploy_job(m: ServiceModel, env: Environment) -> dict[str, Any]:
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


def post_deploy_steps(m: ServiceModel, env: Environment) -> list[CommentedMap]:
    """Post-deploy verification (scaffold.verify): the live URL's smoke test, after the
    rollout and before the job ends; its failure triggers the Roll back step below."""
    if not verify.smoke_tested(m):  # said in the log, so a green deploy does not look verified
        return [step("Post-deploy verification (no live URL to smoke-test)", env={"REASON": verify.skip_reason(m)},
                     run='echo "post-deploy smoke test skipped: $REASON"')]
    return [step("Smoke test the live URL (post-deploy verification)", env=verify.smoke_env(m, env),
                 run=verify.smoke_script())]


def deploy_job_id(env: Environment) -> str:
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


def cd(m: ServiceModel) -> dict[str, Any]:
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
def cd_secrets(m: ServiceModel) -> dict[str, str]:
    out = {"KUBECONFIG": "kubeconfig of the environment's cluster (set it per GitHub environment)"}
    if not uses_ghcr(m):
        out["REGISTRY_READ_USERNAME"] = "read-only registry user that can pull the image to verify it"
        out["REGISTRY_READ_PASSWORD"] = "read-only registry password or token (never the push credential)"
    return out
